import OPECore

/// What a watch stream carries to the HTTP layer, one line of the response each.
enum WatchMessage: Sendable {
    /// ADDED, MODIFIED or DELETED with the object as it is after the change.
    case event(type: String, object: JSONObject)
    /// The watcher has seen everything up to this resource version.
    case bookmark(resourceVersion: Int)
    /// The ERROR event, e.g. 410 Expired for a resource version below the compaction point.
    case error(StatusError)
}

/// One change as the history keeps it, for watches that start in the past and for pages of a
/// list that must all come from one resource version.
struct Change: Sendable {
    enum Kind: String, Sendable { case added = "ADDED", modified = "MODIFIED", deleted = "DELETED" }

    var revision: Int
    var storageKey: String
    var kind: Kind
    var object: JSONObject
    /// The object before the change (nil for ADDED).
    var previous: JSONObject?
}

/// An open watch: which objects it wants and where its events go.
struct Watcher: Sendable {
    var storageKey: String
    var namespace: String?
    var labels: LabelSelector
    var fields: FieldSelector
    var bookmarks: Bool
    var continuation: AsyncStream<WatchMessage>.Continuation

    func wants(_ object: JSONObject) -> Bool {
        (namespace == nil || object.namespace == namespace) && labels.matches(object.labels) && fields.matches(object)
    }
}
