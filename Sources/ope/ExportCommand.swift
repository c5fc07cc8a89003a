import ArgumentParser
import Foundation
import OPECLI
import OPECluster
import OPECore
import OPERuntime
import OPEStore

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Export the research record.", subcommands: [Events.self, ContributionsCommand.self])

    struct Events: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write events as JSON Lines or CSV, oldest first.")
        @Option(help: "jsonl or csv.") var format: EventExporter.Format = .jsonl
        @Option(help: "Only this session's events.") var session: String?
        @Option(help: "Only sessions on this module.") var module: String?
        @Option(help: "Only events at or after this time (ISO 8601 date or date-time).") var since: String?
        @Option(help: "Only events before this time.") var until: String?
        @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?
        @OptionGroup var data: DataOptions
        @Option(
            name: .customLong("cores"),
            help: "A running cluster's cores (HOST:PORT, comma-separated, in core order): merge their logs instead of reading --data.")
        var cores: String?
        @Option(name: .customLong("cluster-token-file"), help: "With --cores: file holding the cluster's token (default: $OPE_CLUSTER_TOKEN).")
        var clusterTokenFile: String?

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
            let handle: FileHandle
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: nil), let file = FileHandle(forWritingAtPath: output) else {
                    throw CLIError("cannot write \(output)")
                }
                handle = file
            } else {
                handle = FileHandle.standardOutput
            }
            if let cores {
                try await exportCluster(cores: cores, filter: filter, to: handle)
            } else {
                let store = try Store.open(data)
                try await EventExporter(format: format).export(from: store.reader, filter: filter) { chunk in
                    try handle.write(contentsOf: Data(chunk.utf8))
                }
            }
            if output != nil { try handle.synchronize() }
        }
    }
}

extension ExportCommand.Events {
    /// Every core's log, merged (see ``ClusterExport``), with a progress bar when standard error is a terminal.
    func exportCluster(cores list: String, filter: EventFilter, to handle: FileHandle) async throws {
        let token = try ClusterToken.read(file: clusterTokenFile)
        let remotes = try ClusterAddress.parseList(list).map { address in
            try RemoteRuntime(configuration: .init(host: address.host, port: address.port, token: token))
        }
        let bar = ProgressBar(enabled: isatty(STDERR_FILENO) == 1)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for remote in remotes { group.addTask { try await remote.run() } }
                defer { for remote in remotes { remote.beginGracefulShutdown() } }
                try await ClusterExport(cores: remotes, format: format).run(filter) { chunk in
                    try handle.write(contentsOf: Data(chunk.utf8))
                } progress: { progress in
                    bar.show(progress.fraction, "\(progress.written) events from \(remotes.count) cores")
                }
            }
            bar.finish()
        } catch let error as RuntimeError {
            bar.finish()
            throw CLIError("the export stopped: \(error.message)")
        }
    }
}

extension EventExporter.Format: ExpressibleByArgument {}

extension ExportCommand {
    /// Per team and member: seconds in each role, edits, cell runs, chat messages, test runs.
    struct ContributionsCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "contributions",
            abstract: "Write each team's contributions, one row per session and member (seconds in each role, edits, runs, chat, test runs).")
        enum Format: String, ExpressibleByArgument { case csv, jsonl }
        @Option(help: "csv or jsonl.") var format: Format = .csv
        @Option(help: "Only this session.") var session: String?
        @Option(help: "Only sessions on this module.") var module: String?
        @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?
        @OptionGroup var data: DataOptions

        func run() async throws {
            let store = try Store.open(data)
            var report = Contributions.Report()
            try await store.reader.forEach(EventFilter(session: session, module: module)) { page in report.add(page) }
            let sessions = report.contributions(now: Date())
            let text = format == .csv ? Contributions.csv(sessions) : try Contributions.jsonLines(sessions)
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: Data(text.utf8)) else { throw CLIError("cannot write \(output)") }
            } else {
                try FileHandle.standardOutput.write(contentsOf: Data(text.utf8))
            }
        }
    }
}
