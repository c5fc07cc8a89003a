import Foundation
import Testing

/// A server stops on SIGTERM however its clients behave (issue 13, item 2: one client that never
/// finished its request kept a stopped server running).
@Suite struct SlowClientShutdownTests {
    @Test func sigtermStopsTheServerWhileSlowClientsHoldConnections() async throws {
        let data = temporaryFolder("ope-serve")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let port = try freePort()
        // Timeouts far away: only the shutdown itself may end these connections.
        let server = try OPEProcess.start([
            "serve", "--port", "\(port)", "--data", data, "--workspaces", "none",
            "--header-timeout", "10m", "--read-timeout", "10m", "--shutdown-grace", "1s",
        ])
        try await server.waitFor("OPE is running at http://127.0.0.1:\(port)")
        // Half a request head, an upload that stops, and a kept-alive connection after its answer.
        let halfHead = try TCPClient(port: port)
        try halfHead.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        let stalled = try TCPClient(port: port)
        try stalled.send("POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"user")
        let keptAlive = try TCPClient(port: port)
        try keptAlive.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        try await keptAlive.waitFor("\"ok\"")

        server.signal(SIGTERM)
        let status = try await server.waitForExit(timeout: .seconds(60))
        #expect(status == 0, "\(server.text)")
        #expect(server.text.contains("event log flushed and closed"), "\(server.text)")
        withExtendedLifetime([halfHead, stalled, keptAlive]) {}
    }

    @Test func connectionLimitsMustBeSensible() async throws {
        let data = temporaryFolder("ope-serve")
        defer { try? FileManager.default.removeItem(atPath: data) }
        for (arguments, message) in [
            (["--header-timeout", "0"], "--header-timeout: '0' is not a duration of at least 1s"),
            (["--read-timeout", "soon"], "--read-timeout: 'soon' is not a duration"),
            (["--max-connections-per-address=-1"], "--max-connections-per-address must be 0 (no limit) or more"),
        ] {
            let result = try await OPEProcess.run(["serve", "--port", "0", "--data", data, "--workspaces", "none"] + arguments)
            #expect(result.status != 0)
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
    }
}

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
