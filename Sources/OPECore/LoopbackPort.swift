import Foundation

/// Free TCP ports on the loopback interface, for the servers OPE starts (JupyterLab, MariaDB, a
/// workspace origin) and for the servers tests start as other processes.
public enum LoopbackPort {
    /// No port could be found (or no socket opened to look).
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// A port nothing uses right now (bound and released).
    ///
    /// Taken below the kernel's ephemeral range: a port the kernel hands out for "any free port"
    /// is also what it gives the next outgoing connection of any process, and a server told to
    /// listen there a moment later then finds it taken ("already in use", seen in CI).
    public static func free() throws -> Int {
        let range = ProcFile.text("/proc/sys/net/ipv4/ip_local_port_range")?.split(whereSeparator: \.isWhitespace).compactMap { Int($0) } ?? []
        let ephemeralStart = range.first ?? 32768
        let candidates = 10_000..<max(10_001, min(ephemeralStart, 65_536))
        for _ in 0..<200 {
            let port = Int.random(in: candidates)
            if try canBind(port) { return port }
        }
        throw Unavailable(description: "cannot find a free loopback port below \(ephemeralStart)")
    }

    /// Whether a listening socket could be bound to 127.0.0.1:`port` now.
    static func canBind(_ port: Int) throws -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Unavailable(description: "cannot open a socket to find a free port") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port)).bigEndian
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 }
        }
    }
}
