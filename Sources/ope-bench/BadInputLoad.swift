import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import OPECore
import Synchronization

/// Misbehaving clients a load test adds beside the well-behaved ones (`--layouts bad`): one client
/// sending 1 MiB frames again and again, and sockets that never read what the room sends them.
/// A third misbehaviour, a team whose bot plan fails on every step, is a module
/// (``brokenBotModule(in:)``).
final class BadInputLoad: Sendable {
    struct Report {
        var oversizedSent = 0
        /// How the server ended each oversized frame's socket: close code and reason, counted.
        var oversizedEndings: [String: Int] = [:]
        var nonReadersOpened = 0
        var nonReadersFailed = 0
    }

    private let report = Mutex(Report())
    let logger: Logger

    init(logger: Logger) { self.logger = logger }

    var figures: Report { report.withLock { $0 } }

    /// Sends a 1 MiB text frame on a fresh room socket every half second until `done` says so,
    /// and notes how the server ended each socket.
    func sendOversizedFrames(url: String, token: String, done: @escaping @Sendable () -> Bool) async {
        let frame = String(repeating: "x", count: 1 << 20)
        while !done() {
            let ending: String
            do {
                let close = try await openRoomSocket(url: url, token: token, logger: logger) { inbound, outbound in
                    try await outbound.write(.text(frame))
                    self.report.withLock { $0.oversizedSent += 1 }
                    for try await _ in inbound {}
                }
                ending = close.map { "\($0.closeCode) \"\($0.reason ?? "")\"" } ?? "closed without a close frame"
            } catch {
                ending = "error: \(error)"
            }
            report.withLock { $0.oversizedEndings[ending, default: 0] += 1 }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    /// Opens a room socket that never reads (the client's TCP window fills and the server's writes
    /// to it wait) and holds it until `done` says so.
    func holdWithoutReading(url: String, token: String, done: @escaping @Sendable () -> Bool) async {
        do {
            try await openRoomSocket(url: url, token: token, logger: logger) { _, _ in
                self.report.withLock { $0.nonReadersOpened += 1 }
                while !done() { try await Task.sleep(for: .milliseconds(200)) }
            }
        } catch {
            report.withLock { $0.nonReadersFailed += 1 }
        }
    }

    /// The id of the module whose bot fails on every step.
    static let brokenBotModule = "loadtest-broken-bot"

    /// Copies the modules folder `source` into `folder` and adds a module whose bot plan fails on
    /// every step for the rest of the run: a `run` (the load test's server has no workspaces) and
    /// an `external` message to an address that refuses connections, alternating every second.
    static func modulesWithBrokenBot(source: String, folder: String) throws -> String {
        let fileManager = FileManager.default
        try? fileManager.removeItem(atPath: folder)
        try fileManager.copyItem(atPath: source, toPath: folder)
        let module = folder + "/" + brokenBotModule
        try fileManager.createDirectory(atPath: module + "/bot", withIntermediateDirectories: true)
        try """
        id: \(brokenBotModule)
        title: "A team whose bot fails on every step"
        kit: python
        group: {min: 1, target: 2, max: 2}
        roles: [driver, navigator]
        matching: {mode: dynamic, open: true, settle: 1s, giveUp: 5m}
        plan: bot/broken.yaml
        tasks:
          - id: nothing
            title: Nothing
            instructions: "Nothing to do."
        """.write(toFile: module + "/module.yaml", atomically: true, encoding: .utf8)
        let steps = (0..<600).map { index in
            index % 2 == 0 ? "      - {run: \"exit 1\", delay: 1s}" : "      - {external: \"step=\(index)\", delay: 1s}"
        }
        try """
        name: Broken
        launch: {members: 1, timeout: 1s}
        externalURL: http://127.0.0.1:9/
        stages:
          - name: failing
            steps:
        \(steps.joined(separator: "\n"))
        """.write(toFile: module + "/bot/broken.yaml", atomically: true, encoding: .utf8)
        return folder
    }
}
