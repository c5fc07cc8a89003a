import Foundation
import Ink

/// Renders module Markdown (descriptions, task instructions) to HTML for the pages with Ink, and
/// keeps only the tags Markdown itself produces: raw HTML written into a module (a `<script>`,
/// an `onclick=`) comes out as visible text, not markup.
public struct MarkdownRenderer: Sendable {
    static let allowedTags: Set<String> = [
        "p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "em", "strong", "code", "pre", "blockquote", "hr", "br", "a", "table", "thead",
        "tbody", "tr", "th", "td", "del", "img",
    ]

    public init() {}

    public func html(_ markdown: String) -> String {
        sanitize(MarkdownParser().html(from: markdown))
    }

    /// Escapes every tag that is not in the allow-list, and drops all attributes but safe `href`,
    /// `src` and `alt` (no `javascript:` links).
    func sanitize(_ html: String) -> String {
        var output = ""
        var rest = Substring(html)
        while let open = rest.firstIndex(of: "<") {
            output += rest[..<open]
            guard let close = rest[open...].firstIndex(of: ">") else {
                output += "&lt;"
                rest = rest[rest.index(after: open)...]
                continue
            }
            let tag = rest[rest.index(after: open)..<close]
            rest = rest[rest.index(after: close)...]
            let closing = tag.hasPrefix("/")
            let body = closing ? tag.dropFirst() : tag
            let name = body.prefix { $0.isLetter || $0.isNumber }.lowercased()
            guard Self.allowedTags.contains(name) else {
                output += "&lt;" + Self.escape(String(tag)) + "&gt;"
                continue
            }
            if closing {
                output += "</\(name)>"
                continue
            }
            var attributes = ""
            for attribute in ["href", "src", "alt"] {
                guard let value = Self.attribute(attribute, in: String(body)) else { continue }
                let lowered = value.lowercased().trimmingCharacters(in: .whitespaces)
                if attribute != "alt", lowered.contains(":"), !(lowered.hasPrefix("http://") || lowered.hasPrefix("https://") || lowered.hasPrefix("mailto:")) {
                    continue
                }
                attributes += " \(attribute)=\"\(Self.escape(value))\""
            }
            if name == "a" { attributes += " rel=\"noopener noreferrer\" target=\"_blank\"" }
            output += "<\(name)\(attributes)>"
        }
        output += rest
        return output
    }

    static func attribute(_ name: String, in tag: String) -> String? {
        guard let range = tag.range(of: name + "=\"") else { return nil }
        let value = tag[range.upperBound...]
        guard let end = value.firstIndex(of: "\"") else { return nil }
        return String(value[..<end])
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
