import Foundation

/// The typed payload of one or more kinds of event.
///
/// Writers hand one to ``EventDraft``'s `init(time:type:actor:session:payload:)` and readers get
/// it back with ``Event/decode(_:)``: both go through the one codec here, so a
/// payload's keys are spelled once, as the type's property names (its `CodingKeys`). In the log and
/// in exports the payload stays the JSON object it always was: optionals that are nil are left out,
/// numbers are JSON numbers.
///
/// Fields that older versions of OPE did not write, or that some writers leave out, are optional,
/// so events already in a log keep reading.
public protocol EventPayload: Codable, Sendable, Hashable {
    /// The kinds of event written with this payload; ``Event/decode(_:)`` reads no other.
    static var eventTypes: [EventType] { get }
}

extension EventDraft {
    /// A draft of a `type` event carrying `payload`, encoded as the log stores it.
    ///
    /// `type` must be one of the payload's ``EventPayload/eventTypes``. Encoding a payload cannot
    /// fail short of a bug in its type (payloads are plain values with synthesized `Codable`), so
    /// a failure stops the program rather than writing an event that says something else.
    public init(time: Date = Date(), type: EventType, actor: String? = nil, session: String? = nil, payload: some EventPayload) {
        assert(Swift.type(of: payload).eventTypes.contains(type), "\(Swift.type(of: payload)) is not a payload of \(type)")
        self.init(time: time, type: type, actor: actor, session: session, payload: payload.fields)
    }
}

extension EventPayload {
    /// The payload as the log stores it: a JSON object's fields.
    public var fields: [String: JSONValue] {
        do {
            guard case .object(let fields) = try JSONValueEncoder().encode(self) else {
                preconditionFailure("\(Self.self) does not encode as a JSON object")
            }
            return fields
        } catch {
            preconditionFailure("\(Self.self) could not be encoded: \(error)")
        }
    }
}

extension Event {
    /// The payload as a `P`; nil when the event is of a kind `P` is not written with, or when its
    /// payload does not read as one (an event written by other code than OPE's own writers).
    public func decode<P: EventPayload>(_ type: P.Type) -> P? {
        guard P.eventTypes.contains(self.type) else { return nil }
        return try? JSONValueDecoder().decode(P.self, from: .object(payload))
    }
}
