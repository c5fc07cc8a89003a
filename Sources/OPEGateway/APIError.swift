import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OPERuntime

/// An error answered to the client as `{"error": "..."}` with a 4xx (or, never on purpose, 5xx) status.
public struct APIError: HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(status.code) \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.cacheControl] = "no-store"
        let body = (try? JSONEncoder().encode(["error": message])) ?? Data("{\"error\":\"error\"}".utf8)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension APIError {
    /// A runtime refusal as HTTP: the one place its kinds become statuses (busy: 429 with `Retry-After`).
    init(_ error: RuntimeError) {
        switch error.kind {
        case .invalid: self.init(.badRequest, error.message)
        case .notFound: self.init(.notFound, error.message)
        case .conflict: self.init(.conflict, error.message)
        case .busy(let seconds): self.init(.tooManyRequests, error.message, headers: [.retryAfter: "\(seconds)"])
        case .unavailable(let seconds): self.init(.serviceUnavailable, error.message, headers: [.retryAfter: "\(seconds)"])
        }
    }
}
