import OPECore

/// One kind of object the stand-in serves: where it lives in the API and how it behaves.
public struct ResourceType: Sendable, Hashable {
    /// One column of `kubectl get` (a custom resource's `additionalPrinterColumns`).
    public struct PrinterColumn: Sendable, Hashable {
        public var name: String
        public var type: String
        public var jsonPath: String
        public var description: String
        public var priority: Int
        public var format: String?
    }

    /// The API group; empty for the core group (`/api/v1`).
    public var group: String
    public var version: String
    public var plural: String
    public var singular: String
    public var kind: String
    public var namespaced: Bool
    public var shortNames: [String] = []
    public var categories: [String] = []
    /// Whether writes to the object leave `status` alone and `/status` writes touch nothing else.
    public var hasStatusSubresource: Bool
    /// Whether `metadata.generation` counts changes to the spec (custom resources and a few built-ins).
    public var tracksGeneration: Bool
    /// Columns for `kubectl get`, after the name; empty: just the name and age.
    public var printerColumns: [PrinterColumn] = []
    /// Whether the type comes from a CustomResourceDefinition (strategic merge patch is refused for these).
    public var isCustom = false

    /// `opesessions.ope.dev`, `pods`: how error messages name the resource.
    public var qualifiedName: String { group.isEmpty ? plural : "\(plural).\(group)" }
    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    /// The key objects are kept under: all served versions of a resource share their objects.
    var storageKey: String { "\(group)/\(plural)" }

    static func core(_ plural: String, _ kind: String, namespaced: Bool = true, status: Bool = false, short: [String] = []) -> ResourceType {
        ResourceType(
            group: "", version: "v1", plural: plural, singular: kind.lowercased(), kind: kind, namespaced: namespaced, shortNames: short,
            hasStatusSubresource: status, tracksGeneration: false)
    }

    /// The built-in resources: those the operator reads and writes, and namespaces and CRDs themselves.
    static let builtIn: [ResourceType] = [
        .core("namespaces", "Namespace", namespaced: false, status: true, short: ["ns"]),
        .core("pods", "Pod", status: true, short: ["po"]),
        .core("services", "Service", status: true, short: ["svc"]),
        .core("secrets", "Secret"),
        .core("configmaps", "ConfigMap", short: ["cm"]),
        .core("persistentvolumeclaims", "PersistentVolumeClaim", status: true, short: ["pvc"]),
        .core("serviceaccounts", "ServiceAccount", short: ["sa"]),
        .core("events", "Event", short: ["ev"]),
        ResourceType(
            group: "coordination.k8s.io", version: "v1", plural: "leases", singular: "lease", kind: "Lease", namespaced: true,
            hasStatusSubresource: false, tracksGeneration: false),
        ResourceType(
            group: "networking.k8s.io", version: "v1", plural: "networkpolicies", singular: "networkpolicy", kind: "NetworkPolicy",
            namespaced: true, shortNames: ["netpol"], hasStatusSubresource: false, tracksGeneration: true),
        ResourceType(
            group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions", singular: "customresourcedefinition",
            kind: "CustomResourceDefinition", namespaced: false, shortNames: ["crd", "crds"], categories: ["api-extensions"],
            hasStatusSubresource: true, tracksGeneration: true),
    ]

    /// The resource types a CustomResourceDefinition declares, one per served version.
    static func fromDefinition(_ definition: JSONObject) throws(StatusError) -> [ResourceType] {
        let spec = definition["spec"]?.objectValue ?? [:]
        let names = spec["names"]?.objectValue ?? [:]
        guard let group = spec["group"]?.stringValue, !group.isEmpty,
            let plural = names["plural"]?.stringValue, !plural.isEmpty,
            let kind = names["kind"]?.stringValue, !kind.isEmpty
        else {
            throw .badRequest("a CustomResourceDefinition needs spec.group, spec.names.plural and spec.names.kind")
        }
        guard definition.name == "\(plural).\(group)" else {
            throw .badRequest("metadata.name must be spec.names.plural+\".\"+spec.group (\(plural).\(group)), not \"\(definition.name)\"")
        }
        let scope = spec["scope"]?.stringValue ?? "Namespaced"
        guard scope == "Namespaced" || scope == "Cluster" else { throw .badRequest("spec.scope must be Namespaced or Cluster") }
        let versions = (spec["versions"]?.arrayValue ?? []).compactMap(\.objectValue)
        guard !versions.isEmpty else { throw .badRequest("a CustomResourceDefinition needs at least one entry in spec.versions") }
        return versions.filter { $0["served"] != .bool(false) }.map { version in
            let columns = (version["additionalPrinterColumns"]?.arrayValue ?? []).compactMap(\.objectValue).map { column in
                PrinterColumn(
                    name: column["name"]?.stringValue ?? "", type: column["type"]?.stringValue ?? "string",
                    jsonPath: column["jsonPath"]?.stringValue ?? "", description: column["description"]?.stringValue ?? "",
                    priority: Int(column["priority"].flatMap { if case .number(let n) = $0 { n } else { nil } } ?? 0),
                    format: column["format"]?.stringValue)
            }
            return ResourceType(
                group: group, version: version["name"]?.stringValue ?? "v1", plural: plural,
                singular: names["singular"]?.stringValue ?? kind.lowercased(), kind: kind, namespaced: scope == "Namespaced",
                shortNames: (names["shortNames"]?.arrayValue ?? []).compactMap(\.stringValue),
                categories: (names["categories"]?.arrayValue ?? []).compactMap(\.stringValue),
                hasStatusSubresource: version["subresources"]?["status"] != nil, tracksGeneration: true, printerColumns: columns, isCustom: true)
        }
    }
}
