import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import OPECore

/// A Kubernetes API client on AsyncHTTPClient, generic over the resource (``KubeResource``):
/// get, list (selectors, pages), watch, create, replace (with its resourceVersion as the
/// precondition), merge patch, `/status` writes and delete.
///
/// Requests the server cannot take now (429, 5xx, a broken connection) are retried by the
/// ``RetryPolicy`` when that is safe: reads always, writes only on 429 (the server did nothing).
public struct KubeClient: Sendable {
    public let connection: ClusterConnection
    public var retry: RetryPolicy
    let http: HTTPClient
    let ownsHTTPClient: Bool
    let logger: Logger

    /// - Parameter httpClient: a client to share; by default the Kubernetes client makes its own
    ///   (with the cluster's TLS configuration), which ``shutdown()`` ends.
    public init(
        connection: ClusterConnection, httpClient: HTTPClient? = nil, retry: RetryPolicy = RetryPolicy(), logger: Logger = Logger(label: "ope.kube.client")
    ) throws {
        self.connection = connection
        self.retry = retry
        self.logger = logger
        if let httpClient {
            http = httpClient
            ownsHTTPClient = false
        } else {
            var configuration = HTTPClient.Configuration()
            configuration.tlsConfiguration = try connection.tlsConfiguration()
            // Watches stay open for as long as the server keeps them; everything else is quick.
            configuration.timeout = .init(connect: .seconds(10), read: nil)
            // Each watch holds an HTTP/1 connection for as long as it is open (an operator keeps
            // one per kind, a gateway a few more), and requests must not queue behind them.
            configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
            http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            ownsHTTPClient = true
        }
    }

    public func shutdown() async throws {
        if ownsHTTPClient { try await http.shutdown() }
    }

    // MARK: Reads

    public func get<R: KubeResource>(_ type: R.Type, name: String, namespace: String? = nil) async throws -> R {
        let path = R.resource.path(namespace: resolved(namespace, R.self), name: name)
        return try Self.decoder.decode(R.self, from: try await send(.GET, path))
    }

    /// One page of a list; pass the page's `metadata.continue` back for the next.
    public func list<R: KubeResource>(
        _ type: R.Type, namespace: String? = nil, labelSelector: String? = nil, fieldSelector: String? = nil, limit: Int? = nil, continue token: String? = nil
    ) async throws -> ObjectList<R> {
        var query: [(String, String)] = []
        if let labelSelector { query.append(("labelSelector", labelSelector)) }
        if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
        if let limit { query.append(("limit", String(limit))) }
        if let token { query.append(("continue", token)) }
        let path = R.resource.path(namespace: resolved(namespace, R.self, all: true))
        return try Self.decoder.decode(ObjectList<R>.self, from: try await send(.GET, path, query: query))
    }

    /// Every matching object, fetched `pageSize` at a time, and the list's resource version (to watch from).
    public func listAll<R: KubeResource>(
        _ type: R.Type, namespace: String? = nil, labelSelector: String? = nil, fieldSelector: String? = nil, pageSize: Int = 500
    ) async throws -> (items: [R], resourceVersion: String) {
        var items: [R] = []
        var token: String?
        repeat {
            let page = try await list(
                R.self, namespace: namespace, labelSelector: labelSelector, fieldSelector: fieldSelector, limit: pageSize, continue: token)
            items += page.items
            token = page.metadata.continue.flatMap { $0.isEmpty ? nil : $0 }
            if token == nil { return (items, page.metadata.resourceVersion ?? "") }
        } while true
    }

    // MARK: Writes

    public func create<R: KubeResource>(_ object: R) async throws -> R {
        let path = R.resource.path(namespace: resolved(object.metadata.namespace, R.self))
        return try Self.decoder.decode(R.self, from: try await send(.POST, path, body: try Self.encoder.encode(object)))
    }

    /// Replaces the object; it must carry the `resourceVersion` it was read at, and if anyone wrote
    /// since, the server answers 409 Conflict (``KubeAPIError/isConflict``) and nothing changes.
    public func replace<R: KubeResource>(_ object: R) async throws -> R {
        try await put(object, subresource: nil)
    }

    /// Replaces the object's status only (the `/status` subresource), under the same precondition.
    public func replaceStatus<R: KubeResource>(_ object: R) async throws -> R {
        try await put(object, subresource: "status")
    }

    private func put<R: KubeResource>(_ object: R, subresource: String?) async throws -> R {
        guard let version = object.metadata.resourceVersion, !version.isEmpty else {
            throw KubeClientError("replace needs the resourceVersion the object was read at (use update(_:name:namespace:_:), which reads it)")
        }
        let path = R.resource.path(namespace: resolved(object.metadata.namespace, R.self), name: object.name, subresource: subresource)
        return try Self.decoder.decode(R.self, from: try await send(.PUT, path, body: try Self.encoder.encode(object)))
    }

    /// A JSON merge patch (RFC 7386): `null` removes a field. Put `metadata.resourceVersion` in it for a precondition.
    public func patch<R: KubeResource>(_ type: R.Type, name: String, namespace: String? = nil, merge patch: JSONValue, status: Bool = false) async throws -> R {
        let path = R.resource.path(namespace: resolved(namespace, R.self), name: name, subresource: status ? "status" : nil)
        let data = try await send(.PATCH, path, body: try JSONEncoder().encode(patch), contentType: "application/merge-patch+json")
        return try Self.decoder.decode(R.self, from: data)
    }

    /// Deletes the object (with finalizers, the server only marks it); `resourceVersion` and `uid` are preconditions.
    public func delete<R: KubeResource>(_ type: R.Type, name: String, namespace: String? = nil, resourceVersion: String? = nil, uid: String? = nil) async throws
    {
        let path = R.resource.path(namespace: resolved(namespace, R.self), name: name)
        var preconditions: [String: JSONValue] = [:]
        if let resourceVersion { preconditions["resourceVersion"] = .string(resourceVersion) }
        if let uid { preconditions["uid"] = .string(uid) }
        let body: JSONValue = ["kind": "DeleteOptions", "apiVersion": "v1", "preconditions": .object(preconditions)]
        _ = try await send(.DELETE, path, body: try JSONEncoder().encode(body))
    }

    // MARK: Transport

    func resolved<R: KubeResource>(_ namespace: String?, _ type: R.Type, all: Bool = false) -> String? {
        guard R.resource.namespaced else { return nil }
        if let namespace { return namespace.isEmpty && all ? nil : namespace }
        return connection.namespace
    }

    func request(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: Data? = nil, contentType: String = "application/json")
        -> HTTPClientRequest
    {
        var components = URLComponents()
        components.queryItems = query.isEmpty ? nil : query.map { URLQueryItem(name: $0.0, value: $0.1) }
        // '+' would read as a space on the server, as in Go's url.Values.
        let queryText = components.percentEncodedQuery.map { "?" + $0.replacingOccurrences(of: "+", with: "%2B") } ?? ""
        var request = HTTPClientRequest(url: connection.server + path + queryText)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "ope-kube-client")
        if let token = connection.currentToken() { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(data: body))
        }
        return request
    }

    /// Sends a request, retrying what the policy allows, and returns the body of a 2xx answer.
    func send(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: Data? = nil, contentType: String = "application/json") async throws
        -> Data
    {
        var attempt = 1
        while true {
            do {
                let response = try await http.execute(request(method, path, query: query, body: body, contentType: contentType), timeout: .seconds(60))
                let data = Data((try await response.body.collect(upTo: 256 << 20)).readableBytesView)
                guard (200..<300).contains(response.status.code) else { throw Self.error(response.status.code, data, response.headers) }
                return data
            } catch let error as KubeAPIError where error.isRetryable && attempt < retry.maxAttempts && (method == .GET || error.code == 429) {
                let delay = retry.delay(afterAttempt: attempt, retryAfterSeconds: error.retryAfterSeconds)
                logger.debug("retrying", metadata: ["path": "\(path)", "code": "\(error.code)", "delay": "\(delay)"])
                try await Task.sleep(for: delay)
            } catch
                where method == .GET && attempt < retry.maxAttempts && !(error is KubeAPIError) && !(error is CancellationError) && !(error is DecodingError)
            {
                let delay = retry.delay(afterAttempt: attempt, retryAfterSeconds: nil)
                logger.debug("retrying after a transport error", metadata: ["path": "\(path)", "error": "\(error)"])
                try await Task.sleep(for: delay)
            }
            attempt += 1
        }
    }

    static func error(_ code: UInt, _ data: Data, _ headers: HTTPHeaders) -> KubeAPIError {
        let status = try? JSONDecoder().decode(KubeAPIError.Status.self, from: data)
        return KubeAPIError(
            code: status?.code ?? Int(code), reason: status?.reason ?? "Unknown",
            message: status?.message ?? String(decoding: data.prefix(500), as: UTF8.self),
            retryAfterSeconds: headers.first(name: "Retry-After").flatMap(Int.init))
    }

    // MARK: Coding

    /// Timestamps as the API writes them: RFC 3339, with microseconds (which `Time` and `MicroTime` both accept).
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamps.format(date))
        }
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = Timestamps.parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an RFC 3339 time: \(text)")
            }
            return date
        }
        return decoder
    }()
}

/// RFC 3339 times as Kubernetes writes them (with or without fractional seconds). Format styles,
/// not `ISO8601DateFormatter`, which is not safe to use from several threads at once.
enum Timestamps {
    /// With microseconds, as `MicroTime` expects (`Time` accepts them too).
    static func format(_ date: Date) -> String {
        let whole = date.timeIntervalSince1970.rounded(.down)
        let micros = min(999_999, Int(((date.timeIntervalSince1970 - whole) * 1_000_000).rounded()))
        let seconds = Date(timeIntervalSince1970: whole).formatted(.iso8601)  // …T12:00:00Z
        return seconds.dropLast() + String(format: ".%06dZ", micros)
    }

    static func parse(_ text: String) -> Date? {
        // The fraction (any number of digits) is read apart; the rest is plain RFC 3339.
        guard let dot = text.firstIndex(of: ".") else { return try? Date(text, strategy: .iso8601) }
        let digits = text[text.index(after: dot)...].prefix { $0.isNumber }
        guard !digits.isEmpty, let fraction = Double("0." + digits) else { return nil }
        let rest = String(text[..<dot]) + String(text[text.index(after: dot)...].dropFirst(digits.count))
        return (try? Date(rest, strategy: .iso8601)).map { $0.addingTimeInterval(fraction) }
    }
}
