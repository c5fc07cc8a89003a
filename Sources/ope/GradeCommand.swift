import ArgumentParser
import Foundation
import Logging
import OPECLI
import OPEGrading
import ServiceLifecycle
import UnixSignals

/// `ope grade`: the grading service of a workspace pod.
struct GradeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grade",
        abstract: "Run task tests next to a team's files: the grading service of a workspace pod.",
        subcommands: [GradeServeCommand.self]
    )
}

/// `ope grade serve`: what the grading container of a workspace pod runs.
struct GradeServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve ope.grading.v1.Grading over gRPC (HTTP/2): run a task's tests on a copy of the team's files with the hidden tests laid over it.",
        discussion: """
            Every call must carry `authorization: Bearer <token>` with the token from --token-file or $OPE_GRADING_TOKEN.
            The tests run with a small environment of their own (PATH, LANG, LC_ALL and TZ of this process, the request's variables, OPE's), never this process's.
            SIGTERM or SIGINT stop it after the runs in flight have finished. See docs/grading.md.
            """
    )

    @Option(help: "The team's files (the workspace volume, read-only is enough).") var files: String
    @Option(help: "The module's hidden tests; a request's test files are relative to it.") var tests: String
    @Option(help: "Address to listen on.") var host = "0.0.0.0"
    @Option(help: "Port to listen on (0: any free one, printed at the start).") var port = 50051
    @Option(help: "File holding the bearer token (default: $OPE_GRADING_TOKEN).") var tokenFile: String?
    @Option(help: "Test runs at once; one more is refused (RESOURCE_EXHAUSTED).") var maxConcurrent = 2
    @Option(help: "Where the runs' scratch copies are made (default: the temporary folder).") var scratch: String?
    @Option(help: "TLS certificate chain (PEM); with --tls-key, serve TLS instead of plaintext.") var tlsCertificate: String?
    @Option(help: "TLS private key (PEM) of --tls-certificate.") var tlsKey: String?

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
        let logger = Logger(label: "ope.grading")
        let token = try readToken()
        for (option, folder) in [("--files", files), ("--tests", tests)] {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
                throw CLIError("\(option) \(folder): no such folder")
            }
        }
        guard maxConcurrent >= 1 else { throw CLIError("--max-concurrent must be at least 1") }
        guard (0...65535).contains(port) else { throw CLIError("--port \(port): expected 0 to 65535") }
        var serverConfiguration = GradingServer.Configuration(host: host, port: port, token: token)
        switch (tlsCertificate, tlsKey) {
        case (nil, nil): break
        case (let certificate?, let key?): serverConfiguration.useTLS(certificateChainFile: certificate, privateKeyFile: key)
        default: throw CLIError("--tls-certificate and --tls-key go together")
        }
        let runner = GradingRunner(
            configuration: .init(
                filesFolder: files, testsFolder: tests, scratchFolder: scratch ?? NSTemporaryDirectory(), maxConcurrent: maxConcurrent),
            logger: logger)
        let server = GradingServer(runner: runner, configuration: serverConfiguration, logger: logger)
        logger.info(
            "ope grade serve starting",
            metadata: [
                "files": "\(files)", "tests": "\(tests)", "max-concurrent": "\(maxConcurrent)", "tls": "\(tlsCertificate == nil ? "off" : "on")",
            ])
        let group = ServiceGroup(configuration: .init(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// The token from --token-file (its first line) or $OPE_GRADING_TOKEN; never from the command line, where `ps` shows it.
    func readToken() throws -> String {
        let token: String
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else { throw CLIError("--token-file \(tokenFile): cannot be read") }
            token = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        } else {
            token = ProcessInfo.processInfo.environment["OPE_GRADING_TOKEN"] ?? ""
        }
        let trimmed = token.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw CLIError("no token: give --token-file FILE or set OPE_GRADING_TOKEN") }
        return trimmed
    }
}
