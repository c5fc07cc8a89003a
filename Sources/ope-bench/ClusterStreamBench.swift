import ArgumentParser
import Foundation
import Logging
import OPECLI
import OPECluster
import OPECore
import OPERuntime
import OPEStore
import ServiceLifecycle
import Synchronization

/// `ope-bench cluster-stream`: what the gRPC hop between an edge and a core costs a chat message.
///
/// A core runs in this process (a `Runtime` on a fresh store, served by `CoreServer` on loopback).
/// The same chat messages are sent at a fixed rate twice: straight to the runtime with its own
/// subscription (the all-in-one path), and through `RemoteRuntime` over the room stream (the edge's
/// path: edge → core → edge). The time from send to delivery of the committed event is
/// measured on both, in the same run, and so is what a message costs this process (the core and
/// the edge together): CPU time and context switches, each hop between threads being one.
struct ClusterStreamBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster-stream",
        abstract: "Chat round trip edge → core → edge over gRPC against the in-process path, at fixed message rates.")

    @Option(help: "Message rates to measure, per second, comma-separated.") var rates: String = "1000,10000"
    @Option(help: "Seconds of sending per rate and path.") var seconds: Double = 3
    @Option(name: .customLong("modules"), help: "Modules folder for the core.") var modulesFolder: String = "examples/modules"

    func run() async throws {
        let rateList = rates.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !rateList.isEmpty, rateList.allSatisfy({ $0 > 0 }) else { throw CLIError("--rates: positive numbers, e.g. 1000,10000") }
        var logger = Logger(label: "ope.bench")
        logger.logLevel = .warning
        let folder = NSTemporaryDirectory() + "ope-bench-stream-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try Store(dataDirectory: folder)
        var configuration = RuntimeConfiguration(moduleFolders: [modulesFolder])
        configuration.shard = ShardPlace(index: 0, of: ShardMap(count: 1))
        let runtime = try await Runtime(configuration, store: store, logger: logger)
        let token = SecretToken.password() + SecretToken.password()
        let server = CoreServer(runtime: runtime, configuration: .init(host: "127.0.0.1", port: 0, token: token), logger: logger)
        let group = ServiceGroup(services: runtime.services + [server], gracefulShutdownSignals: [], logger: logger)
        let running = Task { try await group.run() }
        defer { running.cancel() }
        let port = try await server.port
        let remote = try RemoteRuntime(configuration: .init(host: "127.0.0.1", port: port, token: token))
        let connections = Task { try await remote.run() }
        defer {
            remote.beginGracefulShutdown()
            connections.cancel()
        }

        // One team to chat in (the lobby forms a pair at once).
        _ = try await runtime.join(user: "bench-a", module: "python-intro", leaving: nil)
        _ = try await runtime.join(user: "bench-b", module: "python-intro", leaving: nil)
        guard case .matched(let session) = await runtime.committedStatus(of: "bench-a") else { throw CLIError("the bench team did not form") }

        print("rate (msg/s)   path                       sent     p50        p99        max        CPU/msg    switches/msg")
        for rate in rateList {
            for (name, api) in [("in process", runtime as any RuntimeAPI), ("edge -> core -> edge", remote as any RuntimeAPI)] {
                let own = RSSSampler(pid: getpid())
                let before = (own.cpuSeconds, own.contextSwitches)
                let result = try await measure(api, session: session, rate: rate)
                let cost = String(format: "%.0f µs", (own.cpuSeconds - before.0) / Double(result.count) * 1e6).padding(
                    toLength: 11, withPad: " ", startingAt: 0)
                let switches = String(format: "%.1f", Double(own.contextSwitches - before.1) / Double(result.count))
                print(
                    String(rate).padding(toLength: 15, withPad: " ", startingAt: 0) + name.padding(toLength: 27, withPad: " ", startingAt: 0)
                        + String(result.count).padding(toLength: 9, withPad: " ", startingAt: 0)
                        + Self.figures(result.latencies).padding(toLength: 33, withPad: " ", startingAt: 0) + cost + switches
                        + (result.lost > 0 ? "   \(result.lost) not delivered" : ""))
            }
        }
        await group.triggerGracefulShutdown()
    }

    /// Sends `rate` messages a second for `seconds` through `api`; the delivery times through its subscription.
    func measure(_ api: any RuntimeAPI, session: String, rate: Int) async throws -> (count: Int, latencies: [Double], lost: Int) {
        let tally = Tally()
        let run = String(UUID().uuidString.prefix(8))
        let subscription = await api.subscribe { events in
            let now = ContinuousClock.now
            for event in events where event.type == .chatMessage {
                guard let id = event.decode(ChatPayload.self)?.clientId, let start = tally.sent.withLock({ $0.removeValue(forKey: id) }) else { continue }
                tally.latencies.withLock { $0.append((now - start).timeInterval) }
            }
        }
        try await api.openRoom(session)
        let total = Int(Double(rate) * seconds)
        // Messages go out in ticks of 10 ms, each its own task, so a slow answer does not slow the rate.
        let perTick = max(1, rate / 100)
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            var tick = 0
            while next < total {
                for _ in 0..<min(perTick, total - next) {
                    let id = "\(run)-\(next)"
                    next += 1
                    group.addTask {
                        tally.sent.withLock { $0[id] = ContinuousClock.now }
                        _ = try await api.chat("a message of an ordinary length for the bench", clientID: id, session: session, by: "bench-a")
                    }
                }
                tick += 1
                try await Task.sleep(until: start + .milliseconds(10 * tick))
            }
            try await group.waitForAll()
        }
        // Deliveries still on their way: wait for them, a while at most.
        let deadline = ContinuousClock.now + .seconds(10)
        while tally.sent.withLock({ !$0.isEmpty }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        await subscription.cancel()
        await api.closeRoom(session)
        return (total, tally.latencies.withLock { $0 }, tally.sent.withLock { $0.count })
    }

    /// Send times of messages not delivered yet, and delivery latencies.
    final class Tally: Sendable {
        let sent = Mutex<[String: ContinuousClock.Instant]>([:])
        let latencies = Mutex<[Double]>([])
    }

    static func figures(_ values: [Double]) -> String {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return "no deliveries" }
        func at(_ quantile: Double) -> String {
            String(format: "%.2f ms", sorted[min(sorted.count - 1, Int(Double(sorted.count) * quantile))] * 1000).padding(
                toLength: 11, withPad: " ", startingAt: 0)
        }
        return at(0.5) + at(0.99) + String(format: "%.2f ms", sorted.last! * 1000)
    }
}
