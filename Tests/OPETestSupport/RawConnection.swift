import Dispatch
import Foundation
import Synchronization

/// A bare TCP connection to a server under test, to send what an HTTP client library never
/// would: half a request head, an unknown method, a body that stops, a byte now and then.
///
/// Every wait here is for the socket: it returns as soon as the server sends something or
/// closes, and its timeout only ends a wait for what is not coming.
public final class RawConnection: @unchecked Sendable {
    private let descriptor: Int32
    private var received = Data()
    /// Whether this end still owns its descriptor; taken exactly once, by whoever closes it.
    private let open = Mutex(true)

    /// Connects to 127.0.0.1:`port`.
    public init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else {
            open.withLock { $0 = false }
            throw WaitFailure("socket() failed: errno \(errno)")
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else {
            // deinit runs for an initializer that throws once every property is set: close()
            // takes the descriptor once. (Closing it here and again in deinit closed whatever
            // another thread had opened under that number meanwhile: a NIO socket, EBADF, and
            // the test process crashed while tests polled for a server to answer.)
            close()
            throw WaitFailure("could not connect to 127.0.0.1:\(port)")
        }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
    }

    deinit { close() }

    /// Closes this end.
    public func close() { close(resetting: false) }

    /// Ends the connection with a TCP reset (a client whose machine or network went away), not a
    /// close the server could read to its end.
    public func reset() { close(resetting: true) }

    /// Closes the descriptor, once whoever calls first.
    private func close(resetting: Bool) {
        guard
            open.withLock({ state in
                defer { state = false }; return state
            })
        else { return }
        if resetting {
            var linger = Foundation.linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Foundation.linger>.size))
        }
        Foundation.close(descriptor)
    }

    public func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Foundation.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0, errno == EAGAIN { continue }
            guard count > 0 else { throw WaitFailure("send failed: errno \(errno)") }
            sent += count
        }
    }

    /// Everything the server sent until it closed the connection, or nil if it was still open
    /// after `timeout`.
    public func readUntilClosed(timeout: Duration = .seconds(30)) async throws -> String? {
        try await wait(timeout: timeout) { closed in closed ? self.text : nil }
    }

    /// Whether the server closes the connection within `timeout` (true at once if it has).
    public func closes(within timeout: Duration) async throws -> Bool {
        try await wait(timeout: timeout) { closed in closed ? true : nil } ?? false
    }

    /// Waits until the server's answer contains `needle` (the connection may stay open).
    @discardableResult
    public func waitFor(_ needle: String, timeout: Duration = .seconds(30)) async throws -> String {
        let found = try await wait(timeout: timeout) { closed -> String? in
            if self.text.contains(needle) { return self.text }
            if closed { throw WaitFailure("connection closed without '\(needle)'; got:\n\(self.text)") }
            return nil
        }
        guard let found else { throw WaitFailure("no '\(needle)' within \(timeout); got:\n\(text)") }
        return found
    }

    /// Whether the server has closed the connection (reads what is waiting first).
    public var isClosed: Bool {
        get throws { try readAvailable() }
    }

    public var text: String { String(decoding: received, as: UTF8.self) }

    /// The answer's status code (from the first line).
    public var status: Int? {
        text.split(separator: "\r\n").first.flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) }
    }

    /// The answer's body, after the head.
    public var body: String {
        guard let range = text.range(of: "\r\n\r\n") else { return "" }
        return String(text[range.upperBound...])
    }

    /// Reads what has arrived and asks `check` (told whether the server closed); until it answers,
    /// waits for the socket to have more, for at most what is left of `timeout` (then nil).
    /// `check` must answer once the server has closed, or this spins on the closed socket.
    private func wait<T>(timeout: Duration, _ check: (Bool) throws -> T?) async throws -> T? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let answer = try check(try readAvailable()) { return answer }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return nil }
            await readable(within: left)
        }
    }

    /// Returns when the socket has something to read (data or the peer's close), or after
    /// `timeout`. The blocking poll(2) runs on a Dispatch thread, not on the test's executor, so
    /// a server in the same process keeps its threads.
    private func readable(within timeout: Duration) async {
        let descriptor = self.descriptor
        let milliseconds = Int32(clamping: Int64(timeout.components.seconds) * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000 + 1)
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                _ = poll(&entry, 1, milliseconds)
                done.resume()
            }
        }
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
            throw WaitFailure("recv failed: errno \(errno)")
        }
    }
}
