import Foundation
import HummingbirdTesting
import NIOCore
import OPECore
import OPEGateway
import OPERuntime
import OPEStore
import OPETestSupport
import Testing

/// External bots: a webhook that is down, hangs or answers garbage, and then recovers.
@Suite struct ExternalBotTests {
    /// python-intro without the guiding bot, with `assistant:` set to the given YAML block.
    static func module(assistant: String) throws -> String {
        let folder = NSTemporaryDirectory() + "ope-module-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: TestGateway.examples + "/python-intro", toPath: folder)
        var yaml = try String(contentsOfFile: folder + "/module.yaml", encoding: .utf8)
        yaml = yaml.replacingOccurrences(of: "plan: bot/guide.yaml\n", with: "")
        yaml += "\nassistant:\n" + assistant
        try yaml.write(toFile: folder + "/module.yaml", atomically: true, encoding: .utf8)
        return folder
    }

    /// A webhook bot called `name` with a 1 s timeout and a breaker that opens after 3 failures for 1 s.
    static func module(webhook url: String, name: String) throws -> String {
        try module(assistant: "  name: \(name)\n  webhook: \(url)\n  timeout: 1s\n  breaker:\n    failures: 3\n    cooldown: 1s\n")
    }

    /// The session's events an external bot hears about, in log order.
    static func deliverable(_ store: Store, _ session: String) async throws -> [Event] {
        try await store.reader.events(EventFilter(session: session, types: ExternalBotService.deliveredTypes), limit: 10_000)
            .filter { $0.actor != ExternalBotService.actor }
    }

    /// Whether `room` has received a message matching `predicate`.
    static func received(_ room: RoomClient, _ predicate: @Sendable ([String: Any]) -> Bool) async -> Bool {
        await room.inbox.messages().contains(where: predicate)
    }

    /// Serves a fake bot in `mode`, pairs alice and bob in the module `module` makes for the fake's
    /// webhook URL (a webhook bot called `name` unless it says otherwise) and opens alice's room;
    /// `body` runs with the room synced, and the room closes after it.
    static func withAliceInTheRoom(
        bot mode: FakeExternalBot.Mode, name: String = "Helper", module: @Sendable (_ webhook: String, _ name: String) throws -> String = module(webhook:name:),
        _ body: @Sendable (_ fake: FakeExternalBot, _ room: RoomClient, _ clock: ManualClock, _ store: Store, _ session: String) async throws -> Void
    ) async throws {
        try await FakeExternalBot.serve(mode: mode) { fake, url in
            let folder = try module(url, name)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            // Deliveries, retries, backoff and the breaker's cooldown run when the test moves time on.
            let clock = ManualClock()
            try await TestGateway.run(moduleFolders: [folder], clock: clock) { client, store in
                let (alice, _, session) = try await client.pair()
                let room = RoomClient()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await room.run(client, path: "/api/sessions/\(session)/ws", cookie: alice.cookie) }
                    _ = try await room.inbox.waitFor(type: "synced")
                    try await body(fake, room, clock, store, session)
                    room.close()
                    try await group.waitForAll()
                }
            }
        }
    }

    @Test func anOutageLosesAndDuplicatesNothing() async throws {
        try await FakeExternalBot.serve(mode: .failing) { fake, url in
            let folder = try Self.module(webhook: url, name: "Helper")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            // Deliveries, retries, backoff and the breaker's cooldown run when the test moves time on.
            let clock = ManualClock()
            try await TestGateway.run(moduleFolders: [folder], clock: clock) { client, store in
                let (alice, bob, session) = try await client.pair()
                let path = "/api/sessions/\(session)/ws"
                let aliceRoom = RoomClient()
                let bobRoom = RoomClient()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await aliceRoom.run(client, path: path, cookie: alice.cookie) }
                    group.addTask { try await bobRoom.run(client, path: path, cookie: bob.cookie) }
                    _ = try await aliceRoom.inbox.waitFor(type: "synced")
                    _ = try await bobRoom.inbox.waitFor(type: "synced")
                    // The bot is down: every message is still acknowledged (how fast is for the benchmarks).
                    for index in 1...5 {
                        try aliceRoom.send(["type": "chat", "text": "message \(index)", "clientId": "m\(index)"])
                        _ = try await aliceRoom.inbox.waitFor("ack \(index)") { $0["type"] as? String == "ack" && $0["clientId"] as? String == "m\(index)" }
                    }
                    try await clock.advance(by: .milliseconds(200), until: "the breaker opening") {
                        try await store.reader.events(EventFilter(session: session, types: [.externalBotUnavailable])).count == 1
                    }
                    #expect(await fake.accepted.isEmpty)
                    // Three failures opened the breaker; on a busy machine one can be a delivery
                    // that timed out (1 s, real time) before it reached the endpoint.
                    #expect(await fake.requests >= 1)
                    // The metrics are process-wide (other suites run beside this one), so the bot has a name of its own.
                    try await clock.advance(by: .milliseconds(200), until: "the breaker in /metrics") {
                        let metrics = String(buffer: try await client.get("/metrics").body)
                        return metrics.contains("ope_external_bot_queue_depth{bot=\"Helper\"} ")
                            && (metrics.contains("ope_external_bot_breaker_state{bot=\"Helper\"} 2")
                                || metrics.contains("ope_external_bot_breaker_state{bot=\"Helper\"} 1"))
                    }

                    await fake.set(.working)
                    try await clock.advance(by: .milliseconds(200), until: "the five echoes") {
                        await Self.received(bobRoom) { $0["type"] as? String == "bot" && $0["text"] as? String == "echo: message 5" }
                    }
                    for index in 1...5 {
                        _ = try await bobRoom.inbox.waitFor("echo \(index)") {
                            $0["type"] as? String == "bot" && $0["text"] as? String == "echo: message \(index)"
                        }
                    }
                    try await clock.advance(by: .milliseconds(200), until: "every event delivered") {
                        let expected = try await Self.deliverable(store, session).map { Int($0.id) }
                        return await fake.accepted.map(\.eventID) == expected
                    }
                    for room in [aliceRoom, bobRoom] { room.close() }
                    try await group.waitForAll()
                }
                // Leaving the room is news for the bot too.
                try await waitUntil("both departures recorded") {
                    try await store.reader.events(EventFilter(session: session, types: [.presenceLeft])).count == 2
                }
                try await clock.advance(by: .milliseconds(200), until: "the departures delivered") {
                    let expected = try await Self.deliverable(store, session).map { Int($0.id) }
                    return await fake.accepted.map(\.eventID) == expected
                }
                // Exactly once, in order, each with its idempotency key; each reply recorded once.
                let accepted = await fake.accepted
                let expected = try await Self.deliverable(store, session)
                #expect(accepted.map(\.eventID) == expected.map { Int($0.id) })
                #expect(accepted.map(\.key) == expected.map { "\(session):\($0.id)" })
                #expect(Set(accepted.map(\.key)).count == accepted.count)
                let replies = try await store.reader.events(EventFilter(session: session, types: [.botMessage])).filter { $0.actor == ExternalBotService.actor }
                #expect(replies.compactMap { $0.payload["text"]?.stringValue } == (1...5).map { "echo: message \($0)" })
                #expect(replies.allSatisfy { $0.payload["name"]?.stringValue == "Helper" })
                let recovered = try await store.reader.events(EventFilter(session: session, types: [.externalBotRecovered]))
                #expect(recovered.count == 1)
            }
        }
    }

    @Test func garbageIsGivenUpOnAndRecordedAndAHangingBotNeverHoldsTheChat() async throws {
        try await Self.withAliceInTheRoom(bot: .garbageForChat, name: "Grumpy") { fake, room, clock, store, session in
            try room.send(["type": "chat", "text": "first", "clientId": "g1"])
            @Sendable func gaveUpEvent(_ message: [String: Any]) -> Bool {
                ((message["event"] as? [String: Any])?["type"] as? String) == "external_bot.gave_up"
            }
            try await clock.advance(by: .milliseconds(200), until: "the give-up event") { await Self.received(room, gaveUpEvent) }
            let gaveUp = try await room.inbox.waitFor("the give-up event", where: gaveUpEvent)
            let payload = try #require((gaveUp["event"] as? [String: Any])?["payload"] as? [String: Any])
            #expect((payload["reason"] as? String)?.contains("not a JSON object") == true, "\(payload)")
            #expect(payload["attempts"] as? Int == 5)
            // The queue moves on past the refused event.
            await fake.set(.working)
            try room.send(["type": "chat", "text": "second", "clientId": "g2"])
            try await clock.advance(by: .milliseconds(200), until: "echo of the next message") {
                await Self.received(room) { $0["text"] as? String == "echo: second" }
            }

            // Now it hangs: every call times out (in real time: the HTTP client's limit), the
            // breaker opens, and every chat message is still acknowledged.
            await fake.set(.hanging)
            var hangBegan = 0
            for index in 1...3 {
                try room.send(["type": "chat", "text": "during the hang \(index)", "clientId": "h\(index)"])
                let ack = try await room.inbox.waitFor("ack") { $0["clientId"] as? String == "h\(index)" && $0["type"] as? String == "ack" }
                if index == 1 { hangBegan = ack["id"] as? Int ?? 0 }
            }
            // The hang is reported (the outage during the garbage was over when "second" went through).
            try await clock.advance(by: .milliseconds(200), until: "the unavailable event of the hang") { [hangBegan] in
                await Self.received(room) {
                    guard let event = $0["event"] as? [String: Any] else { return false }
                    return event["type"] as? String == "external_bot.unavailable" && (event["id"] as? Int ?? 0) > hangBegan
                }
            }
            let chats = try await store.reader.events(EventFilter(session: session, types: [.chatMessage]))
            #expect(chats.count == 5, "every chat message was recorded while the bot misbehaved")
        }
    }

    /// An answer that comes after the timeout: the delivery is tried again with the same
    /// idempotency key, the endpoint answers it as it did, and the reply is recorded once.
    @Test func aLateAnswerIsDeliveredAgainAndItsReplyRecordedOnce() async throws {
        try await Self.withAliceInTheRoom(bot: .slowForChat, name: "Slowpoke") { fake, room, clock, store, session in
            try room.send(["type": "chat", "text": "are you there", "clientId": "s1"])
            try await clock.advance(by: .milliseconds(200), until: "the echo") {
                await Self.received(room) { $0["type"] as? String == "bot" && $0["text"] as? String == "echo: are you there" }
            }
            #expect(await fake.redeliveries >= 1, "the late answer was not waited for: the delivery was tried again")
            #expect(await fake.accepted.filter { $0.type == "chat.message" }.count == 1)
            let replies = try await store.reader.events(EventFilter(session: session, types: [.botMessage])).filter { $0.actor == ExternalBotService.actor }
            #expect(replies.compactMap { $0.payload["text"]?.stringValue } == ["echo: are you there"])
        }
    }

    @Test func aChatCompletionsPersonaAnswersWhenAddressedWithRecentChatAsContext() async throws {
        @Sendable func persona(webhook url: String, name: String) throws -> String {
            try Self.module(
                assistant: """
                      name: \(name)
                      chatCompletions:
                        url: \(url.replacingOccurrences(of: "/hook", with: "/v1/chat/completions"))
                        model: tiny-model
                        systemPrompt: You are Sage, a patient research assistant.
                        context: 3
                        apiKeyEnv: PATH

                    """
            )
        }
        try await Self.withAliceInTheRoom(bot: .working, name: "Sage", module: persona) { fake, room, clock, _, _ in
            for (index, text) in ["first", "second", "third", "sage, what does Counter do?"].enumerated() {
                try room.send(["type": "chat", "text": text, "clientId": "c\(index)"])
                _ = try await room.inbox.waitFor("ack") { $0["clientId"] as? String == "c\(index)" && $0["type"] as? String == "ack" }
            }
            try await clock.advance(by: .milliseconds(200), until: "Sage's answer") {
                await Self.received(room) { $0["type"] as? String == "bot" && $0["from"] as? String == "Sage" }
            }
            let answer = try await room.inbox.waitFor("Sage's answer") { $0["type"] as? String == "bot" && $0["from"] as? String == "Sage" }
            #expect(answer["text"] as? String == "You asked: alice: sage, what does Counter do?")
            let calls = await fake.completions.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(calls.count == 1, "only the message that names Sage is answered")
            let call = try #require(calls.first)
            #expect(call["model"] as? String == "tiny-model")
            #expect((call["authorization"] as? String)?.hasPrefix("Bearer /") == true, "the key comes from the named variable")
            let messages = try #require(call["messages"] as? [[String: Any]])
            #expect(messages.map { $0["role"] as? String } == ["system", "user", "user", "user"])
            #expect(messages.first?["content"] as? String == "You are Sage, a patient research assistant.")
            #expect(messages.dropFirst().map { $0["content"] as? String } == ["alice: second", "alice: third", "alice: sage, what does Counter do?"])
        }
    }
}
