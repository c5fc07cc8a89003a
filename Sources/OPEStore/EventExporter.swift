import Foundation
import OPECore

/// Writes events for researchers: JSON Lines (one event object per line) or CSV.
public struct EventExporter: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case jsonl
        case csv

        public var contentType: String { self == .jsonl ? "application/x-ndjson" : "text/csv; charset=utf-8" }
    }

    public let format: Format
    /// A cluster's export: every line says which core's log it comes from (`core`), since each
    /// core numbers its events itself.
    public let cluster: Bool

    public init(format: Format, cluster: Bool = false) {
        self.format = format
        self.cluster = cluster
    }

    /// The CSV header line, written before any event (JSONL has none).
    public var header: String? {
        guard format == .csv else { return nil }
        return (cluster ? "core," : "") + "id,time,type,actor,session,payload\r\n"
    }

    /// One event as one line of the export, newline included; `core` is where it was logged, in a cluster's export.
    public func line(_ event: Event, core: Int? = nil) throws -> String {
        switch format {
        case .jsonl:
            var object = ExportedEvent(event)
            object.core = cluster ? core : nil
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return String(decoding: try encoder.encode(object), as: UTF8.self) + "\n"
        case .csv:
            let fields =
                (cluster ? [core.map(String.init) ?? ""] : []) + [
                    String(event.id), Self.timestamp(event.time), event.type.rawValue, event.actor ?? "", event.session ?? "",
                    try EventCoding.payloadJSON(event.payload),
                ]
            return fields.map(Self.csvField).joined(separator: ",") + "\r\n"
        }
    }

    /// Exports every event matching `filter` from `reader`, handing text chunks to `write`.
    public func export(from reader: EventReader, filter: EventFilter, write: (String) async throws -> Void) async throws {
        if let header { try await write(header) }
        try await reader.forEach(filter) { page in try await write(try chunk(page)) }
    }

    /// A page of events as one text chunk of the export.
    public func chunk(_ page: [Event]) throws -> String {
        var chunk = ""
        for event in page { chunk += try line(event) }
        return chunk
    }

    /// ISO 8601 in UTC with milliseconds, the form spreadsheets and pandas read without help.
    public static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    static func csvField(_ text: String) -> String {
        // RFC 4180: quote fields holding separators, quotes or line breaks; double inner quotes.
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// The JSON shape of an exported event, with the time as ISO 8601 text (a team room sends events
/// that have no message of their own in this shape too).
public struct ExportedEvent: Codable, Sendable {
    /// The core whose log holds the event (a cluster's export only; ids are per core).
    public var core: Int?
    public var id: Int64
    public var time: String
    public var type: String
    public var actor: String?
    public var session: String?
    public var payload: [String: JSONValue]

    public init(_ event: Event) {
        id = event.id
        time = EventExporter.timestamp(event.time)
        type = event.type.rawValue
        actor = event.actor
        session = event.session
        payload = event.payload
    }
}
