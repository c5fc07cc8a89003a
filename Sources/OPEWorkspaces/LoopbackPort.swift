import Foundation

/// Free TCP ports on the loopback interface, for the servers OPE starts (JupyterLab, MariaDB).
public enum LoopbackPort {
    /// A port nothing listens on right now; the kernel picks it, so it is free at this moment.
    public static func free() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw WorkspaceError("cannot open a socket to find a free port") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw WorkspaceError("cannot find a free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
