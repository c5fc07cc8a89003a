import Foundation
import OPECore

/// Server-side printing: the `meta.k8s.io/v1` Table `kubectl get` asks for, with a custom
/// resource's printer columns (date columns shown as ages, as the real server does).
struct TableConverter: Sendable {
    var type: ResourceType
    var now: Date
    /// `includeObject`: `Object` (the whole object), `Metadata` (the default) or `None`.
    var include: String

    func table(_ objects: [JSONObject], resourceVersion: Int?, continueToken: String? = nil) -> JSONValue {
        var metadata: JSONObject = [:]
        if let resourceVersion { metadata["resourceVersion"] = .string(String(resourceVersion)) }
        if let continueToken { metadata["continue"] = .string(continueToken) }
        return [
            "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": .object(metadata),
            "columnDefinitions": .array(
                columns.map { column in
                    [
                        "name": .string(column.name), "type": .string(column.type), "format": .string(column.format ?? ""),
                        "description": .string(column.description), "priority": .number(Double(column.priority)),
                    ]
                }),
            "rows": .array(objects.map(row)),
        ]
    }

    private var columns: [ResourceType.PrinterColumn] {
        let name = ResourceType.PrinterColumn(
            name: "Name", type: "string", jsonPath: ".metadata.name", description: "Name must be unique within a namespace.", priority: 0, format: "name")
        let age = ResourceType.PrinterColumn(
            name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp",
            description: "CreationTimestamp is a timestamp representing the server time when this object was created.", priority: 0, format: nil)
        if type.printerColumns.isEmpty {
            if type.plural == "pods" {
                return [
                    name, .init(name: "Status", type: "string", jsonPath: ".status.phase", description: "The phase of the pod.", priority: 0, format: nil), age,
                ]
            }
            return [name, age]
        }
        return [name] + type.printerColumns
    }

    private func row(_ object: JSONObject) -> JSONValue {
        let cells: [JSONValue] = columns.map { column in
            let values = Self.evaluate(column.jsonPath, in: .object(object))
            if column.type == "date", let text = values.first?.stringValue, let date = ObjectStore.parseRFC3339(text) {
                return .string(Self.age(now.timeIntervalSince(date)))
            }
            if values.count == 1, column.type != "string" { return values[0] }
            let texts = values.map { value -> String in
                switch value {
                case .string(let text): text
                case .number(let number): number.rounded() == number ? String(Int(number)) : String(number)
                case .bool(let flag): String(flag)
                default: (try? String(decoding: JSONEncoder().encode(value), as: UTF8.self)) ?? ""
                }
            }
            return texts.isEmpty ? .null : .string(texts.joined(separator: ","))
        }
        var row: JSONObject = ["cells": .array(cells)]
        switch include {
        case "Object": row["object"] = .object(object)
        case "None": break
        default:
            row["object"] = ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": .object(object.metadata)]
        }
        return .object(row)
    }

    /// A simple JSONPath as printer columns use it: `.a.b`, `.list[*].field`, `.list[0]`.
    static func evaluate(_ path: String, in value: JSONValue) -> [JSONValue] {
        var current: [JSONValue] = [value]
        let trimmed = path.hasPrefix("{") && path.hasSuffix("}") ? String(path.dropFirst().dropLast()) : path
        for segment in trimmed.split(separator: ".") where !segment.isEmpty {
            var field = Substring(segment)
            var index: String?
            if let open = segment.firstIndex(of: "["), segment.hasSuffix("]") {
                field = segment[..<open]
                index = String(segment[segment.index(after: open)..<segment.index(before: segment.endIndex)])
            }
            current = current.compactMap { field.isEmpty ? $0 : $0[String(field)] }
            if let index {
                current = current.flatMap { item -> [JSONValue] in
                    guard let array = item.arrayValue else { return [] }
                    if index == "*" { return array }
                    // A filter such as ?(@.type=="Synced").
                    if index.hasPrefix("?(@."), index.hasSuffix(")"), let equals = index.range(of: "==") {
                        let field = String(index[index.index(index.startIndex, offsetBy: 4)..<equals.lowerBound])
                        let wanted = index[equals.upperBound...].dropLast().trimmingCharacters(in: CharacterSet(charactersIn: "\"' "))
                        return array.filter { $0[field]?.stringValue == wanted }
                    }
                    guard let position = Int(index) else { return [] }
                    let resolved = position < 0 ? array.count + position : position
                    return array.indices.contains(resolved) ? [array[resolved]] : []
                }
            }
        }
        return current.filter { $0 != .null }
    }

    /// An age the way kubectl shows one: `42s`, `5m10s`, `3h`, `2d4h`, `40d`, `2y`.
    static func age(_ seconds: TimeInterval) -> String {
        let total = max(0, Int(seconds))
        switch total {
        case ..<120: return "\(total)s"
        case ..<600: return total % 60 == 0 ? "\(total / 60)m" : "\(total / 60)m\(total % 60)s"
        case ..<(3 * 3600): return "\(total / 60)m"
        case ..<(8 * 3600): return (total / 60) % 60 == 0 ? "\(total / 3600)h" : "\(total / 3600)h\((total / 60) % 60)m"
        case ..<(48 * 3600): return "\(total / 3600)h"
        case ..<(8 * 86400): return (total / 3600) % 24 == 0 ? "\(total / 86400)d" : "\(total / 86400)d\((total / 3600) % 24)h"
        case ..<(2 * 365 * 86400): return "\(total / 86400)d"
        default: return "\(total / (365 * 86400))y"
        }
    }
}
