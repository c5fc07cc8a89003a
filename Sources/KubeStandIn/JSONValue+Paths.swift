import OPECore

/// A Kubernetes object as the stand-in keeps it: its JSON, field by field.
typealias JSONObject = [String: JSONValue]

extension JSONValue {
    subscript(key: String) -> JSONValue? {
        if case .object(let value) = self { return value[key] }
        return nil
    }
}

extension Dictionary where Key == String, Value == JSONValue {
    /// The object's `metadata`, empty if it has none.
    var metadata: JSONObject {
        get { self["metadata"]?.objectValue ?? [:] }
        set { self["metadata"] = .object(newValue) }
    }

    var name: String { metadata["name"]?.stringValue ?? "" }
    var namespace: String { metadata["namespace"]?.stringValue ?? "" }
    var labels: [String: String] {
        (metadata["labels"]?.objectValue ?? [:]).compactMapValues { $0.stringValue }
    }
    var finalizers: [String] { (metadata["finalizers"]?.arrayValue ?? []).compactMap(\.stringValue) }
    var resourceVersion: String? { metadata["resourceVersion"]?.stringValue }

    /// Everything but `metadata` and `status`: what `generation` counts changes of.
    var specPart: JSONObject {
        filter { $0.key != "metadata" && $0.key != "status" && $0.key != "apiVersion" && $0.key != "kind" }
    }
}
