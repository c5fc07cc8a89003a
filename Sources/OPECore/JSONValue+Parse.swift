/// Reading JSON text into a ``JSONValue`` in one pass over its UTF-8 bytes.
///
/// Event payloads are read wherever events come out of the log or off the wire (every room's
/// history, every event an edge receives from a core). `JSONDecoder` reads a `JSONValue` by trying
/// each kind in turn, and on Linux each failed try builds and throws a `DecodingError`: a chat
/// payload of two strings cost four. This reader looks at the next byte instead. It accepts
/// exactly RFC 8259 JSON (no comments, no trailing commas, no leading zeros, no lone surrogates
/// unpaired) and nests at most 512 deep.
extension JSONValue {
    /// The error for text that is not JSON: what was wrong and at which byte.
    public struct ParseError: Error, CustomStringConvertible, Sendable, Equatable {
        public var message: String
        public var offset: Int

        public init(message: String, offset: Int) {
            self.message = message
            self.offset = offset
        }

        public var description: String { "not JSON at byte \(offset): \(message)" }
    }

    /// `text` read as JSON.
    public static func parse(_ text: String) throws(ParseError) -> JSONValue {
        var text = text
        return try text.withUTF8 { bytes in Result { () throws(ParseError) in try parse(bytes) } }.get()
    }

    /// `bytes` (UTF-8) read as JSON.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(ParseError) -> JSONValue {
        var reader = JSONReader(bytes: bytes)
        reader.skipSpace()
        let value = try reader.value(depth: 0)
        reader.skipSpace()
        guard reader.index == bytes.count else { throw reader.error("text after the value") }
        return value
    }

    /// `text` read as a JSON object (an event payload).
    public static func parseObject(_ text: String) throws(ParseError) -> [String: JSONValue] {
        try object(parse(text))
    }

    /// `bytes` (UTF-8) read as a JSON object.
    public static func parseObject(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> [String: JSONValue] {
        try object(parse(bytes.assumingMemoryBound(to: UInt8.self)))
    }

    private static func object(_ value: JSONValue) throws(ParseError) -> [String: JSONValue] {
        guard case .object(let fields) = value else { throw ParseError(message: "expected an object", offset: 0) }
        return fields
    }
}

private struct JSONReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    static let maxDepth = 512

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func error(_ message: String) -> JSONValue.ParseError { JSONValue.ParseError(message: message, offset: index) }

    var atEnd: Bool { index >= bytes.count }

    mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func expect(_ literal: StaticString, _ value: JSONValue) throws(JSONValue.ParseError) -> JSONValue {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("unexpected end") }
        for offset in 0..<count where bytes[index + offset] != literal.utf8Start[offset] { throw error("unexpected character") }
        index += count
        return value
    }

    mutating func value(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
        guard !atEnd else { throw error("unexpected end") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return .object(try object(depth: depth + 1))
        case UInt8(ascii: "["): return .array(try array(depth: depth + 1))
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw error("unexpected character")
        }
    }

    mutating func object(depth: Int) throws(JSONValue.ParseError) -> [String: JSONValue] {
        guard depth <= Self.maxDepth else { throw error("nested too deep") }
        index += 1
        var fields: [String: JSONValue] = [:]
        skipSpace()
        if !atEnd, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return fields
        }
        while true {
            skipSpace()
            guard !atEnd, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a key") }
            let key = try string()
            skipSpace()
            guard !atEnd, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
            index += 1
            skipSpace()
            fields[key] = try value(depth: depth)
            skipSpace()
            guard !atEnd else { throw error("unexpected end") }
            switch bytes[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return fields
            default: throw error("expected ',' or '}'")
            }
        }
    }

    mutating func array(depth: Int) throws(JSONValue.ParseError) -> [JSONValue] {
        guard depth <= Self.maxDepth else { throw error("nested too deep") }
        index += 1
        var items: [JSONValue] = []
        skipSpace()
        if !atEnd, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return items
        }
        while true {
            skipSpace()
            items.append(try value(depth: depth))
            skipSpace()
            guard !atEnd else { throw error("unexpected end") }
            switch bytes[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return items
            default: throw error("expected ',' or ']'")
            }
        }
    }

    mutating func number() throws(JSONValue.ParseError) -> Double {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard !atEnd else { throw error("unexpected end") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            guard digits() > 0 else { throw error("expected a digit") }
        }
        if !atEnd, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw error("expected a digit after '.'") }
        }
        if !atEnd, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if !atEnd, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw error("expected a digit in the exponent") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text) else { throw JSONValue.ParseError(message: "not a number", offset: start) }
        return value
    }

    /// Skips digits; how many.
    mutating func digits() -> Int {
        let start = index
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
        return index - start
    }

    mutating func string() throws(JSONValue.ParseError) -> String {
        index += 1
        let start = index
        // The common case: no escapes, straight from the bytes (validated as UTF-8).
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                guard let text = String(validating: slice, as: UTF8.self) else { throw JSONValue.ParseError(message: "not UTF-8", offset: start) }
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw error("a control character in a string") }
            index += 1
        }
        guard !atEnd else { throw error("unterminated string") }
        var scalars = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while true {
            guard !atEnd else { throw error("unterminated string") }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let text = String(validating: scalars, as: UTF8.self) else { throw JSONValue.ParseError(message: "not UTF-8", offset: start) }
                return text
            case UInt8(ascii: "\\"):
                index += 1
                guard !atEnd else { throw error("unterminated escape") }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalars.append(escaped)
                case UInt8(ascii: "b"): scalars.append(0x08)
                case UInt8(ascii: "f"): scalars.append(0x0C)
                case UInt8(ascii: "n"): scalars.append(0x0A)
                case UInt8(ascii: "r"): scalars.append(0x0D)
                case UInt8(ascii: "t"): scalars.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800...0xDBFF).contains(code) {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                            throw error("a lone high surrogate")
                        }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error("a high surrogate without its low half") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(code) {
                        throw error("a lone low surrogate")
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw error("not a Unicode scalar") }
                    scalars.append(contentsOf: String(scalar).utf8)
                default: throw error("an unknown escape")
                }
            default:
                guard byte >= 0x20 else { throw error("a control character in a string") }
                scalars.append(byte)
                index += 1
            }
        }
    }

    mutating func hex4() throws(JSONValue.ParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("unexpected end in \\u") }
        var code: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("expected a hex digit")
            }
            code = code << 4 | digit
            index += 1
        }
        return code
    }
}
