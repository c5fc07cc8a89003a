import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// An XML element with the line it starts on, read with Foundation's `XMLParser`.
struct XMLTree: Sendable {
    var name: String
    var attributes: [String: String]
    /// Character data directly inside the element, verbatim.
    var text: String
    var line: Int
    var children: [XMLTree]

    /// Parses `file`; syntax errors name the file, line and column.
    static func read(file: String) throws(ModuleError) -> XMLTree {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ModuleError(file: file, message: "cannot read the file")
        }
        let builder = Builder()
        let parser = XMLParser(data: data)
        parser.delegate = builder
        if !parser.parse() || builder.root == nil {
            let reason = parser.parserError.map { "\($0.localizedDescription)" } ?? "no root element"
            throw ModuleError(file: file, line: parser.lineNumber, column: parser.columnNumber, message: "not valid XML: \(reason)")
        }
        return builder.root!
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var stack: [XMLTree] = []
        var root: XMLTree?

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            stack.append(XMLTree(name: elementName, attributes: attributes, text: "", line: parser.lineNumber, children: []))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += string
        }

        func parser(_ parser: XMLParser, foundCDATA block: Data) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += String(decoding: block, as: UTF8.self)
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
            guard let element = stack.popLast() else { return }
            if stack.isEmpty {
                root = element
            } else {
                stack[stack.count - 1].children.append(element)
            }
        }
    }
}
