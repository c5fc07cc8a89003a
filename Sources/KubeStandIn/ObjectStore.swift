import Foundation
import OPECore

/// Everything the stand-in API server holds, in one actor: the objects of every resource type,
/// one global resource version, the change history watches and list pages are served from, the
/// open watches, and the fault hooks tests set.
///
/// Writes follow the real server's rules (see `docs/kubernetes.md`): a write bumps the global
/// `resourceVersion`; `generation` counts spec changes; the `/status` subresource and the main
/// resource each ignore the other's part; a stale `resourceVersion` is a 409; an object with
/// finalizers is only marked for deletion; owned objects go with their owner.
public actor ObjectStore {
    /// Where the history starts: a watch or a continue token older than this gets 410 Expired.
    public internal(set) var compactedThrough = 0
    /// The global resource version: the number of the last write.
    public internal(set) var revision = 0
    /// Writes committed since start (creates, updates, patches, deletes), for tests that count them.
    public internal(set) var writes = 0

    var types: [ResourceType] = ResourceType.builtIn
    var objects: [String: [ObjectKey: JSONObject]] = [:]
    var history: [Change] = []
    let historyLimit: Int
    var watchers: [Int: Watcher] = [:]
    var nextWatcher = 0
    let now: @Sendable () -> Date
    var faults = Faults()
    var servicesCreated = 0

    /// - Parameters:
    ///   - historyLimit: how many changes are kept for watches and list pages; older ones are compacted away.
    ///   - now: the clock for `creationTimestamp`, `deletionTimestamp` and ages.
    public init(historyLimit: Int = 10_000, now: @escaping @Sendable () -> Date = { Date() }) {
        self.historyLimit = historyLimit
        self.now = now
        // The namespaces every cluster starts with.
        let created = Self.rfc3339(now())
        for namespace in ["default", "kube-system", "kube-public"] {
            revision += 1
            let object: JSONObject = [
                "apiVersion": "v1", "kind": "Namespace", "status": ["phase": "Active"],
                "metadata": [
                    "name": .string(namespace), "uid": .string(UUID().uuidString.lowercased()), "creationTimestamp": .string(created),
                    "resourceVersion": .string(String(revision)),
                ],
            ]
            objects["/namespaces", default: [:]][ObjectKey(namespace: "", name: namespace)] = object
            history.append(Change(revision: revision, storageKey: "/namespaces", kind: .added, object: object, previous: nil))
        }
    }

    // MARK: Types

    func resourceType(group: String, version: String, plural: String) -> ResourceType? {
        types.first { $0.group == group && $0.version == version && $0.plural == plural }
    }

    func allTypes() -> [ResourceType] { types }

    // MARK: Reads

    func get(_ type: ResourceType, namespace: String, name: String) throws(StatusError) -> JSONObject {
        guard let object = objects[type.storageKey]?[ObjectKey(namespace: namespace, name: name)] else { throw .notFound(type, name) }
        return present(object, type)
    }

    /// One page of a list: the items after the continue token's key, all at one resource version.
    func list(
        _ type: ResourceType, namespace: String?, labels: LabelSelector, fields: FieldSelector, limit: Int?, continueToken: String?
    ) throws(StatusError) -> (items: [JSONObject], resourceVersion: Int, continueToken: String?, remaining: Int?) {
        var snapshotRevision = revision
        var after: ObjectKey?
        var pool = objects[type.storageKey] ?? [:]
        if let continueToken, !continueToken.isEmpty {
            let token = try ContinueToken(decoding: continueToken)
            guard token.revision >= compactedThrough else {
                throw .expired(
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results."
                )
            }
            snapshotRevision = token.revision
            after = token.after
            pool = snapshot(of: type.storageKey, at: token.revision)
        }
        let matching = pool.filter { key, object in
            (namespace == nil || key.namespace == namespace) && labels.matches(object.labels) && fields.matches(object) && (after.map { key > $0 } ?? true)
        }.sorted { $0.key < $1.key }
        guard let limit, limit > 0, matching.count > limit else {
            return (matching.map { present($0.value, type) }, snapshotRevision, nil, nil)
        }
        let page = matching.prefix(limit)
        let next = ContinueToken(revision: snapshotRevision, after: page.last!.key).encoded
        return (page.map { present($0.value, type) }, snapshotRevision, next, matching.count - limit)
    }

    /// The objects of one resource as they were at `revision`: today's, with later changes undone.
    private func snapshot(of storageKey: String, at revision: Int) -> [ObjectKey: JSONObject] {
        var state = objects[storageKey] ?? [:]
        for change in history.reversed() where change.revision > revision && change.storageKey == storageKey {
            let key = ObjectKey(change.object)
            state[key] = change.previous
        }
        return state
    }

    // MARK: Watches

    /// Opens a watch: replays what it asked for (every object for no or "0" resource version,
    /// the changes after it otherwise) and from then on gets every matching change.
    func watch(
        _ type: ResourceType, namespace: String?, labels: LabelSelector, fields: FieldSelector, from resourceVersion: String?, bookmarks: Bool,
        continuation: AsyncStream<WatchMessage>.Continuation
    ) throws(StatusError) -> Int {
        let watcher = Watcher(
            storageKey: type.storageKey, namespace: namespace, labels: labels, fields: fields, bookmarks: bookmarks, continuation: continuation)
        if let resourceVersion, !resourceVersion.isEmpty, resourceVersion != "0" {
            guard let start = Int(resourceVersion) else { throw .badRequest("invalid resourceVersion \"\(resourceVersion)\"") }
            guard start >= compactedThrough else { throw .expired("too old resource version: \(start) (\(compactedThrough))") }
            for change in history where change.revision > start && change.storageKey == type.storageKey {
                if let message = Self.message(for: change, watcher: watcher, type: type) { continuation.yield(message) }
            }
        } else {
            let current = (objects[type.storageKey] ?? [:]).filter { watcher.wants($0.value) }.sorted { $0.key < $1.key }
            for (_, object) in current { continuation.yield(.event(type: "ADDED", object: present(object, type))) }
        }
        nextWatcher += 1
        watchers[nextWatcher] = watcher
        return nextWatcher
    }

    func endWatch(_ id: Int) {
        watchers.removeValue(forKey: id)?.continuation.finish()
    }

    /// Sends one watch a bookmark at the current resource version (it has had every change up to it).
    func bookmark(_ id: Int) {
        guard let watcher = watchers[id], watcher.bookmarks else { return }
        watcher.continuation.yield(.bookmark(resourceVersion: revision))
    }

    /// What a watcher sees of a change: an object that starts matching its selector is ADDED, one
    /// that stops matching is DELETED, as on the real server.
    private static func message(for change: Change, watcher: Watcher, type: ResourceType) -> WatchMessage? {
        let now = watcher.wants(change.object)
        let before = change.previous.map(watcher.wants) ?? false
        let object = Self.present(change.object, type)
        switch change.kind {
        case .added: return now ? .event(type: "ADDED", object: object) : nil
        case .deleted: return now ? .event(type: "DELETED", object: object) : nil
        case .modified:
            if now && before { return .event(type: "MODIFIED", object: object) }
            if now { return .event(type: "ADDED", object: object) }
            if before { return .event(type: "DELETED", object: object) }
            return nil
        }
    }

    // MARK: Writing

    /// Records a change: the next resource version, the history, and every watch that wants it.
    @discardableResult
    func commit(_ type: ResourceType, _ key: ObjectKey, new object: JSONObject, kind: Change.Kind, counts: Bool = true) -> JSONObject {
        revision += 1
        var object = object
        object.metadata["resourceVersion"] = .string(String(revision))
        let previous = objects[type.storageKey]?[key]
        if kind == .deleted {
            objects[type.storageKey]?.removeValue(forKey: key)
        } else {
            objects[type.storageKey, default: [:]][key] = object
        }
        let change = Change(revision: revision, storageKey: type.storageKey, kind: kind, object: object, previous: previous)
        history.append(change)
        if history.count > historyLimit {
            let drop = history.count - historyLimit
            compactedThrough = history[drop - 1].revision
            history.removeFirst(drop)
        }
        for (id, watcher) in watchers where watcher.storageKey == type.storageKey {
            guard let message = Self.message(for: change, watcher: watcher, type: type) else { continue }
            switch watcher.continuation.yield(message) {
            case .enqueued: break
            case .dropped, .terminated:
                // Too slow or gone: close it, as the real server does; the client resumes from its last version.
                endWatch(id)
            @unknown default: endWatch(id)
            }
        }
        if counts {
            writes += 1
            if let crashAfter = faults.crashAfterWrites, writes >= crashAfter {
                faults.crashAfterWrites = nil
                crash()
            }
        }
        return present(object, type)
    }

    func present(_ object: JSONObject, _ type: ResourceType) -> JSONObject { Self.present(object, type) }

    /// The object as a client of `type`'s version sees it.
    static func present(_ object: JSONObject, _ type: ResourceType) -> JSONObject {
        var object = object
        object["apiVersion"] = .string(type.apiVersion)
        object["kind"] = .string(type.kind)
        return object
    }

    func timestamp(_ date: Date? = nil) -> JSONValue {
        .string(Self.rfc3339(date ?? now()))
    }

    /// RFC 3339 in whole seconds, as the API server writes `Time`. A format style, not a shared
    /// `ISO8601DateFormatter`: those are not safe to use from several threads at once.
    static func rfc3339(_ date: Date) -> String { date.formatted(.iso8601) }

    static func parseRFC3339(_ text: String) -> Date? { try? Date(text, strategy: .iso8601) }

    /// Fields every new object gets from the server.
    func prepareNew(_ object: inout JSONObject, type: ResourceType) {
        var metadata = object.metadata
        metadata["uid"] = .string(UUID().uuidString.lowercased())
        metadata["creationTimestamp"] = timestamp()
        metadata.removeValue(forKey: "deletionTimestamp")
        metadata.removeValue(forKey: "deletionGracePeriodSeconds")
        if type.tracksGeneration { metadata["generation"] = 1 } else { metadata.removeValue(forKey: "generation") }
        if type.namespaced == false { metadata.removeValue(forKey: "namespace") }
        object.metadata = metadata
        if type.hasStatusSubresource && type.isCustom { object.removeValue(forKey: "status") }
        Defaults.apply(to: &object, type: type, created: true, services: &servicesCreated)
    }
}

/// A namespace and name: an object's identity within its resource, in listing order.
struct ObjectKey: Hashable, Comparable, Sendable {
    var namespace: String
    var name: String

    init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    init(_ object: JSONObject) { self.init(namespace: object.namespace, name: object.name) }

    static func < (lhs: ObjectKey, rhs: ObjectKey) -> Bool { (lhs.namespace, lhs.name) < (rhs.namespace, rhs.name) }
}

/// The `continue` parameter of a paginated list: the resource version of the first page and the last key sent.
struct ContinueToken: Sendable {
    var revision: Int
    var after: ObjectKey

    init(revision: Int, after: ObjectKey) {
        self.revision = revision
        self.after = after
    }

    init(decoding text: String) throws(StatusError) {
        guard let data = Data(base64Encoded: text), let object = try? JSONDecoder().decode([String: String].self, from: data),
            let revision = object["rv"].flatMap(Int.init), let name = object["name"]
        else { throw .badRequest("invalid continue token") }
        self.init(revision: revision, after: ObjectKey(namespace: object["namespace"] ?? "", name: name))
    }

    var encoded: String {
        let data = try! JSONEncoder().encode(["rv": String(revision), "namespace": after.namespace, "name": after.name])
        return data.base64EncodedString()
    }
}
