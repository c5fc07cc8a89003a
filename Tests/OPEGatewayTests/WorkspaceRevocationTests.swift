import Foundation
import HTTPTypes
import HummingbirdTesting
import OPECore
import OPEGateway
import OPEStore
import OPETestSupport
import Testing

extension WorkspaceTests {
    /// The proxy remembers callers for a few seconds; a revocation must not ride on that memory,
    /// and a proxied WebSocket opened with the revoked credential closes.
    @Test func aRevokedTokenOrEndedSignInIsRefusedByTheProxyAtOnceAndItsWebSocketCloses() async throws {
        try await TestGateway.runWithWorkspaces { client, store, gateway in
            let (alice, bob, session) = try await client.pair()
            try await waitForEvent(store, session: session, .workspaceStarted)
            let issued = try await client.post("/api/tokens", json: ["name": "proxy"], headers: alice.writeHeaders).json()
            let token = try #require(issued["token"] as? String)
            let id = try #require(issued["id"] as? String)
            let bearer: HTTPFields = [.authorization: "Bearer \(token)"]
            // Twice: the second answer comes from the access cache.
            #expect(try await client.get("/w/\(session)/api/contents", headers: bearer).status == .ok)
            #expect(try await client.get("/w/\(session)/api/contents", headers: bearer).status == .ok)
            let revoked = try await client.execute(uri: "/api/tokens/\(id)", method: .delete, headers: alice.writeHeaders)
            #expect(revoked.status == .noContent)
            #expect(try await client.get("/w/\(session)/api/contents", headers: bearer).status == .unauthorized)

            // Bob's JupyterLab event stream closes when he signs out everywhere in another window.
            #expect(try await client.get("/w/\(session)/api/contents", headers: bob.headers).status == .ok)
            let stream = RoomClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await stream.run(client, path: "/w/\(session)/api/events/subscribe", cookie: bob.cookie) }
                try await waitUntil("the proxied socket opened", timeout: .seconds(30)) { gateway.connections.count == 1 }
                let elsewhere = try await client.login("bob")
                #expect(try await client.post("/api/auth/logout", json: ["everywhere": true], headers: elsewhere.writeHeaders).status == .noContent)
                #expect(try await client.get("/w/\(session)/api/contents", headers: bob.headers).status == .unauthorized)
                try await waitUntil("the proxied socket closed", timeout: .seconds(5)) { await stream.inbox.closed }
                try await group.waitForAll()
            }
        }
    }
}
