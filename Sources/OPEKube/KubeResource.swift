import Foundation

/// Where a resource lives in the API: `/apis/<group>/<version>[/namespaces/<ns>]/<plural>`.
public struct ResourceDescriptor: Sendable, Hashable {
    /// Empty for the core group (`/api/v1`).
    public var group: String
    public var version: String
    public var plural: String
    public var kind: String
    public var namespaced: Bool

    public init(group: String, version: String, plural: String, kind: String, namespaced: Bool = true) {
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
    }

    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }

    /// The collection's path, or one object's (with an optional subresource such as `status`).
    func path(namespace: String?, name: String? = nil, subresource: String? = nil) -> String {
        var path = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        if namespaced, let namespace { path += "/namespaces/\(Self.escape(namespace))" }
        path += "/\(plural)"
        if let name { path += "/\(Self.escape(name))" }
        if let subresource { path += "/\(subresource)" }
        return path
    }

    static func escape(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? segment
    }
}

/// A Kubernetes object type the client can read and write: Codable, with `metadata`, and the
/// ``ResourceDescriptor`` saying where it lives.
public protocol KubeResource: Codable, Sendable {
    static var resource: ResourceDescriptor { get }
    var apiVersion: String { get set }
    var kind: String { get set }
    var metadata: ObjectMeta { get set }
}

extension KubeResource {
    public var name: String { metadata.name ?? "" }
    public var namespace: String? { metadata.namespace }
}

/// A list as the server sends it.
public struct ObjectList<Item: KubeResource>: Sendable, Codable {
    public var metadata: ListMeta
    public var items: [Item]
}

/// One event of a watch.
public enum WatchEvent<Item: KubeResource>: Sendable {
    case added(Item)
    case modified(Item)
    case deleted(Item)
    /// The watch has seen everything up to this resource version (only with bookmarks on).
    case bookmark(resourceVersion: String)
}
