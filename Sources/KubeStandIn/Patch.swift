import Foundation
import OPECore

/// The patch formats the stand-in applies.
enum Patch {
    /// RFC 7386 JSON merge patch: objects merge key by key, `null` removes a key, anything else replaces.
    static func merge(_ target: JSONValue, _ patch: JSONValue) -> JSONValue {
        guard case .object(let changes) = patch else { return patch }
        var result = target.objectValue ?? [:]
        for (key, value) in changes {
            if value == .null {
                result.removeValue(forKey: key)
            } else {
                result[key] = merge(result[key] ?? .null, value)
            }
        }
        return .object(result)
    }

    /// RFC 6902 JSON patch (`add`, `remove`, `replace`, `test`, `copy`, `move`) on JSON pointers.
    static func json(_ target: JSONValue, _ operations: JSONValue) throws(StatusError) -> JSONValue {
        guard case .array(let list) = operations else { throw .badRequest("a JSON patch must be an array of operations") }
        var document = target
        for operation in list {
            guard let op = operation["op"]?.stringValue, let path = operation["path"]?.stringValue else {
                throw .badRequest("every JSON patch operation needs \"op\" and \"path\"")
            }
            let pointer = try Self.pointer(path)
            switch op {
            case "add": document = try set(document, pointer, try value(operation), insert: true)
            case "replace":
                _ = try get(document, pointer)
                document = try set(document, pointer, try value(operation), insert: false)
            case "remove": document = try remove(document, pointer)
            case "test":
                guard try get(document, pointer) == (try value(operation)) else {
                    throw StatusError(code: 422, reason: "Invalid", message: "the test operation at \(path) failed")
                }
            case "copy", "move":
                guard let from = operation["from"]?.stringValue else { throw .badRequest("\(op) needs \"from\"") }
                let source = try Self.pointer(from)
                let moved = try get(document, source)
                if op == "move" { document = try remove(document, source) }
                document = try set(document, pointer, moved, insert: true)
            default: throw .badRequest("unknown JSON patch operation \"\(op)\"")
            }
        }
        return document
    }

    private static func value(_ operation: JSONValue) throws(StatusError) -> JSONValue {
        guard let value = operation["value"] else { throw .badRequest("the operation needs a \"value\"") }
        return value
    }

    private static func pointer(_ path: String) throws(StatusError) -> [String] {
        if path.isEmpty { return [] }
        guard path.hasPrefix("/") else { throw .badRequest("a JSON pointer starts with '/': \"\(path)\"") }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    private static func get(_ document: JSONValue, _ pointer: [String]) throws(StatusError) -> JSONValue {
        var current = document
        for token in pointer {
            switch current {
            case .object(let object):
                guard let next = object[token] else {
                    throw StatusError(code: 422, reason: "Invalid", message: "no value at /\(pointer.joined(separator: "/"))")
                }
                current = next
            case .array(let array):
                guard let index = Int(token), array.indices.contains(index) else {
                    throw StatusError(code: 422, reason: "Invalid", message: "no element at /\(pointer.joined(separator: "/"))")
                }
                current = array[index]
            default: throw StatusError(code: 422, reason: "Invalid", message: "no value at /\(pointer.joined(separator: "/"))")
            }
        }
        return current
    }

    private static func set(_ document: JSONValue, _ pointer: [String], _ value: JSONValue, insert: Bool) throws(StatusError) -> JSONValue {
        guard let token = pointer.first else { return value }
        let rest = Array(pointer.dropFirst())
        switch document {
        case .object(var object):
            if rest.isEmpty {
                object[token] = value
            } else {
                guard let child = object[token] else {
                    throw StatusError(code: 422, reason: "Invalid", message: "no parent for /\(pointer.joined(separator: "/"))")
                }
                object[token] = try set(child, rest, value, insert: insert)
            }
            return .object(object)
        case .array(var array):
            if rest.isEmpty {
                if token == "-", insert { array.append(value); return .array(array) }
                guard let index = Int(token), index >= 0, index <= array.count, insert || index < array.count else {
                    throw StatusError(code: 422, reason: "Invalid", message: "index \(token) out of range")
                }
                if insert { array.insert(value, at: index) } else { array[index] = value }
            } else {
                guard let index = Int(token), array.indices.contains(index) else {
                    throw StatusError(code: 422, reason: "Invalid", message: "index \(token) out of range")
                }
                array[index] = try set(array[index], rest, value, insert: insert)
            }
            return .array(array)
        default:
            throw StatusError(code: 422, reason: "Invalid", message: "cannot set a field inside a scalar at /\(pointer.joined(separator: "/"))")
        }
    }

    private static func remove(_ document: JSONValue, _ pointer: [String]) throws(StatusError) -> JSONValue {
        guard let token = pointer.first else { throw .badRequest("cannot remove the whole document") }
        let rest = Array(pointer.dropFirst())
        switch document {
        case .object(var object):
            guard let child = object[token] else {
                throw StatusError(code: 422, reason: "Invalid", message: "no value to remove at /\(pointer.joined(separator: "/"))")
            }
            if rest.isEmpty { object.removeValue(forKey: token) } else { object[token] = try remove(child, rest) }
            return .object(object)
        case .array(var array):
            guard let index = Int(token), array.indices.contains(index) else {
                throw StatusError(code: 422, reason: "Invalid", message: "index \(token) out of range")
            }
            if rest.isEmpty { array.remove(at: index) } else { array[index] = try remove(array[index], rest) }
            return .array(array)
        default:
            throw StatusError(code: 422, reason: "Invalid", message: "no value to remove at /\(pointer.joined(separator: "/"))")
        }
    }
}
