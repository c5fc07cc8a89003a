import Foundation
import Testing

/// A bare TCP connection to a test server, to send what an HTTP client library never would:
/// half a request head, an unknown method, a body that stops.
final class RawConnection: @unchecked Sendable {
    private let descriptor: Int32
    private var received = Data()

    /// Connects to 127.0.0.1:`port`.
    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw RoomTestError("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else {
            Foundation.close(descriptor)
            throw RoomTestError("could not connect to 127.0.0.1:\(port)")
        }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
    }

    private var open = true

    deinit { close() }

    /// Closes this end.
    func close() {
        guard open else { return }
        open = false
        Foundation.close(descriptor)
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Foundation.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0, errno == EAGAIN { continue }
            guard count > 0 else { throw RoomTestError("send failed: errno \(errno)") }
            sent += count
        }
    }

    /// Everything the server sent until it closed the connection, or nil if it was still open
    /// after `timeout` (the bound only ends a wait for a close that is not coming).
    func readUntilClosed(timeout: Duration = .seconds(30)) async throws -> String? {
        try await poll(timeout: timeout) { closed in closed ? self.text : nil }
    }

    /// Waits until the server's answer contains `needle` (the connection may stay open).
    func waitFor(_ needle: String, timeout: Duration = .seconds(30)) async throws -> String {
        let found = try await poll(timeout: timeout) { closed -> String? in
            if self.text.contains(needle) { return self.text }
            if closed { throw RoomTestError("connection closed without '\(needle)'; got:\n\(self.text)") }
            return nil
        }
        guard let found else { throw RoomTestError("no '\(needle)' within \(timeout); got:\n\(text)") }
        return found
    }

    /// Reads what has arrived and asks `check` (told whether the server closed) until it answers,
    /// or `timeout` passes (nil): a wait for a condition, with a bound.
    private func poll<T>(timeout: Duration, _ check: (Bool) throws -> T?) async throws -> T? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let answer = try check(try readAvailable()) { return answer }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// Whether the server has closed the connection (reads what is waiting first).
    var isClosed: Bool {
        get throws { try readAvailable() }
    }

    var text: String { String(decoding: received, as: UTF8.self) }

    /// The answer's status code (from the first line).
    var status: Int? {
        text.split(separator: "\r\n").first.flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) }
    }

    /// The answer's body, after the head.
    var body: String {
        guard let range = text.range(of: "\r\n\r\n") else { return "" }
        return String(text[range.upperBound...])
    }

    /// Reads what has arrived; true when the peer has closed (or reset) the connection.
    private func readAvailable() throws -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received.append(contentsOf: buffer[..<count])
                continue
            }
            if count == 0 { return true }
            if errno == EAGAIN || errno == EWOULDBLOCK { return false }
            if errno == ECONNRESET { return true }
            throw RoomTestError("recv failed: errno \(errno)")
        }
    }
}
