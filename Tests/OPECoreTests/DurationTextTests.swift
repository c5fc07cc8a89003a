import OPECore
import Testing

@Suite struct DurationTextTests {
    @Test(arguments: [("90", 90), ("90s", 90), ("20m", 1200), ("1h", 3600), ("1h30m", 5400), ("2m5s", 125), ("0", 0)])
    func parsesDurations(text: String, seconds: Int) {
        #expect(DurationText.parse(text) == .seconds(seconds))
    }

    @Test(arguments: ["", "m", "10x", "1.5h", "-5", "5 m", "h10", "10m5"])
    func rejectsGarbage(text: String) {
        #expect(DurationText.parse(text) == nil)
    }
}
