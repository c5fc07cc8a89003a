import OPECore

/// The discovery documents kubectl reads before anything else: the groups and, per group version,
/// its resources with their verbs, short names and subresources.
enum Discovery {
    static func groups(_ types: [ResourceType]) -> JSONValue {
        var order: [String] = []
        var versions: [String: [String]] = [:]
        for type in types where !type.group.isEmpty {
            if versions[type.group] == nil { order.append(type.group) }
            if !(versions[type.group] ?? []).contains(type.version) { versions[type.group, default: []].append(type.version) }
        }
        return [
            "kind": "APIGroupList", "apiVersion": "v1",
            "groups": .array(
                order.map { group in
                    let list = versions[group] ?? []
                    return [
                        "name": .string(group),
                        "versions": .array(list.map { ["groupVersion": .string("\(group)/\($0)"), "version": .string($0)] }),
                        "preferredVersion": ["groupVersion": .string("\(group)/\(list[0])"), "version": .string(list[0])],
                    ]
                }),
        ]
    }

    static func resources(_ types: [ResourceType], group: String, version: String) -> JSONValue {
        var resources: [JSONValue] = []
        for type in types where type.group == group && type.version == version {
            var resource: JSONObject = [
                "name": .string(type.plural), "singularName": .string(type.singular), "namespaced": .bool(type.namespaced), "kind": .string(type.kind),
                "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            ]
            if !type.shortNames.isEmpty { resource["shortNames"] = .array(type.shortNames.map { .string($0) }) }
            if !type.categories.isEmpty { resource["categories"] = .array(type.categories.map { .string($0) }) }
            resources.append(.object(resource))
            if type.hasStatusSubresource {
                resources.append([
                    "name": .string(type.plural + "/status"), "singularName": "", "namespaced": .bool(type.namespaced), "kind": .string(type.kind),
                    "verbs": ["get", "patch", "update"],
                ])
            }
        }
        return [
            "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": .string(group.isEmpty ? version : "\(group)/\(version)"),
            "resources": .array(resources),
        ]
    }
}
