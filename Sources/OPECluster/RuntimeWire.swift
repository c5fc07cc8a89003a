import Foundation
import GRPCCore
import OPECore
import OPERuntime
import OPEStore

/// The runtime's refusals (GRPCCore has a `RuntimeError` of its own).
typealias RuntimeError = OPERuntime.RuntimeError

/// How runtime values cross the wire between an edge and a core: events typed, the platform's
/// rich values as the JSON their Swift types write, and refusals as a status code plus the
/// refusal itself, so the edge re-throws the very error the core threw.
enum RuntimeWire {
    /// Metadata key of a refusal's JSON (``Refusal``).
    static let errorKey = "ope-error"

    static func encode<Value: Encodable>(_ value: Value) throws -> Ope_Runtime_V1_Json {
        var message = Ope_Runtime_V1_Json()
        message.json = try encoder.encode(value)
        return message
    }

    /// An optional value: nil travels as an empty message.
    static func encodeOptional<Value: Encodable>(_ value: Value?) throws -> Ope_Runtime_V1_Json {
        guard let value else { return Ope_Runtime_V1_Json() }
        return try encode(value)
    }

    static func decode<Value: Decodable>(_ type: Value.Type, _ message: Ope_Runtime_V1_Json) throws -> Value {
        do {
            return try decoder.decode(type, from: message.json)
        } catch {
            throw RuntimeError(
                .unavailable(retryAfterSeconds: 5), "a core's answer could not be read as \(Value.self): \(error); edges and cores may run different versions")
        }
    }

    static func decodeOptional<Value: Decodable>(_ type: Value.Type, _ message: Ope_Runtime_V1_Json) throws -> Value? {
        message.json.isEmpty ? nil : try decode(type, message)
    }

    // Dates as seconds since 1970 with their fraction, the same instant on both sides.
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        return encoder
    }()
    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return decoder
    }()

    // MARK: Events

    static func message(_ event: Event) -> Ope_Runtime_V1_Event {
        var message = Ope_Runtime_V1_Event()
        message.id = event.id
        message.time = event.time.timeIntervalSince1970
        message.type = event.type.rawValue
        if let actor = event.actor { message.actor = actor }
        if let session = event.session { message.session = session }
        message.payload = Data(JSONValue.jsonText(object: event.payload).utf8)
        return message
    }

    static func batch(_ events: [Event]) -> Ope_Runtime_V1_EventBatch {
        var batch = Ope_Runtime_V1_EventBatch()
        batch.events = events.map(message)
        return batch
    }

    static func event(_ message: Ope_Runtime_V1_Event) throws -> Event {
        let payload: [String: JSONValue]
        do {
            payload = try message.payload.withUnsafeBytes { bytes throws(JSONValue.ParseError) in try JSONValue.parseObject(bytes) }
        } catch {
            throw RuntimeError(.unavailable(retryAfterSeconds: 5), "event \(message.id)'s payload from a core is not a JSON object: \(error)")
        }
        return Event(
            id: message.id, time: Date(timeIntervalSince1970: message.time), type: EventType(rawValue: message.type),
            actor: message.hasActor ? message.actor : nil, session: message.hasSession ? message.session : nil, payload: payload
        )
    }

    static func events(_ batch: Ope_Runtime_V1_EventBatch) throws -> [Event] {
        try batch.events.map(event)
    }

    /// An event still to be appended, as the Event message (with no id).
    static func encodeDraft(_ draft: EventDraft) -> Ope_Runtime_V1_Event {
        message(draft.committed(id: 0))
    }

    static func decodeDraft(_ message: Ope_Runtime_V1_Event) throws -> EventDraft {
        let event = try event(message)
        return EventDraft(time: event.time, type: event.type, actor: event.actor, session: event.session, payload: event.payload)
    }

    // MARK: Refusals

    /// A refusal the runtime or the account directory can throw, as it crosses the wire.
    enum Refusal: Codable {
        case runtime(RuntimeError)
        case join(SessionManager.JoinError)
        case leave(SessionManager.LeaveError)
        /// The directory's refusals (`accounts.proto`), which the gateway answers 4xx.
        case account(UserStoreError)
        case username(UsernameError)

        init?(_ error: any Error) {
            switch error {
            case let error as RuntimeError: self = .runtime(error)
            case let error as SessionManager.JoinError: self = .join(error)
            case let error as SessionManager.LeaveError: self = .leave(error)
            case let error as UserStoreError: self = .account(error)
            case let error as UsernameError: self = .username(error)
            default: return nil
            }
        }

        var error: any Error {
            switch self {
            case .runtime(let error): error
            case .join(let error): error
            case .leave(let error): error
            case .account(let error): error
            case .username(let error): error
            }
        }

        var code: RPCError.Code {
            switch self {
            case .runtime(let error):
                switch error.kind {
                case .invalid: .invalidArgument
                case .notFound: .notFound
                case .conflict: .failedPrecondition
                case .busy: .resourceExhausted
                case .unavailable: .unavailable
                }
            case .join(.lobby(.unknownModule)): .notFound
            case .join: .failedPrecondition
            case .leave(.unknownSession): .notFound
            case .leave: .failedPrecondition
            case .account(.exists): .alreadyExists
            case .account(.invalid), .username: .invalidArgument
            case .account(.notFound): .notFound
            case .account(.lastAdmin): .failedPrecondition
            }
        }
    }

    /// What a core answers for an error of the runtime: the refusal in its metadata, anything
    /// else as an internal error without its details (they are in the core's log).
    static func rpcError(_ error: any Error) -> RPCError {
        if let error = error as? RPCError { return error }
        guard let refusal = Refusal(error), let json = try? JSONEncoder().encode(refusal) else {
            return RPCError(code: .internalError, message: "the core could not carry out the request; its log says why")
        }
        var metadata = Metadata()
        metadata.addString(String(decoding: json, as: UTF8.self), forKey: errorKey)
        return RPCError(code: refusal.code, message: "\(error)", metadata: metadata)
    }

    /// A refusal as a room stream's chat answer carries it (the JSON of a unary call's `ope-error`);
    /// anything else becomes "not saved, try again" without its details (they are in the core's log).
    static func refusalJSON(_ error: any Error) -> Data {
        let refusal =
            Refusal(error)
            ?? .runtime(RuntimeError(.unavailable(retryAfterSeconds: 5), "the core could not carry out the request; its log says why"))
        return (try? JSONEncoder().encode(refusal)) ?? Data()
    }

    /// The error a room stream's chat refusal stands for (``refusalJSON(_:)``).
    static func refusal(_ json: Data, core: String) -> any Error {
        (try? JSONDecoder().decode(Refusal.self, from: json))?.error
            ?? RuntimeError(.unavailable(retryAfterSeconds: 5), "core \(core) refused a chat message for a reason this edge cannot read")
    }

    /// The error an edge throws for a failed call to `core`: the core's own refusal when it sent
    /// one, and otherwise a refusal that says the core cannot be reached now (503 with Retry-After
    /// at the HTTP edge), so one core down never looks like a bug of the platform.
    static func error(_ error: any Error, core: String) -> any Error {
        guard let rpc = error as? RPCError else {
            if error is RuntimeError || error is CancellationError { return error }
            return RuntimeError(.unavailable(retryAfterSeconds: 5), "the core \(core) could not be reached: \(error)")
        }
        if let json = rpc.metadata[stringValues: errorKey].first(where: { _ in true }),
            let refusal = try? JSONDecoder().decode(Refusal.self, from: Data(json.utf8))
        {
            return refusal.error
        }
        switch rpc.code {
        case .unavailable, .deadlineExceeded, .cancelled, .aborted:
            return RuntimeError(
                .unavailable(retryAfterSeconds: 5), "the part of OPE that holds this (core \(core)) is not answering now; try again in a few seconds")
        case .unauthenticated, .permissionDenied:
            return RuntimeError(.unavailable(retryAfterSeconds: 30), "core \(core) refused this edge: \(rpc.message) (check --cluster-token)")
        default:
            return RuntimeError(.unavailable(retryAfterSeconds: 5), "core \(core) failed: \(rpc.message)")
        }
    }
}
