import Foundation
import GRDB
import OPECore

/// How events are turned into rows and back, and into export lines.
enum EventCoding {
    /// An event ready to be written: its payload is already JSON text, made on the appending
    /// caller's thread so that the committer only binds and steps.
    struct Encoded: Sendable {
        var draft: EventDraft
        var payload: String

        init(_ draft: EventDraft) throws {
            self.draft = draft
            payload = try EventCoding.payloadJSON(draft.payload)
        }
    }

    static func payloadJSON(_ payload: [String: JSONValue]) throws -> String {
        JSONValue.jsonText(object: payload)
    }

    static func event(row: Row) throws -> Event {
        let payloadText: String = row["payload"]
        let payload = try JSONValue.parseObject(payloadText)
        return Event(
            id: row["id"], time: Date(timeIntervalSince1970: row["time"]), type: EventType(rawValue: row["type"]),
            actor: row["actor"], session: row["session"], payload: payload
        )
    }
}
