import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OPECore
import Yams

/// A stand-in Kubernetes API server: Hummingbird routes over an ``ObjectStore``, speaking the
/// real protocol (discovery, lists, watches, Status errors, server-side Tables) so that kubectl,
/// the Python client and OPE's own client work against it. See `docs/kubernetes.md`.
public struct StandInServer: Sendable {
    public let store: ObjectStore
    let logger: Logger

    public init(store: ObjectStore = ObjectStore(), logger: Logger = Logger(label: "ope.kube.standin")) {
        self.store = store
        self.logger = logger
    }

    /// The application on `host:port` (port 0: a free one; `onServerRunning` learns which).
    public func buildApplication(
        host: String = "127.0.0.1", port: Int = 0, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: buildRouter(), configuration: .init(address: .hostname(host, port: port), serverName: "ope-kube-standin"),
            onServerRunning: onServerRunning, logger: logger)
    }

    public func buildRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let handler = self
        for path in ["/api", "/api/**", "/apis", "/apis/**", "/version", "/healthz", "/livez", "/readyz", "/openapi/**"] {
            for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
                router.on(RouterPath(path), method: method) { request, _ in await handler.respond(request) }
            }
        }
        return router
    }

    /// Creates every object in the YAML (or JSON) text, as `kubectl create -f` would: CRDs first.
    public func create(yaml text: String) async throws {
        let documents = try Yams.load_all(yaml: text).compactMap { $0 }
        var objects = try documents.map { document -> JSONObject in
            let data = try JSONSerialization.data(withJSONObject: document)
            guard let object = try JSONDecoder().decode(JSONValue.self, from: data).objectValue else { throw StatusError.badRequest("not an object") }
            return object
        }
        objects.sort { ($0["kind"]?.stringValue == "CustomResourceDefinition" ? 0 : 1) < ($1["kind"]?.stringValue == "CustomResourceDefinition" ? 0 : 1) }
        for object in objects {
            let apiVersion = object["apiVersion"]?.stringValue ?? ""
            let parts = apiVersion.split(separator: "/").map(String.init)
            let (group, version) = parts.count == 2 ? (parts[0], parts[1]) : ("", apiVersion)
            guard let kind = object["kind"]?.stringValue,
                let type = await store.allTypes().first(where: { $0.group == group && $0.version == version && $0.kind == kind })
            else { throw StatusError.badRequest("no resource for \(apiVersion) \(object["kind"]?.stringValue ?? "?")") }
            _ = try await store.create(type, namespace: object.namespace.isEmpty ? "default" : object.namespace, body: object)
        }
    }

    // MARK: Requests

    func respond(_ request: Request) async -> Response {
        if await store.isCrashed { return Self.cutConnection() }
        do {
            if let failure = await store.takeFailure() { throw failure }
            let response = try await route(request)
            // The write that crashed the server is stored, but its answer never arrives.
            if await store.isCrashed { return Self.cutConnection() }
            return response
        } catch let error as StatusError {
            var response = Self.json(error.status, status: .init(code: error.code))
            if let seconds = error.retryAfter { response.headers[.retryAfter] = String(seconds) }
            return response
        } catch {
            return Self.json(StatusError(code: 500, reason: "InternalError", message: "\(error)").status, status: .internalServerError)
        }
    }

    private func route(_ request: Request) async throws -> Response {
        let path = request.uri.path
        switch path {
        case "/healthz", "/livez", "/readyz": return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok")))
        case "/version":
            return Self.json([
                "major": "1", "minor": "30", "gitVersion": "v1.30.0-ope-standin", "platform": "linux/amd64", "goVersion": "none", "compiler": "swift",
                "gitCommit": "", "gitTreeState": "clean", "buildDate": "2024-01-01T00:00:00Z",
            ])
        case "/api", "/api/": return Self.json(["kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []])
        case "/apis", "/apis/": return Self.json(Discovery.groups(await store.allTypes()))
        default: break
        }
        if path.hasPrefix("/openapi") { throw StatusError.noSuchResource }
        let types = await store.allTypes()
        guard
            let apiPath = APIPath(
                path,
                isNamespaced: { group, version, plural in types.contains { $0.group == group && $0.version == version && $0.plural == plural && $0.namespaced }
                })
        else { throw StatusError.noSuchResource }
        guard let plural = apiPath.resource else {
            let served = apiPath.group.isEmpty ? apiPath.version == "v1" : types.contains { $0.group == apiPath.group && $0.version == apiPath.version }
            guard served else { throw StatusError.noSuchResource }
            return Self.json(Discovery.resources(types, group: apiPath.group, version: apiPath.version))
        }
        guard let type = types.first(where: { $0.group == apiPath.group && $0.version == apiPath.version && $0.plural == plural }) else {
            throw StatusError.noSuchResource
        }
        let query = QueryParameters(request.uri.query)
        let namespace = apiPath.namespace
        if type.namespaced == false, namespace != nil { throw StatusError.noSuchResource }
        let subresource: Subresource
        switch apiPath.subresource {
        case nil: subresource = .main
        case "status" where type.hasStatusSubresource: subresource = .status
        default: throw StatusError.noSuchResource
        }
        let table = request.headers[.accept]?.contains("as=Table") == true
        let converter = TableConverter(type: type, now: Date(), include: query["includeObject"] ?? "Metadata")

        guard let name = apiPath.name else {
            // The collection: list, watch, create.
            switch request.method {
            case .get:
                let labels = try LabelSelector(parsing: query["labelSelector"] ?? "")
                let fields = try FieldSelector(parsing: query["fieldSelector"] ?? "", resource: type)
                if query.flag("watch") {
                    return try await watch(
                        type, namespace: type.namespaced ? namespace : nil, labels: labels, fields: fields, query: query, table: table ? converter : nil)
                }
                let page = try await store.list(
                    type, namespace: type.namespaced ? namespace : nil, labels: labels, fields: fields, limit: query["limit"].flatMap(Int.init),
                    continueToken: query["continue"])
                if table { return Self.json(converter.table(page.items, resourceVersion: page.resourceVersion, continueToken: page.continueToken)) }
                var metadata: JSONObject = ["resourceVersion": .string(String(page.resourceVersion))]
                if let next = page.continueToken { metadata["continue"] = .string(next) }
                if let remaining = page.remaining { metadata["remainingItemCount"] = .number(Double(remaining)) }
                return Self.json([
                    "kind": .string(type.kind + "List"), "apiVersion": .string(type.apiVersion), "metadata": .object(metadata),
                    "items": .array(page.items.map { .object($0) }),
                ])
            case .post:
                guard let namespace = namespace ?? (type.namespaced ? nil : "") else { throw StatusError.noSuchResource }
                let created = try await store.create(type, namespace: namespace, body: try await Self.body(request))
                log("create", type, created)
                return Self.json(.object(created), status: .created)
            default:
                throw StatusError.methodNotAllowed(request.method.rawValue)
            }
        }
        let objectNamespace = namespace ?? ""
        if type.namespaced, namespace == nil { throw StatusError.noSuchResource }
        switch request.method {
        case .get:
            let object = try await store.get(type, namespace: objectNamespace, name: name)
            return table ? Self.json(converter.table([object], resourceVersion: nil)) : Self.json(.object(object))
        case .put:
            let object = try await store.replace(type, namespace: objectNamespace, name: name, body: try await Self.body(request), subresource: subresource)
            log("replace", type, object)
            return Self.json(.object(object))
        case .patch:
            let data = try await request.body.collect(upTo: 16 << 20)
            guard let patch = try? JSONDecoder().decode(JSONValue.self, from: Data(data.readableBytesView)) else {
                throw StatusError.badRequest("the patch is not valid JSON")
            }
            let object = try await store.patch(
                type, namespace: objectNamespace, name: name, contentType: request.headers[.contentType] ?? "", body: patch, subresource: subresource)
            log("patch", type, object)
            return Self.json(.object(object))
        case .delete:
            guard subresource == .main else { throw StatusError.methodNotAllowed("DELETE") }
            var preconditions = DeletePreconditions()
            let data = try await request.body.collect(upTo: 1 << 20)
            if data.readableBytes > 0, let options = try? JSONDecoder().decode(JSONValue.self, from: Data(data.readableBytesView)) {
                preconditions.uid = options["preconditions"]?["uid"]?.stringValue
                preconditions.resourceVersion = options["preconditions"]?["resourceVersion"]?.stringValue
            }
            let (object, gone) = try await store.delete(type, namespace: objectNamespace, name: name, preconditions: preconditions)
            log(gone ? "delete" : "mark for deletion", type, object)
            guard gone else { return Self.json(.object(object)) }
            return Self.json([
                "kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success",
                "details": ["name": .string(name), "group": .string(type.group), "kind": .string(type.plural), "uid": object.metadata["uid"] ?? .null],
            ])
        default:
            throw StatusError.methodNotAllowed(request.method.rawValue)
        }
    }

    /// A watch: one JSON event per line, until the timeout, a dropped watch or the client leaves.
    private func watch(
        _ type: ResourceType, namespace: String?, labels: LabelSelector, fields: FieldSelector, query: QueryParameters, table: TableConverter?
    ) async throws -> Response {
        let (stream, continuation) = AsyncStream.makeStream(of: WatchMessage.self, bufferingPolicy: .bufferingOldest(100_000))
        let opened: Result<Int, StatusError>
        do {
            opened = .success(
                try await store.watch(
                    type, namespace: namespace, labels: labels, fields: fields, from: query["resourceVersion"], bookmarks: query.flag("allowWatchBookmarks"),
                    continuation: continuation))
        } catch {
            opened = .failure(error)
        }
        var id: Int?
        switch opened {
        case .success(let watcher): id = watcher
        case .failure(let error):
            guard error.code == 410 else { throw error }
            // As the real server: the watch opens, and its one event is the ERROR.
            continuation.yield(.error(error))
            continuation.finish()
        }
        let timeout = query["timeoutSeconds"].flatMap(Int.init).map { Duration.seconds(max(1, $0)) } ?? .seconds(1800)
        let store = self.store
        let watcherID = id
        let body = ResponseBody { writer in
            try await withThrowingTaskGroup(of: Void.self) { group in
                if let id = watcherID {
                    group.addTask {
                        // Ends the watch at its timeout; bookmarks every minute meanwhile.
                        let deadline = ContinuousClock.now + timeout
                        while ContinuousClock.now < deadline {
                            try await Task.sleep(until: min(deadline, ContinuousClock.now + .seconds(60)))
                            await store.bookmark(id)
                        }
                        await store.endWatch(id)
                    }
                }
                for await message in stream {
                    let line: JSONValue
                    switch message {
                    case .event(let kind, let object):
                        line = ["type": .string(kind), "object": table.map { $0.table([object], resourceVersion: nil) } ?? .object(object)]
                    case .bookmark(let revision):
                        line = [
                            "type": "BOOKMARK",
                            "object": [
                                "kind": .string(type.kind), "apiVersion": .string(type.apiVersion), "metadata": ["resourceVersion": .string(String(revision))],
                            ],
                        ]
                    case .error(let error):
                        line = ["type": "ERROR", "object": error.status]
                    }
                    var buffer = ByteBuffer(bytes: try JSONEncoder().encode(line))
                    buffer.writeString("\n")
                    try await writer.write(buffer)
                }
                group.cancelAll()
                if let id = watcherID { await store.endWatch(id) }
            }
            try await writer.finish(nil)
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-cache, private"
        return Response(status: .ok, headers: headers, body: body)
    }

    private func log(_ verb: String, _ type: ResourceType, _ object: JSONObject) {
        logger.debug(
            "\(verb) \(type.qualifiedName)",
            metadata: ["namespace": .string(object.namespace), "name": .string(object.name), "resourceVersion": .string(object.resourceVersion ?? "")])
    }

    static func body(_ request: Request) async throws -> JSONObject {
        let data = try await request.body.collect(upTo: 16 << 20)
        guard let object = try? JSONDecoder().decode(JSONValue.self, from: Data(data.readableBytesView)).objectValue else {
            throw StatusError.badRequest("the request body is not a JSON object")
        }
        return object
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONEncoder().encode(value)) ?? Data("{}".utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A response whose connection breaks before its body: what a client sees of a server that crashed.
    static func cutConnection() -> Response {
        Response(status: .ok, body: ResponseBody { _ in throw CutConnection() })
    }

    struct CutConnection: Error {}
}
