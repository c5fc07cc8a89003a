/// A request the API server refused, with its `Status` object's reason (`NotFound`, `Conflict`,
/// `AlreadyExists`, `Expired`, `TooManyRequests`, …) and message.
public struct KubeAPIError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    public var reason: String
    public var message: String
    /// From `Retry-After`, if the server said when to try again.
    public var retryAfterSeconds: Int?

    public init(code: Int, reason: String, message: String, retryAfterSeconds: Int? = nil) {
        self.code = code
        self.reason = reason
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var isNotFound: Bool { code == 404 }
    public var isConflict: Bool { code == 409 && reason != "AlreadyExists" }
    public var isAlreadyExists: Bool { code == 409 && reason == "AlreadyExists" }
    /// 410 Gone: the resource version asked for is older than the server's history.
    public var isExpired: Bool { code == 410 }
    /// Worth trying again after a pause: 429, 500, 502, 503, 504.
    public var isRetryable: Bool { [429, 500, 502, 503, 504].contains(code) }

    public var description: String { "\(code) \(reason): \(message)" }

    /// The `Status` body, as the server sends it.
    struct Status: Decodable {
        var code: Int?
        var reason: String?
        var message: String?
    }
}

/// A watch event or response the client could not make sense of.
public struct KubeClientError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
