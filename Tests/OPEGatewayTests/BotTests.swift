import Foundation
import HummingbirdTesting
import NIOCore
import OPEBot
import OPECore
import OPEGateway
import OPERuntime
import OPEStore
import OPETestSupport
import Testing

/// The guiding bot inside the platform: its messages and role changes travel through the room.
@Suite struct BotTests {
    @Test func aPairedTeamIsGreetedGivenRolesAndMovedOnWhenTestsPass() async throws {
        let clock = ManualClock()
        try await TestGateway.run(clock: clock) { client, store in
            let (alice, bob, session) = try await client.pair()
            let path = "/api/sessions/\(session)/ws"
            let aliceRoom = RoomClient()
            let bobRoom = RoomClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await aliceRoom.run(client, path: path, cookie: alice.cookie) }
                _ = try await aliceRoom.inbox.waitFor(type: "synced")
                group.addTask { try await bobRoom.run(client, path: path, cookie: bob.cookie) }
                // Synced means bob's arrival is committed, so the bot has it before the clock moves.
                _ = try await bobRoom.inbox.waitFor(type: "synced")
                // A minute of the plan's time: the greeting, its reading time, the role assignment.
                clock.advance(by: .seconds(60))

                for room in [aliceRoom, bobRoom] {
                    let greeting = try await room.inbox.waitFor("the bot's greeting") {
                        $0["type"] as? String == "bot" && ($0["text"] as? String)?.hasPrefix("Hi alice, bob! I'm OPE_Bot") == true
                    }
                    #expect(greeting["from"] as? String == "OPE_Bot", "bot messages have their own sender")
                    #expect(greeting["id"] is Int, "bot messages are committed events")
                }
                // The plan waited for the whole team: the bot did nothing before bob arrived.
                let log = try await store.reader.events(EventFilter(session: session))
                let bobArrived = try #require(log.first { $0.type == .presenceJoined && $0.actor == "bob" }?.id)
                #expect(!log.contains { $0.actor == BotService.actor && $0.id < bobArrived }, "the bot started before the team was complete")
                // After the greeting's reading time the bot assigns roles: the same role event as any other.
                let roles = try await bobRoom.inbox.waitFor("the bot's role assignment") {
                    $0["type"] as? String == "roles" && $0["reason"] as? String == "match"
                }
                let map = try #require(roles["roles"] as? [String: String])
                #expect(Set(map.keys) == ["alice", "bob"])
                #expect(Set(map.values) == ["driver", "navigator"])
                let announcement = try await aliceRoom.inbox.waitFor("the role announcement") { ($0["text"] as? String)?.hasPrefix("Your roles:") == true }
                for (user, role) in map { #expect((announcement["text"] as? String)?.contains("\(role.capitalized): \(user)") == true) }
                let firstTask = try await aliceRoom.inbox.waitFor("the first task") { ($0["text"] as? String)?.hasPrefix("First task") == true }
                // The plan's Markdown comes rendered, through the same allow-list as module text.
                let html = try #require(firstTask["html"] as? String)
                #expect(html.contains("<em>Text statistics</em>") && html.contains("<strong>Run tests</strong>"), "\(html)")
                let command = try await aliceRoom.inbox.waitFor(type: "command")
                #expect(command["text"] as? String == "task text-stats")

                // The team asks for help: a keyword trigger answers.
                try aliceRoom.send(["type": "chat", "text": "we are stuck", "clientId": "k1"])
                _ = try await bobRoom.inbox.waitFor("the keyword hint") { ($0["text"] as? String)?.hasPrefix("Stuck, alice?") == true }

                // The tests pass (recorded as the tests endpoint records them): the bot praises and moves on.
                _ = try await store.events.append(
                    EventDraft(time: clock.now, type: .testResult, actor: "bob", session: session, payload: ["task": "text-stats", "passed": true])
                )
                _ = try await bobRoom.inbox.waitFor("praise") {
                    $0["type"] as? String == "bot" && ($0["text"] as? String)?.hasPrefix("The tests pass.") == true
                }
                // The next task comes after the praise's delay.
                clock.advance(by: .seconds(60))
                let rotation = try await aliceRoom.inbox.waitFor("the rotation for task 2") {
                    $0["type"] as? String == "roles" && $0["reason"] as? String == "rotate"
                }
                let rotated = try #require(rotation["roles"] as? [String: String])
                #expect(rotated["alice"] == map["bob"] && rotated["bob"] == map["alice"], "two members swap roles")

                // A reconnect replays the bot's messages from the log like anyone else's.
                let late = RoomClient()
                group.addTask { try await late.run(client, path: path + "?after=0", cookie: alice.cookie) }
                _ = try await late.inbox.waitFor(type: "synced")
                let replayed = await late.inbox.messages().filter { $0["type"] as? String == "bot" }
                #expect(replayed.count >= 6)
                for room in [aliceRoom, bobRoom, late] { room.close() }
                try await group.waitForAll()
            }
            let steps = try await store.reader.events(EventFilter(session: session, types: [.botStep]))
            #expect(steps.contains { $0.payload["kind"]?.stringValue == "launched" })
            #expect(steps.contains { $0.payload["stage"]?.stringValue == "run-length" })
        }
    }
}

extension BotTests {
    /// The server restarts a second after the bot launched: the new process rebuilds the bot from
    /// the log, does not greet again, and carries on with the next step on time.
    @Test func theBotCarriesOnAfterAServerRestart() async throws {
        let folder = NSTemporaryDirectory() + "ope-restart-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // One clock for both processes: the restart takes no time of the plan's.
        let clock = ManualClock()
        let session = try await TestGateway.runReturning(folder: folder, clock: clock) { client, _ in
            let (alice, bob, session) = try await client.pair()
            let path = "/api/sessions/\(session)/ws"
            let rooms = [RoomClient(), RoomClient()]
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await rooms[0].run(client, path: path, cookie: alice.cookie) }
                group.addTask { try await rooms[1].run(client, path: path, cookie: bob.cookie) }
                for room in rooms { _ = try await room.inbox.waitFor(type: "synced") }
                // A second after the launch the bot has greeted; the roles are still seconds away.
                clock.advance(by: .seconds(1))
                _ = try await rooms[0].inbox.waitFor(type: "bot")
                for room in rooms { room.close() }
                try await group.waitForAll()
            }
            return session
        }
        try await TestGateway.runReturning(folder: folder, createUsers: false, clock: clock) { client, store in
            let alice = try await client.login("alice")
            let room = RoomClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await room.run(client, path: "/api/sessions/\(session)/ws", cookie: alice.cookie) }
                // alice is back (committed, so the rebuilt bot has it) before the plan's time moves on.
                _ = try await room.inbox.waitFor(type: "synced")
                clock.advance(by: .seconds(60))
                _ = try await room.inbox.waitFor("the roles, after the restart") {
                    $0["type"] as? String == "roles" && $0["reason"] as? String == "match"
                }
                _ = try await room.inbox.waitFor("the first task") { ($0["text"] as? String)?.hasPrefix("First task") == true }
                room.close()
                try await group.waitForAll()
            }
            let said = try await store.reader.events(EventFilter(session: session, types: [.botMessage])).compactMap { $0.payload["text"]?.stringValue }
            #expect(said.filter { $0.hasPrefix("Hi ") && $0.contains("I'm OPE_Bot") }.count == 1, "no second greeting: \(said)")
            #expect(said.filter { $0.hasPrefix("Your roles:") }.count == 1)
            let launches = try await store.reader.events(EventFilter(session: session, types: [.botStep])).filter {
                $0.payload["kind"]?.stringValue == "launched"
            }
            #expect(launches.count == 1)
        }
    }
}

extension BotTests {
    /// The plan launches its session's offset after the team is complete (teams formed together do
    /// not all speak in the same millisecond), at the bots' first tick from then on, and its first
    /// words come with it.
    @Test func theBotLaunchesAtItsSessionsOffsetOnTheClock() async throws {
        let clock = ManualClock()
        try await TestGateway.run(clock: clock) { client, store in
            let (alice, bob, session) = try await client.pair()
            let path = "/api/sessions/\(session)/ws"
            let rooms = [RoomClient(), RoomClient()]
            let offset = PlanEngine.launchOffset(session: session)
            #expect(offset >= 0 && offset < 1)
            var due = Date()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await rooms[0].run(client, path: path, cookie: alice.cookie) }
                group.addTask { try await rooms[1].run(client, path: path, cookie: bob.cookie) }
                for room in rooms { _ = try await room.inbox.waitFor(type: "synced") }
                let joins = try await store.reader.events(EventFilter(session: session, types: [.presenceJoined]))
                let complete = try #require(joins.map(\.time).max())
                due = complete.addingTimeInterval(offset)
                // Past the launch and the bots' next tick (every 250 ms), in one step.
                clock.advance(by: .seconds(max(0, due.timeIntervalSince(clock.now)) + 0.25))
                _ = try await rooms[0].inbox.waitFor(type: "bot")
                for room in rooms { room.close() }
                try await group.waitForAll()
            }
            let steps = try await store.reader.events(EventFilter(session: session, types: [.botStep]))
            let launched = try #require(steps.first { $0.payload["kind"]?.stringValue == "launched" })
            #expect(launched.time >= due && launched.time <= due.addingTimeInterval(0.251), "launched at \(launched.time), due \(due)")
            #expect(!steps.contains { $0.time < due }, "nothing of the bot's before its launch")
        }
    }
}

/// Experiment conditions: each new session gets one; the assignment is an event in the export.
@Suite struct ExperimentTests {
    @Test func sessionsGetBalancedConditionsRecordedInTheExport() async throws {
        let folder = NSTemporaryDirectory() + "ope-module-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.copyItem(atPath: TestGateway.examples + "/python-intro", toPath: folder)
        try """
        name: Quiet variant
        readingSpeed: 0
        stages:
          - steps:
              - say: "Hello from the quiet variant."
        """.write(toFile: folder + "/bot/quiet.yaml", atomically: true, encoding: .utf8)
        var yaml = try String(contentsOfFile: folder + "/module.yaml", encoding: .utf8)
        yaml += """

            experiment:
              seed: 11
              conditions:
                - name: guided
                - name: quiet
                  plan: bot/quiet.yaml

            """
        try yaml.write(toFile: folder + "/module.yaml", atomically: true, encoding: .utf8)
        let clock = ManualClock()
        try await TestGateway.run(moduleFolders: [folder], clock: clock) { client, store in
            let (alice, bob, session) = try await client.pair()
            let assigned = try await store.reader.events(EventFilter(session: session, types: [.experimentAssigned]))
            #expect(assigned.count == 1)
            let condition = try #require(assigned.first?.payload["condition"]?.stringValue)
            #expect(["guided", "quiet"].contains(condition))
            #expect(assigned.first?.payload["index"] == .number(0))
            // The session's bot runs the condition's plan.
            let aliceRoom = RoomClient()
            let bobRoom = RoomClient()
            let path = "/api/sessions/\(session)/ws"
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await aliceRoom.run(client, path: path, cookie: alice.cookie) }
                group.addTask { try await bobRoom.run(client, path: path, cookie: bob.cookie) }
                for room in [aliceRoom, bobRoom] { _ = try await room.inbox.waitFor(type: "synced") }
                clock.advance(by: .seconds(1))
                let first = try await aliceRoom.inbox.waitFor(type: "bot")
                let text = try #require(first["text"] as? String)
                #expect(condition == "quiet" ? text == "Hello from the quiet variant." : text.hasPrefix("Hi "), "\(condition): \(text)")
                aliceRoom.close()
                bobRoom.close()
                try await group.waitForAll()
            }
            let teacher = try await client.login("teacher")
            let export = String(buffer: try await client.get("/api/events/export?session=\(session)", headers: teacher.headers).body)
            #expect(export.contains("\"type\":\"experiment.assigned\"") && export.contains("\"condition\":\"\(condition)\""))
            let csv = String(buffer: try await client.get("/api/events/export?module=python-intro&format=csv", headers: teacher.headers).body)
            #expect(csv.contains("experiment.assigned"))
        }
    }
}
