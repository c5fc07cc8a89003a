import Foundation
import OPECore

/// Which part of an object a write is for.
enum Subresource: Sendable {
    case main
    case status
}

/// `DeleteOptions.preconditions`: delete only this version of the object.
struct DeletePreconditions: Sendable {
    var uid: String?
    var resourceVersion: String?
}

extension ObjectStore {
    /// Creates an object (POST on the collection).
    func create(_ type: ResourceType, namespace: String, body: JSONObject) throws(StatusError) -> JSONObject {
        try checkKind(body, type)
        var object = body
        var name = object.name
        if name.isEmpty, let prefix = object.metadata["generateName"]?.stringValue, !prefix.isEmpty {
            let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
            name = prefix + String((0..<5).map { _ in alphabet.randomElement()! })
            object.metadata["name"] = .string(name)
        }
        guard !name.isEmpty else { throw .invalid(type, name, "metadata.name: Required value: name or generateName is required") }
        try checkName(name, type)
        if type.namespaced {
            let given = object.namespace
            guard given.isEmpty || given == namespace else {
                throw .badRequest("the namespace of the provided object does not match the namespace sent on the request")
            }
            object.metadata["namespace"] = .string(namespace)
            guard objects["/namespaces"]?[ObjectKey(namespace: "", name: namespace)] != nil else {
                throw StatusError(
                    code: 404, reason: "NotFound", message: "namespaces \"\(namespace)\" not found",
                    details: ["name": .string(namespace), "kind": "namespaces"])
            }
        }
        let key = ObjectKey(namespace: type.namespaced ? namespace : "", name: name)
        guard objects[type.storageKey]?[key] == nil else { throw .alreadyExists(type, name) }
        var definedTypes: [ResourceType] = []
        if type.plural == "customresourcedefinitions" {
            definedTypes = try ResourceType.fromDefinition(object)
        }
        prepareNew(&object, type: type)
        if type.plural == "customresourcedefinitions" { object["status"] = Self.definitionStatus(object) }
        types.removeAll { existing in definedTypes.contains { $0.group == existing.group && $0.plural == existing.plural } }
        types += definedTypes
        return commit(type, key, new: object, kind: .added)
    }

    /// Replaces an object or its status (PUT), honouring a `resourceVersion` precondition.
    func replace(_ type: ResourceType, namespace: String, name: String, body: JSONObject, subresource: Subresource) throws(StatusError) -> JSONObject {
        try checkKind(body, type)
        guard body.name.isEmpty || body.name == name else {
            throw .badRequest("the name of the object (\(body.name)) does not match the name on the URL (\(name))")
        }
        let key = ObjectKey(namespace: type.namespaced ? namespace : "", name: name)
        guard let existing = objects[type.storageKey]?[key] else { throw .notFound(type, name) }
        if let version = body.resourceVersion, !version.isEmpty {
            guard version == existing.resourceVersion, !takeConflict() else { throw .conflict(type, name) }
        } else if type.isCustom {
            throw .invalid(type, name, "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update")
        }
        if let uid = body.metadata["uid"]?.stringValue, uid != existing.metadata["uid"]?.stringValue {
            throw StatusError(
                code: 409, reason: "Conflict",
                message: "Precondition failed: UID in precondition: \(uid), UID in object meta: \(existing.metadata["uid"]?.stringValue ?? "")")
        }
        var object: JSONObject
        switch subresource {
        case .status:
            // A status write changes the status and nothing else.
            object = existing
            object["status"] = body["status"]
            if object["status"] == nil { object.removeValue(forKey: "status") }
        case .main:
            object = body
            var metadata = object.metadata
            for field in ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "namespace", "name"] {
                metadata[field] = existing.metadata[field]
                if metadata[field] == nil { metadata.removeValue(forKey: field) }
            }
            object.metadata = metadata
            // With a status subresource, a write to the object leaves its status alone.
            if type.hasStatusSubresource {
                object["status"] = existing["status"]
                if object["status"] == nil { object.removeValue(forKey: "status") }
            }
            if type.tracksGeneration, object.specPart != existing.specPart {
                let generation = existing.metadata["generation"].flatMap { if case .number(let n) = $0 { Int(n) } else { nil } } ?? 1
                object.metadata["generation"] = .number(Double(generation + 1))
            }
            Defaults.apply(to: &object, type: type, created: false, services: &servicesCreated)
            if existing.metadata["deletionTimestamp"] != nil {
                let added = Set(object.finalizers).subtracting(existing.finalizers)
                guard added.isEmpty else {
                    throw .invalid(
                        type, name,
                        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers \(added.sorted())")
                }
            }
        }
        if type.plural == "customresourcedefinitions", subresource == .main {
            let defined = try ResourceType.fromDefinition(object)
            types.removeAll { existing in defined.contains { $0.group == existing.group && $0.plural == existing.plural } }
            types += defined
        }
        var unchanged = object
        unchanged.metadata["resourceVersion"] = existing.metadata["resourceVersion"]
        // A write that changes nothing is no write: same resourceVersion, no event.
        if unchanged == existing { return present(existing, type) }
        if existing.metadata["deletionTimestamp"] != nil, object.finalizers.isEmpty {
            return remove(type, key, object)
        }
        return commit(type, key, new: object, kind: .modified)
    }

    /// Applies a patch (merge, JSON, or strategic merge for built-in kinds) and writes the result like a replace.
    func patch(_ type: ResourceType, namespace: String, name: String, contentType: String, body: JSONValue, subresource: Subresource) throws(StatusError)
        -> JSONObject
    {
        let key = ObjectKey(namespace: type.namespaced ? namespace : "", name: name)
        guard let existing = objects[type.storageKey]?[key] else { throw .notFound(type, name) }
        let patched: JSONValue
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch mediaType {
        case "application/merge-patch+json":
            patched = Patch.merge(.object(existing), body)
        case "application/strategic-merge-patch+json":
            // The real server refuses strategic merge patch for custom resources; for built-in kinds the stand-in
            // applies it as a merge patch (the same result unless lists with merge keys are patched).
            guard !type.isCustom else {
                throw StatusError(
                    code: 415, reason: "UnsupportedMediaType",
                    message:
                        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
                )
            }
            patched = Patch.merge(.object(existing), body)
        case "application/json-patch+json":
            patched = try Patch.json(.object(existing), body)
        default:
            throw StatusError(
                code: 415, reason: "UnsupportedMediaType",
                message:
                    "the stand-in accepts application/merge-patch+json, application/json-patch+json and (for built-in kinds) application/strategic-merge-patch+json; server-side apply is not supported"
            )
        }
        guard var result = patched.objectValue else { throw .badRequest("the patched object is not a JSON object") }
        // A patch that names no resourceVersion applies to the current one.
        let givenVersion = body["metadata"]?["resourceVersion"]?.stringValue
        if givenVersion == nil { result.metadata["resourceVersion"] = existing.metadata["resourceVersion"] }
        return try replace(type, namespace: namespace, name: name, body: result, subresource: subresource)
    }

    /// Deletes an object, or with finalizers marks it (`deletionTimestamp`) and leaves it to them.
    /// Returns the object and whether it is gone.
    func delete(_ type: ResourceType, namespace: String, name: String, preconditions: DeletePreconditions) throws(StatusError) -> (JSONObject, gone: Bool) {
        let key = ObjectKey(namespace: type.namespaced ? namespace : "", name: name)
        guard let existing = objects[type.storageKey]?[key] else { throw .notFound(type, name) }
        if let uid = preconditions.uid, uid != existing.metadata["uid"]?.stringValue {
            throw StatusError(
                code: 409, reason: "Conflict",
                message: "Precondition failed: UID in precondition: \(uid), UID in object meta: \(existing.metadata["uid"]?.stringValue ?? "")")
        }
        if let version = preconditions.resourceVersion, version != existing.resourceVersion {
            throw StatusError(
                code: 409, reason: "Conflict",
                message: "Precondition failed: ResourceVersion in precondition: \(version), ResourceVersion in object meta: \(existing.resourceVersion ?? "")")
        }
        guard existing.finalizers.isEmpty else {
            guard existing.metadata["deletionTimestamp"] == nil else { return (present(existing, type), false) }
            var marked = existing
            marked.metadata["deletionTimestamp"] = timestamp()
            marked.metadata["deletionGracePeriodSeconds"] = 0
            if type.tracksGeneration, case .number(let generation) = existing.metadata["generation"] ?? .null {
                marked.metadata["generation"] = .number(generation + 1)
            }
            return (commit(type, key, new: marked, kind: .modified), false)
        }
        return (remove(type, key, existing), true)
    }

    /// Removes an object for good, then what it owned (garbage collection) and, for a namespace or a
    /// CustomResourceDefinition, what lived in it.
    func remove(_ type: ResourceType, _ key: ObjectKey, _ object: JSONObject) -> JSONObject {
        let removed = commit(type, key, new: object, kind: .deleted)
        if type.plural == "customresourcedefinitions", let defined = try? ResourceType.fromDefinition(object) {
            for definition in defined.prefix(1) {
                for (key, object) in objects[definition.storageKey] ?? [:] { commit(definition, key, new: object, kind: .deleted) }
            }
            types.removeAll { existing in defined.contains { $0.group == existing.group && $0.plural == existing.plural } }
        }
        if type.plural == "namespaces" {
            for resource in types where resource.namespaced {
                for (key, _) in objects[resource.storageKey] ?? [:] where key.namespace == object.name {
                    _ = try? delete(resource, namespace: key.namespace, name: key.name, preconditions: DeletePreconditions())
                }
            }
        }
        collectGarbage(ownerUID: object.metadata["uid"]?.stringValue)
        return removed
    }

    /// Deletes the objects whose owners are all gone (background propagation, as the real garbage collector does).
    private func collectGarbage(ownerUID: String?) {
        guard let ownerUID else { return }
        let liveUIDs = Set(objects.values.flatMap { $0.values.compactMap { $0.metadata["uid"]?.stringValue } })
        for resource in types where resource.version == (types.first { $0.storageKey == resource.storageKey }?.version) {
            for (key, object) in objects[resource.storageKey] ?? [:] {
                let owners = (object.metadata["ownerReferences"]?.arrayValue ?? []).compactMap { $0["uid"]?.stringValue }
                guard owners.contains(ownerUID), owners.allSatisfy({ !liveUIDs.contains($0) }) else { continue }
                _ = try? delete(resource, namespace: key.namespace, name: key.name, preconditions: DeletePreconditions())
            }
        }
    }

    private func checkKind(_ body: JSONObject, _ type: ResourceType) throws(StatusError) {
        if let kind = body["kind"]?.stringValue, kind != type.kind {
            throw .badRequest("the object's kind \(kind) does not match the resource \(type.qualifiedName) (kind \(type.kind))")
        }
        if let apiVersion = body["apiVersion"]?.stringValue, apiVersion != type.apiVersion,
            !(type.isCustom && apiVersion.hasPrefix(type.group + "/"))
        {
            throw .badRequest("the object's apiVersion \(apiVersion) does not match \(type.apiVersion)")
        }
    }

    /// Names are DNS subdomains: lowercase letters, digits, '-' and '.', at most 253 characters.
    private func checkName(_ name: String, _ type: ResourceType) throws(StatusError) {
        let valid =
            name.count <= 253 && name.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "." }
            && name.first.map { $0.isLetter || $0.isNumber } == true && name.last.map { $0.isLetter || $0.isNumber } == true
        guard valid else {
            throw .invalid(
                type, name,
                "metadata.name: Invalid value: \"\(name)\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
            )
        }
    }

    /// A CustomResourceDefinition is accepted and established at once.
    static func definitionStatus(_ definition: JSONObject) -> JSONValue {
        let names = definition["spec"]?["names"] ?? [:]
        let time = JSONValue.string(Self.rfc3339(Date()))
        return [
            "acceptedNames": names,
            "storedVersions": .array((definition["spec"]?["versions"]?.arrayValue ?? []).compactMap { $0["storage"] == .bool(true) ? $0["name"] : nil }),
            "conditions": [
                ["type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": time],
                [
                    "type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted",
                    "lastTransitionTime": time,
                ],
            ],
        ]
    }
}
