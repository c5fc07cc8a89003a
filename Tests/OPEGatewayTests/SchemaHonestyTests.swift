import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Answers that say what `/api/openapi.json` says (issue 13, item 12); schemathesis checks the
/// whole API in `SchemathesisTests`, these pin what it tripped over.
@Suite struct SchemaHonestyTests {
    @Test func matchingRulesGiveTheirDurationsInSeconds() async throws {
        try await TestGateway.run { client, _ in
            let teacher = try await client.login("teacher")
            let rules = try await client.post("/api/modules/python-intro/matching", json: ["open": true], headers: teacher.writeHeaders).json()
            #expect(rules["mode"] as? String == "dynamic" && rules["open"] as? Bool == true, "\(rules)")
            // The module's defaults: 5 s, 5 min, 10 min (not Swift's [seconds, attoseconds] pairs).
            #expect(rules["settle"] as? Int == 5 && rules["giveUp"] as? Int == 300 && rules["lateJoin"] as? Int == 600, "\(rules)")
        }
    }

    @Test func aPlainGetOfTheRoomSocketIsToldToUpgrade() async throws {
        try await TestGateway.run { client, _ in
            let (alice, _, session) = try await client.pair()
            let plain = try await client.get("/api/sessions/\(session)/ws", headers: alice.headers)
            #expect(plain.status == .upgradeRequired, "\(plain.status) \(String(buffer: plain.body))")
            #expect(plain.headers[.upgrade] == "websocket")
            #expect(plain.errorMessage?.contains("WebSocket") == true)
            // Who may not join hears that first.
            #expect(try await client.get("/api/sessions/\(session)/ws").status == .unauthorized)
        }
    }

    @Test func anAPITokenAskingToSignOutIsRefusedNotCalledMalformed() async throws {
        try await TestGateway.run { client, _ in
            let browser = try await client.login("alice")
            let token = try #require(try await client.post("/api/tokens", json: ["name": "script"], headers: browser.writeHeaders).json()["token"] as? String)
            let signOut = try await client.post(
                "/api/auth/logout", json: ["everywhere": true], headers: [.authorization: "Bearer \(token)", .contentType: "application/json"])
            #expect(signOut.status == .forbidden, "\(signOut.status)")
            #expect(signOut.errorMessage?.contains("revoke the token") == true)
        }
    }
}
