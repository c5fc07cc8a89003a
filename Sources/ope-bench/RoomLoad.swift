import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import OPECore
import Synchronization

/// The team-room part of a load test: every participant holds a WebSocket, waits until all are
/// connected, sends its chat messages, and times how long each takes to reach each teammate.
final class RoomLoad: Sendable {
    struct Report {
        var connect: [Double]
        var fanOut: [Double]
        var connectErrors: Int
        var missing: Int
        var errorFrames: Int
    }

    private struct State {
        var connected = 0
        var done = 0
        var connect: [Double] = []
        var fanOut: [Double] = []
        var sent: [String: ContinuousClock.Instant] = [:]
        var expected = 0
        var connectErrors = 0
        var errorFrames = 0
        /// The servers' CPU seconds when everyone was connected and when the first participant
        /// was done chatting (before any socket closed): the chat phase between them.
        var chatStart: (time: ContinuousClock.Instant, cpu: [Double])?
        var chatEnd: (time: ContinuousClock.Instant, cpu: [Double])?
    }

    let users: Int
    let messages: Int
    let interval: Double
    let logger: Logger
    /// Each server process's CPU seconds so far.
    let cpu: @Sendable () -> [Double]
    private let state = Mutex(State())

    init(users: Int, messages: Int, interval: Double, logger: Logger, cpu: @escaping @Sendable () -> [Double]) {
        self.users = users
        self.messages = messages
        self.interval = interval
        self.logger = logger
        self.cpu = cpu
    }

    /// The chat phase: its length and each server process's CPU seconds in it.
    var chatPhase: (seconds: Double, cpu: [Double])? {
        state.withLock { state in
            guard let start = state.chatStart, let end = state.chatEnd else { return nil }
            return ((end.time - start.time).timeInterval, zip(end.cpu, start.cpu).map { $0 - $1 })
        }
    }

    /// CPU seconds when everyone had connected (the connect phase's end), all processes together.
    var connectedCPU: Double? { state.withLock { $0.chatStart?.cpu.reduce(0, +) } }

    private func mark(_ phase: WritableKeyPath<State, (time: ContinuousClock.Instant, cpu: [Double])?>) {
        guard state.withLock({ $0[keyPath: phase] == nil }) else { return }
        let reading = (ContinuousClock.now, cpu())
        state.withLock { if $0[keyPath: phase] == nil { $0[keyPath: phase] = reading } }
    }

    var finished: Bool { state.withLock { $0.done >= users } }

    func report() -> Report {
        state.withLock { state in
            Report(
                connect: state.connect, fanOut: state.fanOut, connectErrors: state.connectErrors,
                missing: max(0, state.expected - state.fanOut.count), errorFrames: state.errorFrames
            )
        }
    }

    /// One participant's connection, from open to close.
    func run(user: String, token: String, url: String, teammates: Int) async {
        let started = ContinuousClock.now
        let expectedPerMessage = teammates
        do {
            var configuration = WebSocketClientConfiguration()
            configuration.additionalHeaders = [.authorization: "Bearer \(token)"]
            try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) { inbound, outbound, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for try await message in inbound.messages(maxSize: 1 << 20) {
                            guard case .text(let text) = message else { continue }
                            self.receive(text, user: user, started: started)
                        }
                    }
                    group.addTask {
                        try await self.waitForEveryone()
                        // Spread the first messages over one interval so they do not all land at once.
                        try await Task.sleep(for: .seconds(Double.random(in: 0..<self.interval)))
                        for index in 0..<self.messages {
                            let clientId = "\(user)-\(index)"
                            self.state.withLock {
                                $0.sent[clientId] = ContinuousClock.now
                                $0.expected += expectedPerMessage
                            }
                            try await outbound.write(.text(#"{"type":"chat","clientId":"\#(clientId)","text":"load test message \#(index)"}"#))
                            try await Task.sleep(for: .seconds(self.interval))
                        }
                        // Let the last messages arrive before closing.
                        try await Task.sleep(for: .seconds(3))
                        self.mark(\.chatEnd)
                    }
                    try await group.next()
                    group.cancelAll()
                }
            }
        } catch {
            state.withLock { $0.connectErrors += 1 }
            logger.warning("connection failed", metadata: ["user": "\(user)", "error": "\(error)"])
        }
        state.withLock {
            $0.done += 1
        }
    }

    private func receive(_ text: String, user: String, started: ContinuousClock.Instant) {
        let now = ContinuousClock.now
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], let type = object["type"] as? String else { return }
        switch type {
        case "synced":
            state.withLock {
                $0.connected += 1
                $0.connect.append((now - started).timeInterval)
            }
        case "chat":
            guard let from = object["from"] as? String, from != user, let clientId = object["clientId"] as? String else { return }
            state.withLock { state in
                if let sent = state.sent[clientId] { state.fanOut.append((now - sent).timeInterval) }
            }
        case "error":
            state.withLock { $0.errorFrames += 1 }
        default:
            break
        }
    }

    private func waitForEveryone() async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while state.withLock({ $0.connected + $0.connectErrors < users }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        mark(\.chatStart)
    }
}
