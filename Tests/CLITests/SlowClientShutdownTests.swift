import Foundation
import OPECore
import OPETestSupport
import Testing

/// A server stops on SIGTERM however its clients behave (issue 13, item 2: one client that never
/// finished its request kept a stopped server running).
@Suite struct SlowClientShutdownTests {
    @Test func sigtermStopsTheServerWhileSlowClientsHoldConnections() async throws {
        let data = temporaryFolder("ope-serve")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let port = try LoopbackPort.free()
        // Timeouts far away: only the shutdown itself may end these connections.
        let server = try OPEProcess.start([
            "serve", "--port", "\(port)", "--data", data, "--workspaces", "none",
            "--header-timeout", "10m", "--read-timeout", "10m", "--shutdown-grace", "1s",
        ])
        try await server.waitFor("OPE is running at http://127.0.0.1:\(port)")
        // Half a request head, an upload that stops, and a kept-alive connection after its answer.
        let halfHead = try RawConnection(port: port)
        try halfHead.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        let stalled = try RawConnection(port: port)
        try stalled.send("POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"user")
        let keptAlive = try RawConnection(port: port)
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
