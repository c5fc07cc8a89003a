import Foundation

/// A bare TCP connection to a server under test, for requests no HTTP library would send.
final class TCPClient: @unchecked Sendable {
    private let descriptor: Int32
    private var received = Data()

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard descriptor >= 0, connected else { throw ProcessFailure("could not connect to 127.0.0.1:\(port)") }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
    }

    deinit { close(descriptor) }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        let count = bytes.withUnsafeBytes { Foundation.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard count == bytes.count else { throw ProcessFailure("send failed: errno \(errno)") }
    }

    /// Waits (bounded) until the answer contains `needle`.
    func waitFor(_ needle: String, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !String(decoding: received, as: UTF8.self).contains(needle) {
            let closed = try readAvailable()
            guard !closed, ContinuousClock.now < deadline else { throw ProcessFailure("no '\(needle)'; got: \(String(decoding: received, as: UTF8.self))") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Whether the server has closed the connection.
    var isClosed: Bool {
        get throws { try readAvailable() }
    }

    private func readAvailable() throws -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received.append(contentsOf: buffer[..<count])
                continue
            }
            if count == 0 || errno == ECONNRESET { return true }
            if errno == EAGAIN || errno == EWOULDBLOCK { return false }
            throw ProcessFailure("recv failed: errno \(errno)")
        }
    }
}
