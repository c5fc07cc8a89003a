import HTTPTypes
import OPECore

/// A failed request as the API server reports it: an HTTP status and a `Status` object whose
/// `reason` clients act on (`NotFound`, `AlreadyExists`, `Conflict`, `Expired`, …).
struct StatusError: Error, Sendable {
    var code: Int
    var reason: String
    var message: String
    var details: JSONObject?
    /// Seconds the client should wait before retrying (429, 500 answers from the fault hooks).
    var retryAfter: Int?

    /// The `Status` object sent as the body (and in a watch's ERROR event).
    var status: JSONValue {
        var object: JSONObject = [
            "kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure",
            "message": .string(message), "reason": .string(reason), "code": .number(Double(code)),
        ]
        if let details { object["details"] = .object(details) }
        return .object(object)
    }

    static func notFound(_ resource: ResourceType, _ name: String) -> StatusError {
        StatusError(
            code: 404, reason: "NotFound", message: "\(resource.qualifiedName) \"\(name)\" not found",
            details: ["name": .string(name), "group": .string(resource.group), "kind": .string(resource.plural)])
    }

    static func alreadyExists(_ resource: ResourceType, _ name: String) -> StatusError {
        StatusError(
            code: 409, reason: "AlreadyExists", message: "\(resource.qualifiedName) \"\(name)\" already exists",
            details: ["name": .string(name), "group": .string(resource.group), "kind": .string(resource.plural)])
    }

    static func conflict(_ resource: ResourceType, _ name: String) -> StatusError {
        StatusError(
            code: 409, reason: "Conflict",
            message:
                "Operation cannot be fulfilled on \(resource.qualifiedName) \"\(name)\": the object has been modified; please apply your changes to the latest version and try again",
            details: ["name": .string(name), "group": .string(resource.group), "kind": .string(resource.plural)])
    }

    static func badRequest(_ message: String) -> StatusError { StatusError(code: 400, reason: "BadRequest", message: message) }

    static func invalid(_ resource: ResourceType, _ name: String, _ message: String) -> StatusError {
        StatusError(
            code: 422, reason: "Invalid", message: "\(resource.kind) \"\(name)\" is invalid: \(message)",
            details: ["name": .string(name), "group": .string(resource.group), "kind": .string(resource.kind)])
    }

    static func expired(_ message: String) -> StatusError { StatusError(code: 410, reason: "Expired", message: message) }

    static let noSuchResource = StatusError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")

    static func methodNotAllowed(_ method: String) -> StatusError {
        StatusError(code: 405, reason: "MethodNotAllowed", message: "the server does not allow this method on the requested resource (\(method))")
    }
}
