import Foundation
import OPECore
import OPEStore
import Testing

/// Pins the research export byte for byte: every kind of event the platform writes, with payloads
/// as their writers build them, exported as JSON Lines and CSV and compared with files committed
/// under `Golden/`. Researchers' scripts read these files, so a change of a key, a number's form or
/// a line ending shows up here.
///
/// After a deliberate change of the format, run once with `OPE_UPDATE_GOLDEN=1` to write the files
/// anew, and review their diff.
@Suite struct EventExportGoldenTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    @Test(arguments: EventExporter.Format.allCases)
    func exportMatchesTheGoldenFile(_ format: EventExporter.Format) async throws {
        let test = try TestStore()
        defer { test.remove() }
        _ = try await test.store.events.append(contentsOf: GoldenEvents.drafts)
        var text = ""
        try await EventExporter(format: format).export(from: test.store.reader, filter: EventFilter()) { text += $0 }
        let file = Self.golden.appendingPathComponent("events.\(format.rawValue)")
        if ProcessInfo.processInfo.environment["OPE_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: Self.golden, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: file)
        }
        let expected = try String(decoding: Data(contentsOf: file), as: UTF8.self)
        #expect(text.count == expected.count, "the export's length changed")
        // Line by line, so a failure names the event that changed rather than printing the whole file.
        let separator = format == .csv ? "\r\n" : "\n"
        let lines = text.components(separatedBy: separator)
        let expectedLines = expected.components(separatedBy: separator)
        #expect(lines.count == expectedLines.count)
        for (line, expectedLine) in zip(lines, expectedLines) where line != expectedLine {
            Issue.record("export line differs:\n  now:    \(line)\n  golden: \(expectedLine)")
        }
    }

    /// Readers get back from the log exactly what writers put in: every stored event reads as the
    /// one payload type of its kind, and that payload writes the same object again.
    @Test func everyEventReadsBackAsItsPayloadType() async throws {
        let test = try TestStore()
        defer { test.remove() }
        _ = try await test.store.events.append(contentsOf: GoldenEvents.drafts)
        for event in try await test.store.reader.events(EventFilter(), limit: 1000) {
            let readers = GoldenEvents.payloadTypes.filter { $0.eventTypes.contains(event.type) }
            if GoldenEvents.bareTypes.contains(event.type) {
                #expect(readers.isEmpty && event.payload.isEmpty, "\(event.type) carries no payload")
                continue
            }
            #expect(readers.count == 1, "\(event.type) should have exactly one payload type, has \(readers)")
            for reader in readers {
                #expect(Self.rewritten(event, as: reader) == event.payload, "\(event.type) as \(reader)")
            }
        }
    }

    /// The event's payload read as `type` and written again; nil if it does not read.
    static func rewritten<P: EventPayload>(_ event: Event, as type: P.Type) -> [String: JSONValue]? {
        event.decode(type).map { EventDraft(type: event.type, payload: $0).payload }
    }

    @Test func everyEventTypeIsCovered() {
        let written = Set(GoldenEvents.drafts.map(\.type))
        let missing = GoldenEvents.allTypes.filter { !written.contains($0) }
        #expect(missing.isEmpty, "event types without a golden example: \(missing)")
    }
}
