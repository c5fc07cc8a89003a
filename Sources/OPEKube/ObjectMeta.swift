import Foundation

/// `metadata` of every Kubernetes object.
public struct ObjectMeta: Sendable, Hashable, Codable {
    public var name: String?
    public var generateName: String?
    public var namespace: String?
    public var uid: String?
    /// The version this copy was read at; a replace with it succeeds only if nobody wrote since.
    public var resourceVersion: String?
    /// Counts changes to the spec (set by the server).
    public var generation: Int64?
    public var creationTimestamp: Date?
    /// Set when the object is being deleted and waits for its finalizers.
    public var deletionTimestamp: Date?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public var finalizers: [String]?
    public var ownerReferences: [OwnerReference]?

    public init(name: String? = nil, namespace: String? = nil, labels: [String: String]? = nil, annotations: [String: String]? = nil) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
    }
}

/// Says which object owns this one; the garbage collector deletes it with its owner.
public struct OwnerReference: Sendable, Hashable, Codable {
    public var apiVersion: String
    public var kind: String
    public var name: String
    public var uid: String
    public var controller: Bool?
    public var blockOwnerDeletion: Bool?

    public init(apiVersion: String, kind: String, name: String, uid: String, controller: Bool? = true, blockOwnerDeletion: Bool? = true) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.uid = uid
        self.controller = controller
        self.blockOwnerDeletion = blockOwnerDeletion
    }
}

/// `metadata` of a list.
public struct ListMeta: Sendable, Hashable, Codable {
    public var resourceVersion: String?
    /// Pass back as `continue` for the next page.
    public var `continue`: String?
    public var remainingItemCount: Int?
}

/// A status condition (`metav1.Condition`): `lastTransitionTime` changes only when `status` does.
public struct Condition: Sendable, Hashable, Codable {
    public var type: String
    /// "True", "False" or "Unknown".
    public var status: String
    public var observedGeneration: Int64?
    public var lastTransitionTime: Date
    public var reason: String?
    public var message: String?

    public init(type: String, status: String, observedGeneration: Int64? = nil, lastTransitionTime: Date, reason: String? = nil, message: String? = nil) {
        self.type = type
        self.status = status
        self.observedGeneration = observedGeneration
        self.lastTransitionTime = lastTransitionTime
        self.reason = reason
        self.message = message
    }
}

extension Array where Element == Condition {
    /// Sets a condition; its `lastTransitionTime` moves only when its status changes.
    public mutating func set(_ condition: Condition) {
        guard let index = firstIndex(where: { $0.type == condition.type }) else {
            append(condition)
            return
        }
        var updated = condition
        if self[index].status == condition.status { updated.lastTransitionTime = self[index].lastTransitionTime }
        self[index] = updated
    }

    public subscript(type: String) -> Condition? { first { $0.type == type } }
}
