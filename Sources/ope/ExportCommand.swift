import ArgumentParser
import Foundation
import OPECLI
import OPECore
import OPEStore

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Export the research record.", subcommands: [Events.self])

    struct Events: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write events as JSON Lines or CSV, oldest first.")
        @Option(help: "jsonl or csv.") var format: EventExporter.Format = .jsonl
        @Option(help: "Only this session's events.") var session: String?
        @Option(help: "Only sessions on this module.") var module: String?
        @Option(help: "Only events at or after this time (ISO 8601 date or date-time).") var since: String?
        @Option(help: "Only events before this time.") var until: String?
        @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?
        @OptionGroup var data: DataOptions

        func run() async throws {
            var filter = EventFilter(session: session, module: module)
            if let since {
                guard let date = TimeParsing.parse(since) else { throw CLIError("--since '\(since)' is not a date like 2026-11-27 or 2026-11-27T09:30:00Z") }
                filter.since = date
            }
            if let until {
                guard let date = TimeParsing.parse(until) else { throw CLIError("--until '\(until)' is not a date like 2026-11-27 or 2026-11-27T09:30:00Z") }
                filter.until = date
            }
            let store = try Store.open(data)
            let handle: FileHandle
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: nil), let file = FileHandle(forWritingAtPath: output) else {
                    throw CLIError("cannot write \(output)")
                }
                handle = file
            } else {
                handle = FileHandle.standardOutput
            }
            try await EventExporter(format: format).export(from: store.reader, filter: filter) { chunk in
                try handle.write(contentsOf: Data(chunk.utf8))
            }
            if output != nil { try handle.synchronize() }
        }
    }
}

extension EventExporter.Format: ExpressibleByArgument {}
