import Foundation
import OPECore
import OPEStore
import Testing

@Suite struct EventExporterTests {
    func export(_ format: EventExporter.Format, _ store: Store, _ filter: EventFilter = EventFilter()) async throws -> String {
        var text = ""
        try await EventExporter(format: format).export(from: store.reader, filter: filter) { text += $0 }
        return text
    }

    @Test func jsonLinesRoundTrip() async throws {
        let test = try TestStore()
        defer { test.remove() }
        let payload: [String: JSONValue] = ["text": "hi, \"team\"\nsecond line", "n": 3, "ok": true, "list": [1, "a"]]
        let appended = try await test.store.events.append(EventDraft(type: .chatMessage, actor: "alice", session: "s1", payload: payload))
        _ = try await test.store.events.append(EventDraft(type: .userSignedIn, actor: "bob"))
        let lines = try await export(.jsonl, test.store).split(separator: "\n")
        #expect(lines.count == 2)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(first?["id"] as? Int == Int(appended.id))
        #expect(first?["type"] as? String == "chat.message")
        #expect(first?["actor"] as? String == "alice")
        #expect(first?["session"] as? String == "s1")
        let decoded = try JSONDecoder().decode([String: JSONValue].self, from: JSONSerialization.data(withJSONObject: first?["payload"] as Any))
        #expect(decoded == payload)
        let time = try #require(first?["time"] as? String)
        #expect(TimeParsing.parse(time).map { abs($0.timeIntervalSince(appended.time)) < 0.001 } == true)
    }

    @Test func csvQuotesWhatNeedsQuoting() async throws {
        let test = try TestStore()
        defer { test.remove() }
        _ = try await test.store.events.append(EventDraft(type: .chatMessage, actor: "alice", session: "s1", payload: ["text": "a, \"b\"\nc"]))
        let text = try await export(.csv, test.store)
        let lines = text.components(separatedBy: "\r\n")
        #expect(lines[0] == "id,time,type,actor,session,payload")
        #expect(lines[1].hasPrefix("1,"))
        #expect(text.contains(#""{""text"":""a, \""b\""\nc""}""#))
    }

    @Test func exportFollowsTheFilterAndPagesThroughLargeLogs() async throws {
        let test = try TestStore()
        defer { test.remove() }
        var drafts: [EventDraft] = []
        for index in 0..<4500 { drafts.append(EventDraft(type: .chatMessage, session: index % 3 == 0 ? "a" : "b")) }
        _ = try await test.store.events.append(contentsOf: drafts)
        let all = try await export(.jsonl, test.store)
        #expect(all.split(separator: "\n").count == 4500)
        let onlyA = try await export(.jsonl, test.store, EventFilter(session: "a"))
        #expect(onlyA.split(separator: "\n").count == 1500)
    }
}
