import Foundation
import GRDB
import OPECore

/// How events are turned into rows and back, and into export lines.
enum EventCoding {
    static func payloadJSON(_ payload: [String: JSONValue]) throws -> String {
        JSONValue.jsonText(object: payload)
    }

    static func event(row: Row) throws -> Event {
        let payloadText: String = row["payload"]
        let payload = try JSONDecoder().decode([String: JSONValue].self, from: Data(payloadText.utf8))
        return Event(
            id: row["id"], time: Date(timeIntervalSince1970: row["time"]), type: EventType(rawValue: row["type"]),
            actor: row["actor"], session: row["session"], payload: payload
        )
    }
}
