import Foundation
import OPECore
import Yams

/// A YAML node together with where it sits, so every reading error can name file, line and field.
struct YAMLField {
    let node: Node
    let path: String
    let file: String

    func error(_ message: String) -> ModuleError {
        ModuleError(file: file, line: node.mark?.line, column: node.mark?.column, field: path, message: message)
    }

    /// The entries of a mapping, refusing keys outside `allowed` so that typos do not pass silently.
    func mapping(allowed: Set<String>) throws(ModuleError) -> [String: YAMLField] {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping (key: value lines)") }
        var fields: [String: YAMLField] = [:]
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else {
                throw YAMLField(node: keyNode, path: path, file: file).error("keys must be strings")
            }
            let childPath = path.isEmpty ? key : "\(path).\(key)"
            guard allowed.contains(key) else {
                let known = allowed.sorted().joined(separator: ", ")
                throw YAMLField(node: keyNode, path: childPath, file: file).error("unknown field (known fields: \(known))")
            }
            fields[key] = YAMLField(node: value, path: childPath, file: file)
        }
        return fields
    }

    func sequence() throws(ModuleError) -> [YAMLField] {
        guard case .sequence(let sequence) = node else { throw error("expected a list") }
        return sequence.enumerated().map { index, element in YAMLField(node: element, path: "\(path)[\(index)]", file: file) }
    }

    func string() throws(ModuleError) -> String {
        guard case .scalar(let scalar) = node else { throw error("expected a text value") }
        return scalar.string
    }

    func nonEmptyString() throws(ModuleError) -> String {
        let value = try string()
        guard !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw error("must not be empty") }
        return value
    }

    func int() throws(ModuleError) -> Int {
        guard case .scalar = node, let value = node.int else { throw error("expected a whole number") }
        return value
    }

    func bool() throws(ModuleError) -> Bool {
        guard case .scalar = node, let value = node.bool else { throw error("expected true or false") }
        return value
    }

    func duration() throws(ModuleError) -> Duration {
        guard case .scalar(let scalar) = node, let value = DurationText.parse(scalar.string) else {
            throw error("expected a duration such as 90, \"90s\", \"20m\" or \"1h30m\"")
        }
        return value
    }

    func stringList() throws(ModuleError) -> [String] {
        var values: [String] = []
        for element in try sequence() { values.append(try element.nonEmptyString()) }
        return values
    }

    func oneOf<T: RawRepresentable & CaseIterable>(_ type: T.Type) throws(ModuleError) -> T where T.RawValue == String {
        let raw = try string()
        guard let value = T(rawValue: raw) else {
            let choices = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw error("unknown value '\(raw)' (expected one of: \(choices))")
        }
        return value
    }
}
