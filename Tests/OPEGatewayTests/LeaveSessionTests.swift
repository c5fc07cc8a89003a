import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import OPECore
import OPEGateway
import OPERuntime
import OPEStore
import OPETestSupport
import Synchronization
import Testing

/// Leaving a session for good, joining another module from inside one, and the lobby's wait limit
/// through the API.
@Suite struct LeaveSessionTests {
    @Test func aMemberLeavesTheTeamIsToldAndTheLeaverMayJoinElsewhere() async throws {
        try await TestGateway.run { client, store in
            let (alice, bob, session) = try await client.pair()
            let bobsRoom = RoomClient()
            let alicesRoom = RoomClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await bobsRoom.run(client, path: "/api/sessions/\(session)/ws", cookie: bob.cookie) }
                group.addTask { try await alicesRoom.run(client, path: "/api/sessions/\(session)/ws", cookie: alice.cookie) }
                _ = try await bobsRoom.inbox.waitFor(type: "synced")
                _ = try await alicesRoom.inbox.waitFor(type: "synced")

                let left = try await client.post("/api/sessions/\(session)/leave", json: [:], headers: alice.writeHeaders)
                #expect(left.status == .ok, "\(left.status) \(String(buffer: left.body))")
                let body = try left.json()
                #expect(body["remaining"] as? [String] == ["bob"])
                #expect(body["phase"] as? String == "active")
                #expect((body["message"] as? String)?.contains("your team was told") == true)

                // bob's page hears it, and that he drives now (alice was driving).
                let news = try await bobsRoom.inbox.waitFor(type: "left")
                #expect(news["user"] as? String == "alice" && news["members"] as? [String] == ["bob"])
                let roles = try await bobsRoom.inbox.waitFor("the new roles") { $0["type"] as? String == "roles" && $0["reason"] as? String == "member_left" }
                #expect(roles["roles"] as? [String: String] == ["bob": "driver"])
                // alice's own room closes: she is no longer part of the team.
                try await waitUntil("alice's room to close", timeout: .seconds(30)) { await alicesRoom.inbox.closed }
                bobsRoom.close()
                try await group.waitForAll()
            }
            let recorded = try await store.reader.events(EventFilter(session: session, types: [.sessionMemberLeft]))
            #expect(recorded.map(\.actor) == ["alice"], "the research record has the departure")
            #expect(try await client.get("/api/lobby", headers: alice.headers).json()["status"] as? String == "idle")
            let refused = try await client.get("/api/sessions/\(session)", headers: alice.headers)
            #expect(refused.status == .forbidden, "a leaver cannot look back in")

            // The session goes on for bob; alice may join another module at once.
            let elsewhere = try await client.post("/api/lobby/join", json: ["module": "sql-joins"], headers: alice.writeHeaders).json()
            #expect(elsewhere["status"] as? String == "waiting")
            let again = try await client.post("/api/sessions/\(session)/leave", json: [:], headers: alice.writeHeaders)
            #expect(again.status == .forbidden && again.errorMessage == "you are not a member of session \(session), so you cannot leave it")
            let stranger = try await client.login("carol")
            #expect(try await client.post("/api/sessions/\(session)/leave", json: [:], headers: stranger.writeHeaders).status == .forbidden)
            let missing = try await client.post("/api/sessions/s-nothere/leave", json: [:], headers: stranger.writeHeaders)
            #expect(missing.status == .notFound && missing.errorMessage == "no session 's-nothere'")

            // The last one out ends it.
            let last = try await client.post("/api/sessions/\(session)/leave", json: [:], headers: bob.writeHeaders).json()
            #expect(last["phase"] as? String == "abandoned" && last["remaining"] as? [String] == [])
            let teacher = try await client.login("teacher")
            let detail = try await client.get("/api/sessions/\(session)", headers: teacher.headers).json()
            #expect(detail["phase"] as? String == "abandoned")
            #expect(try await client.get("/api/sessions", headers: teacher.headers).jsonArray().allSatisfy { $0["id"] as? String != session })
        }
    }

    @Test func joiningAnotherModuleFromASessionIsAChoiceNotASilentReturn() async throws {
        try await TestGateway.run { client, store in
            let (alice, _, session) = try await client.pair()
            let refused = try await client.post("/api/lobby/join", json: ["module": "sql-joins"], headers: alice.writeHeaders)
            #expect(refused.status == .conflict)
            let message = try #require(refused.errorMessage)
            #expect(message.contains("you are already in session \(session) (module 'python-intro')"), "\(message)")
            #expect(message.contains("\"leaveSession\": \"\(session)\""), "the message says how to choose: \(message)")
            let wrongID = try await client.post("/api/lobby/join", json: ["module": "sql-joins", "leaveSession": "s-other"], headers: alice.writeHeaders)
            #expect(wrongID.status == .conflict, "only the session one is in can be left this way")
            let unknown = try await client.post("/api/lobby/join", json: ["module": "nope", "leaveSession": session], headers: alice.writeHeaders)
            #expect(unknown.status == .notFound)
            #expect(
                try await client.get("/api/lobby", headers: alice.headers).json()["session"] as? String == session, "a refused join costs nobody their team")

            let room = RoomClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await room.run(client, path: "/api/sessions/\(session)/ws", cookie: alice.cookie) }
                _ = try await room.inbox.waitFor(type: "synced")
                let moved = try await client.post("/api/lobby/join", json: ["module": "sql-joins", "leaveSession": session], headers: alice.writeHeaders).json()
                #expect(moved["status"] as? String == "waiting" && moved["module"] as? String == "sql-joins")
                // Her open session page is told, and its room closes for her.
                _ = try await room.inbox.waitFor("the news of her leaving") { $0["type"] as? String == "left" && $0["user"] as? String == "alice" }
                try await waitUntil("alice's room to close", timeout: .seconds(30)) { await room.inbox.closed }
                try await group.waitForAll()
            }
            let types = try await store.reader.events(EventFilter(session: session)).map(\.type)
            #expect(types.contains(.sessionMemberLeft))
        }
    }

    @Test func aLeaverStaysGoneAfterARestart() async throws {
        let folder = NSTemporaryDirectory() + "ope-leave-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let clock = ManualClock()
        let session = try await TestGateway.runReturning(folder: folder, clock: clock) { client, _ in
            let (alice, _, session) = try await client.pair()
            _ = try await client.post("/api/sessions/\(session)/leave", json: [:], headers: alice.writeHeaders)
            return session
        }
        try await TestGateway.run(folder: folder, createUsers: false, clock: clock) { client, _ in
            let teacher = try await client.login("teacher")
            let detail = try await client.get("/api/sessions/\(session)", headers: teacher.headers).json()
            #expect(detail["roles"] as? [String: String] == ["bob": "driver"])
            let alice = try await client.login("alice")
            #expect(try await client.get("/api/lobby", headers: alice.headers).json()["status"] as? String == "idle")
            let bob = try await client.login("bob")
            #expect(try await client.get("/api/lobby", headers: bob.headers).json()["session"] as? String == session)
        }
    }

    @Test func theLobbySaysHowLongOneMayWaitAndGivesUpThen() async throws {
        let clock = ManualClock()
        try await TestGateway.runWithGateway(clock: clock) { client, _, gateway in
            let carol = try await client.login("carol")
            // sql-joins needs two: a lone waiter can only give up, after its 5 minutes.
            let joined = try await client.post("/api/lobby/join", json: ["module": "sql-joins"], headers: carol.writeHeaders).json()
            #expect(joined["status"] as? String == "waiting")
            let since = try #require((joined["waitingSince"] as? String).flatMap(Self.date))
            let giveUpAt = try #require((joined["giveUpAt"] as? String).flatMap(Self.date))
            #expect(giveUpAt.timeIntervalSince(since) == 300)
            let message = try #require(joined["message"] as? String)
            #expect(message.contains("You can wait up to 5 minutes. If no team has formed by then, you leave the queue and can join again."), "\(message)")
            #expect(message.contains("A team starts as soon as 2 people are waiting"), "\(message)")

            clock.advance(by: .seconds(299))
            try await gateway.runtime.tick()
            #expect(try await client.get("/api/lobby", headers: carol.headers).json()["status"] as? String == "waiting")
            clock.advance(by: .seconds(1))
            try await gateway.runtime.tick()
            let gaveUp = try await client.get("/api/lobby", headers: carol.headers).json()
            #expect(gaveUp["status"] as? String == "gave_up" && gaveUp["module"] as? String == "sql-joins")
            #expect((gaveUp["message"] as? String)?.hasPrefix("Nobody else joined in time, so you left the queue.") == true)
        }
    }

    @Test func someoneStartingAloneIsToldSo() async throws {
        let clock = ManualClock()
        try await TestGateway.runWithGateway(clock: clock) { client, _, gateway in
            let alice = try await client.login("alice")
            let joined = try await client.post("/api/lobby/join", json: ["module": "python-intro"], headers: alice.writeHeaders).json()
            #expect((joined["message"] as? String)?.contains("If nobody else is waiting after 5 seconds, you start on your own") == true)
            clock.advance(by: .seconds(6))
            try await gateway.runtime.tick()
            let matched = try await client.get("/api/lobby", headers: alice.headers).json()
            #expect(matched["status"] as? String == "matched" && matched["teamSize"] as? Int == 1)
            let words = try #require(matched["message"] as? String)
            #expect(words.hasPrefix("Nobody else was waiting, so you are working on your own for now."), "\(words)")
            #expect(words.contains("in the next 10 minutes joins your team"), "\(words)")
        }
    }

    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }
}
