import Foundation
import OPECore
import Testing

@Suite struct JSONValueTests {
    @Test func textRoundTripsThroughJSONDecoder() throws {
        let value: [String: JSONValue] = [
            "text": "quote \" backslash \\ newline \n tab \t bell \u{07} emoji 🎉 slash /",
            "int": 42, "negative": -7, "fraction": 0.25, "big": 1e20, "yes": true, "no": false, "nothing": nil,
            "list": [1, "two", [3], ["four": 4]], "empty": [:], "emptyList": [],
        ]
        let text = JSONValue.jsonText(object: value)
        let decoded = try JSONDecoder().decode([String: JSONValue].self, from: Data(text.utf8))
        #expect(decoded == value)
        #expect(text.hasPrefix(#"{"big":"#), "keys are sorted")
        #expect(JSONValue.jsonText(object: ["n": 3]) == #"{"n":3}"#)
    }
}
