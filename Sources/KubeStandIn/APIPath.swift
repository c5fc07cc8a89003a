import Foundation

/// A request path under `/api` or `/apis`, taken apart: group, version, and the resource part.
struct APIPath: Sendable, Equatable {
    var group: String
    var version: String
    /// nil: the version's discovery document.
    var resource: String?
    var namespace: String?
    var name: String?
    var subresource: String?

    /// Parses `/api/v1[/namespaces/NS]/RESOURCE[/NAME[/SUB]]` and `/apis/GROUP/VERSION/…`;
    /// `isNamespaced` says whether a plural names a namespaced resource of that group and version.
    init?(_ path: String, isNamespaced: (String, String, String) -> Bool) {
        var parts = path.split(separator: "/", omittingEmptySubsequences: true).map { $0.removingPercentEncoding ?? String($0) }
        guard let first = parts.first else { return nil }
        if first == "api", parts.count >= 2 {
            group = ""
            version = parts[1]
            parts.removeFirst(2)
        } else if first == "apis", parts.count >= 3 {
            group = parts[1]
            version = parts[2]
            parts.removeFirst(3)
        } else {
            return nil
        }
        if parts.count >= 3, parts[0] == "namespaces", isNamespaced(group, version, parts[2]) {
            namespace = parts[1]
            parts.removeFirst(2)
        }
        guard parts.count <= 3 else { return nil }
        resource = parts.first
        name = parts.count > 1 ? parts[1] : nil
        subresource = parts.count > 2 ? parts[2] : nil
    }
}

/// The query string, decoded as Go's `url.Values` encodes it (`+` is a space).
struct QueryParameters: Sendable {
    var values: [String: String] = [:]

    init(_ query: String?) {
        for pair in (query ?? "").split(separator: "&") {
            let pieces = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            values[decode(pieces[0])] = pieces.count > 1 ? decode(pieces[1]) : ""
        }
    }

    subscript(key: String) -> String? { values[key] }

    /// A boolean parameter, read as Go's strconv.ParseBool does (`1`, `t`, `T`, `true`, `True`, `TRUE`).
    func flag(_ key: String) -> Bool { values[key].map { ["1", "t", "T", "true", "True", "TRUE"].contains($0) } ?? false }
}
