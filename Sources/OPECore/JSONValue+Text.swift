extension JSONValue {
    /// Compact JSON text with object keys sorted.
    ///
    /// Written by hand because it sits on the hot path of every event (Foundation's JSONEncoder
    /// made up most of the cost of a durable append); the output is plain RFC 8259 JSON that
    /// any decoder reads, and `JSONValueTests` checks it round-trips through JSONDecoder.
    public var jsonText: String {
        var output = ""
        write(to: &output)
        return output
    }

    /// Compact JSON text of an object with sorted keys.
    public static func jsonText(object: [String: JSONValue]) -> String {
        var output = ""
        JSONValue.object(object).write(to: &output)
        return output
    }

    func write(to output: inout String) {
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .number(let value):
            if value.rounded() == value, abs(value) < 1e15 {
                output += String(Int64(value))
            } else if value.isFinite {
                output += "\(value)"
            } else {
                output += "null"
            }
        case .string(let value): Self.writeString(value, to: &output)
        case .array(let values):
            output += "["
            for (index, value) in values.enumerated() {
                if index > 0 { output += "," }
                value.write(to: &output)
            }
            output += "]"
        case .object(let object):
            output += "{"
            for (index, key) in object.keys.sorted().enumerated() {
                if index > 0 { output += "," }
                Self.writeString(key, to: &output)
                output += ":"
                object[key]!.write(to: &output)
            }
            output += "}"
        }
    }

    static func writeString(_ value: String, to output: inout String) {
        output += "\""
        // Copy runs of ordinary characters whole; only quotes, backslashes and control
        // characters (all ASCII, so never inside a multi-byte character) need escaping.
        let bytes = value.utf8
        var runStart = bytes.startIndex
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 {
                output += value[runStart..<index]
                switch byte {
                case UInt8(ascii: "\""): output += "\\\""
                case UInt8(ascii: "\\"): output += "\\\\"
                case UInt8(ascii: "\n"): output += "\\n"
                case UInt8(ascii: "\r"): output += "\\r"
                case UInt8(ascii: "\t"): output += "\\t"
                default:
                    let hex = String(byte, radix: 16)
                    output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                }
                index = bytes.index(after: index)
                runStart = index
            } else {
                index = bytes.index(after: index)
            }
        }
        output += value[runStart..<bytes.endIndex]
        output += "\""
    }
}
