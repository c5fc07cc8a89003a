import Foundation
import OPECore
import Testing

@Suite struct EventPayloadTests {
    @Test func aTypedDraftStoresTheObjectItsWriterAlwaysWrote() {
        let typed = EventDraft(
            type: .roleChanged, actor: "system", session: "s",
            payload: RolesPayload(roles: ["alice": "driver", "bob": "navigator"], reason: "rotate", rotation: 2)
        )
        #expect(typed.payload == ["roles": ["alice": "driver", "bob": "navigator"], "reason": "rotate", "rotation": 2])
        // Nil optionals are left out rather than written as null.
        let chat = EventDraft(type: .chatMessage, payload: ChatPayload(text: "hi", clientId: nil))
        #expect(chat.payload == ["text": "hi"])
        // Except where the log has always held an explicit null.
        let synced = EventDraft(
            type: .modulesSynced, payload: ModulesSyncedPayload(modules: ["m"], problems: 0, repositories: [.init(name: "r", commit: nil)])
        )
        #expect(synced.payload["repositories"] == [["name": "r", "commit": nil]])
    }

    @Test func readersGetBackWhatWritersWrote() {
        let payload = TestResultPayload(
            task: "t", passed: false, timedOut: true, exitStatus: -9, durationMs: 30004, output: "F",
            cases: [.init(name: "test_a", outcome: .failed, message: "assert 1 == 2"), .init(name: "test_b", outcome: .passed)]
        )
        let event = EventDraft(type: .testResult, payload: payload).committed(id: 1)
        #expect(event.decode(TestResultPayload.self) == payload)
        for step in [BotStepPayload.launched(plan: "p"), .stage("s"), .step(stage: "s", step: "t"), .finished] {
            #expect(EventDraft(type: .botStep, payload: step).committed(id: 1).decode(BotStepPayload.self) == step)
        }
        #expect(EventDraft(type: .botStep, payload: BotStepPayload.step(stage: "s", step: "t")).payload == ["kind": "step", "stage": "s", "step": "t"])
    }

    @Test func anEventOfAnotherKindOrShapeReadsAsNothing() {
        let chat = EventDraft(type: .chatMessage, payload: ["text": "hi"]).committed(id: 1)
        #expect(chat.decode(ChatPayload.self) == ChatPayload(text: "hi", clientId: nil))
        #expect(chat.decode(HintPayload.self) == nil, "a hint is read only from instructor.hint events")
        #expect(EventDraft(type: .chatMessage, payload: ["index": 3]).committed(id: 1).decode(ChatPayload.self) == nil)
        #expect(EventDraft(type: .testResult, payload: ["task": "t", "passed": "yes"]).committed(id: 1).decode(TestResultPayload.self) == nil)
        #expect(EventDraft(type: .sessionPhaseChanged, payload: ["phase": "sleeping"]).committed(id: 1).decode(PhaseChangedPayload.self) == nil)
    }

    @Test func wholeNumbersReadAsIntegersOnlyWhenExact() throws {
        let decoder = JSONValueDecoder()
        #expect(try decoder.decode(Int.self, from: .number(3)) == 3)
        #expect(throws: DecodingError.self) { try decoder.decode(Int.self, from: .number(3.5)) }
        #expect(throws: DecodingError.self) { try decoder.decode(UInt8.self, from: .number(300)) }
        #expect(try decoder.decode(Double.self, from: .number(3.5)) == 3.5)
        #expect(throws: DecodingError.self) { try decoder.decode(String.self, from: .number(3)) }
        #expect(throws: DecodingError.self) { try decoder.decode(Bool.self, from: .null) }
    }

    @Test func theCodecRoundTripsNestedValuesAsJSONDoes() throws {
        struct Inner: Codable, Hashable { var list: [Int?]; var map: [String: Double]; var raw: JSONValue }
        struct Outer: Codable, Hashable { var name: String; var inner: [Inner]; var flag: Bool?; var big: UInt64 }
        let value = Outer(name: "x", inner: [Inner(list: [1, nil, 3], map: ["a": 0.5], raw: ["k": [true, nil]])], flag: nil, big: 1 << 40)
        let encoded = try JSONValueEncoder().encode(value)
        let viaFoundation = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
        #expect(encoded == viaFoundation)
        #expect(try JSONValueDecoder().decode(Outer.self, from: encoded) == value)
    }
}
