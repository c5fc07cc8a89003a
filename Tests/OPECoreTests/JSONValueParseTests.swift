import Foundation
import OPECore
import PropertyBased
import Testing

/// `JSONValue.parse` against what OPE writes and against Foundation's reader.
@Suite struct JSONValueParseTests {
    /// A random JSON value from a seed: nested arrays and objects, numbers of every kind, strings
    /// with quotes, backslashes, control characters, accents, emoji and astral characters.
    static func value(_ seed: Int) -> JSONValue {
        var state = UInt64(truncatingIfNeeded: seed) | 1
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        let pieces = ["a", "Z", " ", "\"", "\\", "/", "\n", "\t", "\u{1}", "\u{1F}", "é", "ß", "日本", "😀", "\u{10FFFF}", "\u{7F}", "{", "]", ":", ","]
        func string() -> String { (0..<next(8)).map { _ in pieces[next(pieces.count)] }.joined() }
        func make(_ depth: Int) -> JSONValue {
            switch next(depth > 3 ? 5 : 7) {
            case 0: return .null
            case 1: return .bool(next(2) == 0)
            case 2:
                let numbers: [Double] = [0, -1, 42, 1e15, 123_456_789, 0.5, -2.25, 1e-7, 6.02e23, Double(next(1_000_000)) / 1000]
                return .number(numbers[next(numbers.count)])
            case 3, 4: return .string(string())
            case 5: return .array((0..<next(5)).map { _ in make(depth + 1) })
            default: return .object(Dictionary((0..<next(5)).map { _ in (string(), make(depth + 1)) }, uniquingKeysWith: { first, _ in first }))
            }
        }
        return make(0)
    }

    @Test func whatOPEWritesReadsBackTheSame() async {
        await propertyCheck(count: 500, input: Gen.int(in: 0...Int.max)) { seed in
            let value = Self.value(seed)
            #expect((try? JSONValue.parse(value.jsonText)) == value, "\(value.jsonText)")
        }
    }

    @Test func itReadsWhatFoundationReads() async throws {
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int.max)) { seed in
            let text = Self.value(seed).jsonText
            let foundation = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            #expect(foundation != nil)
            #expect((try? JSONValue.parse(text)) == foundation, "\(text)")
        }
        // Written by others: spaces everywhere, escapes OPE never writes, exponents.
        let text = #" { "a" : [ 1 , 2.5e2 , -0.0 , true , false , null ] , "b" : "\u00e9\ud83d\ude00\/\b\f" , "c" : { } , "d" : [ ] } "#
        #expect(try JSONValue.parse(text) == JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)))
        #expect(try JSONValue.parse(text) == ["a": [1, 250, 0, true, false, nil], "b": "é😀/\u{8}\u{C}", "c": [:], "d": []])
    }

    @Test(arguments: [
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{a:1}", "01", "1.", ".5", "-", "1e", "+1", "tru", "nul", "\"abc", "\"\\x\"", "\"\\u12\"",
        "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\u{1}b\"", "[1] 2", "{\"a\" 1}", "[1 2]", "NaN", "'a'",
        String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
    ])
    func textThatIsNotJSONIsRefusedWithWhere(_ text: String) {
        // RFC 8259 strictly (Foundation lets trailing commas through).
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(text) }
    }

    @Test func anErrorSaysAtWhichByte() {
        #expect(throws: JSONValue.ParseError(message: "expected ',' or '}'", offset: 9)) { try JSONValue.parse(#"{"a":1   x}"#) }
        #expect(throws: JSONValue.ParseError(message: "expected an object", offset: 0)) { try JSONValue.parseObject("[1]") }
    }

    @Test func invalidUTF8IsRefused() {
        let bytes: [UInt8] = [0x22, 0xFF, 0xFE, 0x22]
        #expect(throws: JSONValue.ParseError.self) { try bytes.withUnsafeBufferPointer { try JSONValue.parse($0) } }
    }
}
