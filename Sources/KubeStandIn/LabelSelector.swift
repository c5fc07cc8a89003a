import Foundation

/// A `labelSelector` query: comma-separated requirements, all of which must hold
/// (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`, `a`, `!a`).
struct LabelSelector: Sendable, Hashable {
    enum Requirement: Sendable, Hashable {
        case equals(String, String)
        case notEquals(String, String)
        case isIn(String, Set<String>)
        case notIn(String, Set<String>)
        case exists(String)
        case doesNotExist(String)
    }

    var requirements: [Requirement]

    static let everything = LabelSelector(requirements: [])

    init(requirements: [Requirement]) { self.requirements = requirements }

    /// Parses the query's text; a selector the real server would refuse is a 400 here too.
    init(parsing text: String) throws(StatusError) {
        var requirements: [Requirement] = []
        for part in Self.split(text) {
            let item = part.trimmingCharacters(in: .whitespaces)
            if item.isEmpty { continue }
            requirements.append(try Self.requirement(item))
        }
        self.requirements = requirements
    }

    func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { requirement in
            switch requirement {
            case .equals(let key, let value): labels[key] == value
            case .notEquals(let key, let value): labels[key] != value
            case .isIn(let key, let values): labels[key].map(values.contains) ?? false
            case .notIn(let key, let values): !(labels[key].map(values.contains) ?? false)
            case .exists(let key): labels[key] != nil
            case .doesNotExist(let key): labels[key] == nil
            }
        }
    }

    /// Splits at commas outside parentheses (`env in (a,b),tier=web`).
    private static func split(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            if character == "(" { depth += 1 }
            if character == ")" { depth -= 1 }
            if character == ",", depth == 0 {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current)
        return parts
    }

    private static func requirement(_ item: String) throws(StatusError) -> Requirement {
        if item.hasPrefix("!") {
            return .doesNotExist(try key(String(item.dropFirst()).trimmingCharacters(in: .whitespaces), item))
        }
        if let range = item.range(of: "!=") {
            return .notEquals(try key(item[..<range.lowerBound], item), try value(item[range.upperBound...], item))
        }
        if let range = item.range(of: "==") ?? item.range(of: "=") {
            return .equals(try key(item[..<range.lowerBound], item), try value(item[range.upperBound...], item))
        }
        let words = item.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        if words.count == 2 {
            let rest = words[1].trimmingCharacters(in: .whitespaces)
            for (op, isIn) in [("notin", false), ("in", true)] where rest.hasPrefix(op) {
                let list = rest.dropFirst(op.count).trimmingCharacters(in: .whitespaces)
                guard list.hasPrefix("("), list.hasSuffix(")") else { break }
                let values = Set(try list.dropFirst().dropLast().split(separator: ",").map { v throws(StatusError) in try value(v, item) })
                let name = try key(words[0], item)
                return isIn ? .isIn(name, values) : .notIn(name, values)
            }
            throw .badRequest("unable to parse requirement: \"\(item)\": expected one of =, ==, !=, in, notin")
        }
        return .exists(try key(item, item))
    }

    private static func key(_ text: some StringProtocol, _ item: String) throws(StatusError) -> String {
        let key = text.trimmingCharacters(in: .whitespaces)
        let allowed = key.allSatisfy { $0.isLetter || $0.isNumber || "-_./".contains($0) }
        guard !key.isEmpty, allowed else { throw .badRequest("unable to parse requirement: \"\(item)\": invalid label key \"\(key)\"") }
        return key
    }

    private static func value(_ text: some StringProtocol, _ item: String) throws(StatusError) -> String {
        let value = text.trimmingCharacters(in: .whitespaces)
        guard value.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }), value.count <= 63 else {
            throw .badRequest("unable to parse requirement: \"\(item)\": invalid label value \"\(value)\"")
        }
        return value
    }
}

/// A `fieldSelector` query. Like the real server for most resources, only `metadata.name` and
/// `metadata.namespace` are supported (with `=`, `==`, `!=`); other fields are a 400.
struct FieldSelector: Sendable, Hashable {
    var requirements: [(field: String, value: String, equal: Bool)]

    static func == (lhs: FieldSelector, rhs: FieldSelector) -> Bool {
        lhs.requirements.elementsEqual(rhs.requirements) { $0.field == $1.field && $0.value == $1.value && $0.equal == $1.equal }
    }
    func hash(into hasher: inout Hasher) {
        for requirement in requirements {
            hasher.combine(requirement.field)
            hasher.combine(requirement.value)
            hasher.combine(requirement.equal)
        }
    }

    static let everything = FieldSelector(requirements: [])

    init(requirements: [(field: String, value: String, equal: Bool)]) { self.requirements = requirements }

    init(parsing text: String, resource: ResourceType) throws(StatusError) {
        var requirements: [(field: String, value: String, equal: Bool)] = []
        for part in text.split(separator: ",") {
            let item = String(part).trimmingCharacters(in: .whitespaces)
            let equal: Bool
            let pieces: [Substring]
            if let range = item.range(of: "!=") {
                equal = false
                pieces = [item[..<range.lowerBound], item[range.upperBound...]]
            } else if let range = item.range(of: "==") ?? item.range(of: "=") {
                equal = true
                pieces = [item[..<range.lowerBound], item[range.upperBound...]]
            } else {
                throw .badRequest("invalid field selector: \"\(item)\": expected =, == or !=")
            }
            let field = pieces[0].trimmingCharacters(in: .whitespaces)
            guard field == "metadata.name" || field == "metadata.namespace" else {
                throw .badRequest("field label not supported: \(field)")
            }
            requirements.append((field, pieces[1].trimmingCharacters(in: .whitespaces), equal))
        }
        self.requirements = requirements
    }

    func matches(_ object: JSONObject) -> Bool {
        requirements.allSatisfy { requirement in
            let actual = requirement.field == "metadata.name" ? object.name : object.namespace
            return (actual == requirement.value) == requirement.equal
        }
    }
}
