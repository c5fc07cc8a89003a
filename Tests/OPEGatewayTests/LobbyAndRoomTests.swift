import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OPECore
import OPEGateway
import OPERuntime
import OPEStore
import OPETestSupport
import Synchronization
import Testing

@Suite struct LobbyAndRoomTests {
    @Test func twoParticipantsArePairedWithRoles() async throws {
        try await TestGateway.run { client, store in
            let (alice, bob, session) = try await client.pair()
            let me = try await client.get("/api/me", headers: alice.headers).json()
            #expect(me["session"] as? String == session)
            #expect(me["role"] as? String == "driver")
            #expect(me["platformRole"] as? String == "participant")
            #expect(try await client.get("/api/me", headers: bob.headers).json()["role"] as? String == "navigator")

            let detail = try await client.get("/api/sessions/\(session)", headers: bob.headers).json()
            #expect(detail["phase"] as? String == "active")
            #expect(detail["module"] as? String == "python-intro")
            #expect(detail["roles"] as? [String: String] == ["alice": "driver", "bob": "navigator"])
            #expect((detail["members"] as? [[String: Any]])?.compactMap { $0["username"] as? String } == ["alice", "bob"])

            // Outsiders see nothing; instructors see everything and rotate roles.
            let carol = try await client.login("carol")
            #expect(try await client.get("/api/sessions/\(session)", headers: carol.headers).status == .forbidden)
            #expect(try await client.get("/api/sessions/nope", headers: carol.headers).status == .notFound)
            let teacher = try await client.login("teacher")
            let rotated = try await client.execute(uri: "/api/sessions/\(session)/rotate", method: .post, headers: teacher.writeHeaders).json()
            #expect(rotated["roles"] as? [String: String] == ["alice": "navigator", "bob": "driver"])
            #expect(try await client.execute(uri: "/api/sessions/\(session)/rotate", method: .post, headers: alice.writeHeaders).status == .forbidden)

            let types = try await store.reader.events(EventFilter(session: session)).map(\.type)
            #expect(types == [.sessionFormed, .sessionPhaseChanged, .roleChanged])
        }
    }

    @Test func lobbyRefusesWhatItShould() async throws {
        try await TestGateway.run { client, _ in
            let alice = try await client.login("alice")
            let unknown = try await client.post("/api/lobby/join", json: ["module": "nope"], headers: alice.writeHeaders)
            #expect(unknown.status == .notFound)
            #expect(unknown.errorMessage == "no module 'nope'")
            #expect(try await client.post("/api/lobby/join", json: ["module": "sql-joins"], headers: alice.writeHeaders).status == .ok)
            let twice = try await client.post("/api/lobby/join", json: ["module": "sql-joins"], headers: alice.writeHeaders)
            #expect(twice.status == .conflict)
            #expect(twice.errorMessage == "you are already waiting for 'sql-joins'")
            let other = try await client.post("/api/lobby/join", json: ["module": "python-intro"], headers: alice.writeHeaders)
            #expect(other.status == .conflict)
            // Leaving works once.
            #expect(try await client.execute(uri: "/api/lobby/join", method: .delete, headers: alice.writeHeaders).status == .noContent)
            #expect(try await client.execute(uri: "/api/lobby/join", method: .delete, headers: alice.writeHeaders).status == .notFound)
            // An instructor closes the module: joining is refused with words.
            let teacher = try await client.login("teacher")
            let closed = try await client.post("/api/modules/sql-joins/matching", json: ["open": false], headers: teacher.writeHeaders)
            #expect(closed.status == .ok)
            let refused = try await client.post("/api/lobby/join", json: ["module": "sql-joins"], headers: alice.writeHeaders)
            #expect(refused.status == .forbidden)
            #expect(refused.errorMessage == "module 'sql-joins' is not open for joining")
            let modules = try await client.get("/api/modules", headers: alice.headers).jsonArray()
            #expect(modules.first { $0["id"] as? String == "sql-joins" }?["open"] as? Bool == false)
        }
    }

    @Test func chatIsCommittedAckedAndFannedOutInOrder() async throws {
        try await TestGateway.run { client, store in
            let (alice, bob, session) = try await client.pair()
            let path = "/api/sessions/\(session)/ws"
            let aliceRoom = RoomClient()
            let bobRoom = RoomClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await aliceRoom.run(client, path: path, cookie: alice.cookie) }
                let welcome = try await aliceRoom.inbox.waitFor(type: "welcome")
                #expect(welcome["roles"] as? [String: String] == ["alice": "driver", "bob": "navigator"])
                let synced = try await aliceRoom.inbox.waitFor(type: "synced")
                #expect((synced["id"] as? Int ?? 0) > 0)
                group.addTask { try await bobRoom.run(client, path: path, cookie: bob.cookie) }
                _ = try await aliceRoom.inbox.waitFor("bob's presence") {
                    $0["type"] as? String == "presence" && $0["user"] as? String == "bob" && $0["state"] as? String == "join"
                }
                _ = try await bobRoom.inbox.waitFor(type: "synced")

                try aliceRoom.send(["type": "typing", "active": true])
                _ = try await bobRoom.inbox.waitFor("alice typing") { $0["type"] as? String == "typing" && $0["user"] as? String == "alice" }

                try aliceRoom.send(["type": "chat", "text": "hello <b>team</b>", "clientId": "c-1"])
                let ack = try await aliceRoom.inbox.waitFor("ack") { $0["type"] as? String == "ack" && $0["clientId"] as? String == "c-1" }
                let id = try #require(ack["id"] as? Int)
                let seenByBob = try await bobRoom.inbox.waitFor("alice's chat") { $0["type"] as? String == "chat" && $0["id"] as? Int == id }
                #expect(seenByBob["from"] as? String == "alice")
                #expect(seenByBob["text"] as? String == "hello <b>team</b>")
                #expect(seenByBob["time"] is String)
                _ = try await aliceRoom.inbox.waitFor("her own chat") { $0["type"] as? String == "chat" && $0["id"] as? Int == id }
                // Acknowledged means committed.
                let stored = try await store.reader.events(EventFilter(session: session)).first { $0.id == Int64(id) }
                #expect(stored?.type == .chatMessage)

                // Bad frames get an error and change nothing for anyone.
                aliceRoom.sendRaw("this is not json")
                _ = try await aliceRoom.inbox.waitFor("bad_message error") { $0["code"] as? String == "bad_message" }
                try aliceRoom.send(["type": "chat", "text": String(repeating: "x", count: 5000), "clientId": "big"])
                _ = try await aliceRoom.inbox.waitFor("too_large error") { $0["code"] as? String == "too_large" }
                try aliceRoom.send(["type": "dance"])
                _ = try await aliceRoom.inbox.waitFor("unknown_type error") { $0["code"] as? String == "unknown_type" }

                // A flood is cut off with a clear error; bob still gets the messages that passed.
                for index in 0..<25 { try aliceRoom.send(["type": "chat", "text": "flood \(index)", "clientId": "f\(index)"]) }
                let limited = try await aliceRoom.inbox.waitFor("rate_limited error") { $0["code"] as? String == "rate_limited" }
                #expect((limited["retryAfterMs"] as? Int ?? 0) > 0)
                _ = try await bobRoom.inbox.waitFor("first flood message") { $0["text"] as? String == "flood 0" }
                let bobErrors = await bobRoom.inbox.messages().filter { $0["type"] as? String == "error" }
                #expect(bobErrors.isEmpty)
                aliceRoom.close()
                bobRoom.close()
                try await group.waitForAll()
            }
            let chats = try await store.reader.events(EventFilter(session: session)).filter { $0.type == .chatMessage }
            #expect(chats.first?.payload["text"]?.stringValue == "hello <b>team</b>")
            #expect(chats.count >= 2 && chats.count < 26)
        }
    }

    /// A room socket's upgrade is decided twice (its check, then the upgrade itself): the caller's
    /// cookie is looked up in the check, and the upgrade takes that answer on the same connection.
    @Test func aRoomSocketsUpgradeReusesItsChecksCredentialLookup() async throws {
        try await TestGateway.runWithGateway(metricsToken: "scrape-secret") { client, _, _ in
            let (alice, _, session) = try await client.pair()
            func reused() async throws -> Double {
                let text = String(buffer: try await client.get("/metrics", headers: [.authorization: "Bearer scrape-secret"]).body)
                let line = text.split(separator: "\n").first { $0.hasPrefix("ope_upgrade_credentials_reused_total ") }
                return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
            }
            let before = try await reused()
            let room = RoomClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await room.run(client, path: "/api/sessions/\(session)/ws", cookie: alice.cookie) }
                let welcome = try await room.inbox.waitFor(type: "welcome")
                #expect(welcome["user"] as? String == "alice")
                _ = try await room.inbox.waitFor(type: "synced")
                room.close()
                try await group.waitForAll()
            }
            // Counted across the test process (other tests' sockets add to it too), so: at least this one.
            let after = try await reused()
            #expect(after >= before + 1, "before \(before), after \(after)")
        }
    }

    @Test func reconnectReplaysFromTheLastSeenIdWithoutGapOrDuplicate() async throws {
        try await TestGateway.run { client, _ in
            let (alice, bob, session) = try await client.pair()
            let path = "/api/sessions/\(session)/ws"
            let aliceRoom = RoomClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await aliceRoom.run(client, path: path, cookie: alice.cookie) }
                _ = try await aliceRoom.inbox.waitFor(type: "synced")
                try aliceRoom.send(["type": "chat", "text": "one", "clientId": "1"])
                let first = try await aliceRoom.inbox.waitFor("ack 1") { $0["clientId"] as? String == "1" && $0["type"] as? String == "ack" }
                let firstID = try #require(first["id"] as? Int)
                // bob is offline while two more messages are sent.
                try aliceRoom.send(["type": "chat", "text": "two", "clientId": "2"])
                try aliceRoom.send(["type": "chat", "text": "three", "clientId": "3"])
                _ = try await aliceRoom.inbox.waitFor("ack 3") { $0["clientId"] as? String == "3" && $0["type"] as? String == "ack" }

                let bobRoom = RoomClient()
                group.addTask { try await bobRoom.run(client, path: path + "?after=\(firstID)", cookie: bob.cookie) }
                _ = try await bobRoom.inbox.waitFor(type: "synced")
                try aliceRoom.send(["type": "chat", "text": "four", "clientId": "4"])
                _ = try await bobRoom.inbox.waitFor("live message") { $0["text"] as? String == "four" }
                let texts = await bobRoom.inbox.messages().filter { $0["type"] as? String == "chat" }.compactMap { $0["text"] as? String }
                #expect(texts == ["two", "three", "four"])
                let ids = await bobRoom.inbox.messages().compactMap { $0["type"] as? String == "chat" ? $0["id"] as? Int : nil }
                #expect(ids == ids.sorted() && ids.allSatisfy { $0 > firstID })
                aliceRoom.close()
                bobRoom.close()
                try await group.waitForAll()
            }
        }
    }

    @Test func aFrameOverTheRoomsLimitClosesTheConnection() async throws {
        try await TestGateway.run { client, _ in
            let (alice, _, session) = try await client.pair()
            let room = RoomClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await room.run(client, path: "/api/sessions/\(session)/ws", cookie: alice.cookie) }
                _ = try await room.inbox.waitFor(type: "synced")
                try room.send(["type": "heartbeat"])
                _ = try await room.inbox.waitFor(type: "heartbeat")
                // One frame over 64 KiB (the documented limit), as the probe sent 8 MiB.
                room.sendRaw(#"{"type": "heartbeat", "pad": ""# + String(repeating: "x", count: 100 * 1024) + #""}"#)
                try await group.waitForAll()
                #expect(await room.inbox.closed, "the room stayed open")
                #expect(await room.inbox.messages().filter { $0["type"] as? String == "heartbeat" }.count == 1, "the oversized frame was answered")
            }
        }
    }

    @Test func anEndedSessionsRoomCanBeReadButNotWrittenTo() async throws {
        try await TestGateway.run { client, store in
            let (alice, _, session) = try await client.pair()
            let path = "/api/sessions/\(session)/ws"
            let room = RoomClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await room.run(client, path: path, cookie: alice.cookie) }
                _ = try await room.inbox.waitFor(type: "synced")
                try room.send(["type": "chat", "text": "before the end", "clientId": "1"])
                _ = try await room.inbox.waitFor("ack 1") { $0["type"] as? String == "ack" && $0["clientId"] as? String == "1" }
                let teacher = try await client.login("teacher")
                #expect(try await client.execute(uri: "/api/sessions/\(session)/end", method: .post, headers: teacher.writeHeaders).status == .ok)
                _ = try await room.inbox.waitFor("the end") { $0["type"] as? String == "phase" && $0["phase"] as? String == "completed" }
                try room.send(["type": "chat", "text": "after the end", "clientId": "2"])
                let refused = try await room.inbox.waitFor("a refusal") { $0["type"] as? String == "error" }
                #expect(refused["code"] as? String == "session_over")
                #expect((refused["message"] as? String)?.contains("has ended") == true)
                #expect(await room.inbox.messages().contains { $0["type"] as? String == "ack" && $0["clientId"] as? String == "2" } == false)
                room.close()
                try await group.waitForAll()
            }
            let chats = try await store.reader.events(EventFilter(session: session, types: [.chatMessage])).compactMap { $0.payload["text"]?.stringValue }
            #expect(chats == ["before the end"], "an ended session's chat was recorded")
        }
    }

    @Test func onlyMembersAndInstructorsFromOurOriginMayOpenTheRoom() async throws {
        try await TestGateway.run { client, _ in
            let (alice, _, session) = try await client.pair()
            let path = "/api/sessions/\(session)/ws"
            let carol = try await client.login("carol")
            await #expect(throws: (any Error).self) { try await RoomClient().run(client, path: path, cookie: carol.cookie) }
            await #expect(throws: (any Error).self) { try await RoomClient().run(client, path: path, cookie: alice.cookie, origin: "https://evil.example") }
            await #expect(throws: (any Error).self) { try await RoomClient().run(client, path: path, cookie: "ope_session=forged") }
            // Plain HTTP answers say why.
            let forbidden = try await client.get(path, headers: carol.headers)
            #expect(forbidden.status == .forbidden)
            #expect(forbidden.errorMessage == "only members of session \(session) and instructors may join its room")
            let teacher = try await client.login("teacher")
            let room = RoomClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await room.run(client, path: path, cookie: teacher.cookie) }
                _ = try await room.inbox.waitFor(type: "synced")
                room.close()
                try await group.waitForAll()
            }
        }
    }

    @Test func stateIsRebuiltFromTheLogOnRestart() async throws {
        let folder = NSTemporaryDirectory() + "ope-restart-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let recorded = Mutex<(session: String, waiting: Bool)?>(nil)
        // One clock for both processes: the restart takes none of the lobby's time.
        let clock = ManualClock()
        try await TestGateway.run(folder: folder, clock: clock) { client, _ in
            let (alice, _, session) = try await client.pair()
            let teacher = try await client.login("teacher")
            _ = try await client.execute(uri: "/api/sessions/\(session)/rotate", method: .post, headers: teacher.writeHeaders)
            let carol = try await client.login("carol")
            let waiting = try await client.post("/api/lobby/join", json: ["module": "sql-joins"], headers: carol.writeHeaders).json()
            recorded.withLock { $0 = (session, waiting["status"] as? String == "waiting") }
            let room = RoomClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await room.run(client, path: "/api/sessions/\(session)/ws", cookie: alice.cookie) }
                _ = try await room.inbox.waitFor(type: "synced")
                try room.send(["type": "chat", "text": "before the restart", "clientId": "r"])
                _ = try await room.inbox.waitFor(type: "ack")
                room.close()
                try await group.waitForAll()
            }
        }
        let (session, wasWaiting) = try #require(recorded.withLock { $0 })
        #expect(wasWaiting)
        // A new process on the same data dir.
        try await TestGateway.run(folder: folder, createUsers: false, clock: clock) { client, _ in
            let alice = try await client.login("alice")
            let me = try await client.get("/api/me", headers: alice.headers).json()
            #expect(me["session"] as? String == session)
            #expect(me["role"] as? String == "navigator")
            let carol = try await client.login("carol")
            let status = try await client.get("/api/lobby", headers: carol.headers).json()
            #expect(status["status"] as? String == "waiting")
            #expect(status["module"] as? String == "sql-joins")
            let room = RoomClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await room.run(client, path: "/api/sessions/\(session)/ws", cookie: alice.cookie) }
                _ = try await room.inbox.waitFor("the old chat") { $0["text"] as? String == "before the restart" }
                let welcome = try await room.inbox.waitFor(type: "welcome")
                #expect(welcome["roles"] as? [String: String] == ["alice": "navigator", "bob": "driver"])
                room.close()
                try await group.waitForAll()
            }
        }
    }
}

@Suite struct StaticGroupTests {
    @Test func uploadedGroupsGoStraightIntoTheirSessionAndAbsentMembersDoNotBlock() async throws {
        let clock = ManualClock()
        try await TestGateway.runWithGateway(clock: clock) { client, store, gateway in
            let teacher = try await client.login("teacher")
            var csvHeaders = teacher.writeHeaders
            csvHeaders[.contentType] = "text/csv"
            let bad = try await client.execute(
                uri: "/api/modules/python-intro/groups", method: .put, headers: csvHeaders, body: ByteBuffer(string: "alice,g1\nghost,g1\n")
            )
            #expect(bad.status == .badRequest)
            #expect(bad.errorMessage == "no such users: ghost")
            let upload = try await client.execute(
                uri: "/api/modules/python-intro/groups", method: .put, headers: csvHeaders,
                body: ByteBuffer(string: "username,group\nalice,g1\nbob,g1\ncarol,g2\nroot,g2\n")
            )
            #expect(upload.status == .ok, "\(String(buffer: upload.body))")
            let alice = try await client.login("alice")
            let modules = try await client.get("/api/modules", headers: alice.headers).jsonArray()
            #expect(modules.first { $0["id"] as? String == "python-intro" }?["mode"] as? String == "static")

            let first = try await client.post("/api/lobby/join", json: ["module": "python-intro"], headers: alice.writeHeaders).json()
            #expect(first["status"] as? String == "matched")
            let session = try #require(first["session"] as? String)
            #expect(try await client.get("/api/sessions/\(session)", headers: alice.headers).json()["phase"] as? String == "pending")
            let bob = try await client.login("bob")
            let second = try await client.post("/api/lobby/join", json: ["module": "python-intro"], headers: bob.writeHeaders).json()
            #expect(second["session"] as? String == session)
            // The whole group is there: the session starts on the next timer pass.
            try await gateway.runtime.tick()
            #expect(try await client.get("/api/sessions/\(session)", headers: alice.headers).json()["phase"] as? String == "active")
            let detail = try await client.get("/api/sessions/\(session)", headers: bob.headers).json()
            #expect(detail["roles"] as? [String: String] == ["alice": "driver", "bob": "navigator"])

            // carol's group-mate never comes: after the settle time (5 s) she starts without them.
            let carol = try await client.login("carol")
            let own = try await client.post("/api/lobby/join", json: ["module": "python-intro"], headers: carol.writeHeaders).json()
            let carolSession = try #require(own["session"] as? String)
            #expect(carolSession != session)
            #expect(try await client.get("/api/sessions/\(carolSession)", headers: carol.headers).json()["phase"] as? String == "pending")
            clock.advance(by: .seconds(4))
            try await gateway.runtime.tick()
            #expect(try await client.get("/api/sessions/\(carolSession)", headers: carol.headers).json()["phase"] as? String == "pending")
            clock.advance(by: .seconds(2))
            try await gateway.runtime.tick()
            #expect(try await client.get("/api/sessions/\(carolSession)", headers: carol.headers).json()["phase"] as? String == "active")
            // Outsiders of the groups are told so.
            let outsider = try await client.post("/api/lobby/join", json: ["module": "python-intro"], headers: teacher.writeHeaders)
            #expect(outsider.status == .forbidden)
            #expect(outsider.errorMessage?.contains("fixed groups") == true)
            let types = try await store.reader.events(EventFilter(types: [.moduleGroupsUploaded])).count
            #expect(types == 1)
        }
    }
}
