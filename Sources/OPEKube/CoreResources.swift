import Foundation
import OPECore

// The built-in kinds the operator reads and writes. Their specs are large and owned by Kubernetes;
// what the operator reads is typed, the rest is kept as JSON so that a read-modify-write keeps
// every field it did not touch.

/// `v1 ConfigMap`.
public struct ConfigMap: KubeResource, Hashable {
    public static let resource = ResourceDescriptor(group: "", version: "v1", plural: "configmaps", kind: "ConfigMap")
    public var apiVersion = "v1"
    public var kind = "ConfigMap"
    public var metadata: ObjectMeta
    public var data: [String: String]?
    /// Values base64-encoded, for bytes that are not UTF-8 text.
    public var binaryData: [String: String]?
    public init(metadata: ObjectMeta, data: [String: String]? = nil, binaryData: [String: String]? = nil) {
        self.metadata = metadata
        self.data = data
        self.binaryData = binaryData
    }
}

/// `v1 Secret`: `data` values are base64 (as on the wire); `stringData` is write-only plain text.
public struct Secret: KubeResource, Hashable {
    public static let resource = ResourceDescriptor(group: "", version: "v1", plural: "secrets", kind: "Secret")
    public var apiVersion = "v1"
    public var kind = "Secret"
    public var metadata: ObjectMeta
    public var type: String?
    public var data: [String: String]?
    public var stringData: [String: String]?
    public init(metadata: ObjectMeta, stringData: [String: String]) {
        self.metadata = metadata
        self.stringData = stringData
    }

    public init(metadata: ObjectMeta, data: [String: String]) {
        self.metadata = metadata
        self.data = data
    }

    /// A value of `data`, decoded.
    public func value(_ key: String) -> String? {
        data?[key].flatMap { Data(base64Encoded: $0) }.flatMap { String(data: $0, encoding: .utf8) }
    }
}

/// `v1 Pod`: the spec as JSON; the status's phase, conditions and IP typed.
public struct Pod: KubeResource, Hashable {
    public static let resource = ResourceDescriptor(group: "", version: "v1", plural: "pods", kind: "Pod")
    public var apiVersion = "v1"
    public var kind = "Pod"
    public var metadata: ObjectMeta
    public var spec: JSONValue
    public var status: Status?

    public struct Status: Sendable, Hashable, Codable {
        public struct PodCondition: Sendable, Hashable, Codable {
            public var type: String
            public var status: String
            public var lastTransitionTime: Date?
            public var reason: String?
            public var message: String?
            public init(type: String, status: String, lastTransitionTime: Date? = nil, reason: String? = nil, message: String? = nil) {
                self.type = type
                self.status = status
                self.lastTransitionTime = lastTransitionTime
                self.reason = reason
                self.message = message
            }
        }
        /// Pending, Running, Succeeded, Failed or Unknown.
        public var phase: String?
        public var podIP: String?
        public var conditions: [PodCondition]?
        public var containerStatuses: JSONValue?
        public init(phase: String? = nil) { self.phase = phase }

        /// The Ready condition is True.
        public var isReady: Bool { conditions?.contains { $0.type == "Ready" && $0.status == "True" } ?? false }
    }

    public init(metadata: ObjectMeta, spec: JSONValue) {
        self.metadata = metadata
        self.spec = spec
    }
}

/// `v1 Service`.
public struct Service: KubeResource, Hashable {
    public static let resource = ResourceDescriptor(group: "", version: "v1", plural: "services", kind: "Service")
    public var apiVersion = "v1"
    public var kind = "Service"
    public var metadata: ObjectMeta
    public var spec: JSONValue
    public init(metadata: ObjectMeta, spec: JSONValue) {
        self.metadata = metadata
        self.spec = spec
    }
}

/// `v1 PersistentVolumeClaim`.
public struct PersistentVolumeClaim: KubeResource, Hashable {
    public static let resource = ResourceDescriptor(group: "", version: "v1", plural: "persistentvolumeclaims", kind: "PersistentVolumeClaim")
    public var apiVersion = "v1"
    public var kind = "PersistentVolumeClaim"
    public var metadata: ObjectMeta
    public var spec: JSONValue
    public var status: JSONValue?
    public init(metadata: ObjectMeta, spec: JSONValue) {
        self.metadata = metadata
        self.spec = spec
    }
}

/// `networking.k8s.io/v1 NetworkPolicy`.
public struct NetworkPolicy: KubeResource, Hashable {
    public static let resource = ResourceDescriptor(group: "networking.k8s.io", version: "v1", plural: "networkpolicies", kind: "NetworkPolicy")
    public var apiVersion = "networking.k8s.io/v1"
    public var kind = "NetworkPolicy"
    public var metadata: ObjectMeta
    public var spec: JSONValue
    public init(metadata: ObjectMeta, spec: JSONValue) {
        self.metadata = metadata
        self.spec = spec
    }
}

/// `coordination.k8s.io/v1 Lease`: what leader election holds.
public struct Lease: KubeResource, Hashable {
    public static let resource = ResourceDescriptor(group: "coordination.k8s.io", version: "v1", plural: "leases", kind: "Lease")
    public var apiVersion = "coordination.k8s.io/v1"
    public var kind = "Lease"
    public var metadata: ObjectMeta
    public var spec: Spec

    public struct Spec: Sendable, Hashable, Codable {
        public var holderIdentity: String?
        public var leaseDurationSeconds: Int?
        public var acquireTime: Date?
        public var renewTime: Date?
        public var leaseTransitions: Int?
        public init(
            holderIdentity: String? = nil, leaseDurationSeconds: Int? = nil, acquireTime: Date? = nil, renewTime: Date? = nil, leaseTransitions: Int? = nil
        ) {
            self.holderIdentity = holderIdentity
            self.leaseDurationSeconds = leaseDurationSeconds
            self.acquireTime = acquireTime
            self.renewTime = renewTime
            self.leaseTransitions = leaseTransitions
        }
    }

    public init(metadata: ObjectMeta, spec: Spec) {
        self.metadata = metadata
        self.spec = spec
    }
}

/// `v1 Namespace` (cluster-scoped).
public struct Namespace: KubeResource, Hashable {
    public static let resource = ResourceDescriptor(group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false)
    public var apiVersion = "v1"
    public var kind = "Namespace"
    public var metadata: ObjectMeta
    public var status: JSONValue?
    public init(metadata: ObjectMeta) { self.metadata = metadata }
}

/// `apiextensions.k8s.io/v1 CustomResourceDefinition`, kept as JSON (installing OPE's CRDs from their YAML).
public struct CustomResourceDefinition: KubeResource, Hashable {
    public static let resource = ResourceDescriptor(
        group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions", kind: "CustomResourceDefinition", namespaced: false)
    public var apiVersion = "apiextensions.k8s.io/v1"
    public var kind = "CustomResourceDefinition"
    public var metadata: ObjectMeta
    public var spec: JSONValue
    public var status: JSONValue?
}
