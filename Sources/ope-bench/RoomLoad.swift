import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import OPECore
import Synchronization

/// The team-room part of a load test: every participant holds a WebSocket, waits until all are
/// connected, sends its chat messages, and times how long each takes to reach each teammate.
///
/// With a reconnect storm, each participant then keeps its socket until the server goes away and
/// reconnects as the session page does (full jitter over a window growing from 1 s to 10 s,
/// resuming after the last event it saw), and the load test restarts the server under them.
final class RoomLoad: Sendable {
    struct Report {
        var connect: [Double]
        var fanOut: [Double]
        /// Deliveries over ``RoomLoad/slowDelivery``: when the message was sent (seconds into the
        /// chat phase) and how long it took, to tell one stall from a slow phase.
        var slow: [(sentAt: Double, latency: Double)]
        var connectErrors: Int
        var missing: Int
        var errorFrames: Int
        /// Chat messages that reached someone outside the sender's team: a room shown another
        /// room's traffic (counted as errors, and not as deliveries).
        var strays: Int
    }

    /// What the reconnect storm did.
    struct StormReport {
        /// Each reconnect's last attempt, from opening the socket to the room's `synced`.
        var connect: [Double]
        /// From the server being back (its ready line) to each participant's `synced`.
        var sinceBack: [Double]
        /// Attempts that failed (the server still down, or refused) before the one that worked.
        var failedAttempts: Int
        var reconnected: Int
        /// Participants that gave up (no room within the storm's bound).
        var lost: Int
    }

    private struct State {
        var connected = 0
        var done = 0
        var connect: [Double] = []
        var fanOut: [Double] = []
        var slow: [(sentAt: Double, latency: Double)] = []
        /// Each chat message by client id: when it was sent, and to which room (its socket's URL).
        var sent: [String: (at: ContinuousClock.Instant, room: String)] = [:]
        var expected = 0
        var connectErrors = 0
        var errorFrames = 0
        var strays = 0
        /// The servers' CPU seconds when everyone was connected and when the first participant
        /// was done chatting (before any socket closed): the chat phase between them.
        var chatStart: (time: ContinuousClock.Instant, usage: [ProcessUsage])?
        var chatEnd: (time: ContinuousClock.Instant, usage: [ProcessUsage])?
        /// Participants done chatting (still connected when there is a storm to come).
        var chatted = 0
        /// The last event id each participant saw, to resume from as the page does.
        var lastIds: [String: Int] = [:]
        var serverBack: ContinuousClock.Instant?
        var storm = StormReport(connect: [], sinceBack: [], failedAttempts: 0, reconnected: 0, lost: 0)
        /// Participants waiting for everyone to connect, released together (see `waitForEveryone`).
        var waiting: [UUID: CheckedContinuation<Void, Never>] = [:]
        var everyoneIn = false
        var deadlineArmed = false
    }

    /// A delivery slower than this (seconds) is listed with when it was sent.
    static let slowDelivery = 0.1

    let users: Int
    let messages: Int
    let interval: Double
    let logger: Logger
    /// Whether participants stay connected after chatting, for a reconnect storm.
    let storm: Bool
    /// Each server process's CPU seconds and context switches so far.
    let usage: @Sendable () -> [ProcessUsage]
    private let state = Mutex(State())

    init(users: Int, messages: Int, interval: Double, storm: Bool = false, logger: Logger, usage: @escaping @Sendable () -> [ProcessUsage]) {
        self.users = users
        self.messages = messages
        self.interval = interval
        self.storm = storm
        self.logger = logger
        self.usage = usage
    }

    /// Whether every participant that connected has sent all its messages (and, with a storm to
    /// come, is waiting for the server to go away).
    var allChatted: Bool { state.withLock { $0.chatted + $0.connectErrors >= users } }

    /// Whether everyone has connected (the chat phase began).
    var chatStarted: Bool { state.withLock { $0.chatStart != nil } }

    /// The server is answering again after its restart: reconnects are timed from now.
    func serverIsBack() { state.withLock { $0.serverBack = ContinuousClock.now } }

    var stormReport: StormReport { state.withLock { $0.storm } }

    /// Whether every participant of the storm has its room back or gave up.
    var stormSettled: Bool { state.withLock { $0.storm.reconnected + $0.storm.lost + $0.connectErrors >= users } }

    /// The chat phase: its length and each server process's CPU seconds in it.
    var chatPhase: (seconds: Double, cpu: [Double], switches: [Int])? {
        state.withLock { state in
            guard let start = state.chatStart, let end = state.chatEnd else { return nil }
            return (
                (end.time - start.time).timeInterval, zip(end.usage, start.usage).map { $0.cpu - $1.cpu },
                zip(end.usage, start.usage).map { $0.switches - $1.switches }
            )
        }
    }

    /// CPU seconds when everyone had connected (the connect phase's end), all processes together.
    var connectedCPU: Double? { state.withLock { $0.chatStart?.usage.map(\.cpu).reduce(0, +) } }

    private func mark(_ phase: WritableKeyPath<State, (time: ContinuousClock.Instant, usage: [ProcessUsage])?>) {
        guard state.withLock({ $0[keyPath: phase] == nil }) else { return }
        let reading = (ContinuousClock.now, usage())
        state.withLock { if $0[keyPath: phase] == nil { $0[keyPath: phase] = reading } }
    }

    var finished: Bool { state.withLock { $0.done >= users } }

    func report() -> Report {
        state.withLock { state in
            Report(
                connect: state.connect, fanOut: state.fanOut, slow: state.slow, connectErrors: state.connectErrors,
                missing: max(0, state.expected - state.fanOut.count), errorFrames: state.errorFrames, strays: state.strays
            )
        }
    }

    /// One participant's connection, from open to close (and, with a storm, its reconnect).
    func run(user: String, token: String, url: String, teammates: Int) async {
        let started = ContinuousClock.now
        let expectedPerMessage = teammates
        let chatted = Locked(false)
        do {
            try await openRoomSocket(url: url, token: token, logger: logger) { inbound, outbound in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for try await message in inbound.messages(maxSize: 1 << 20) {
                            guard case .text(let text) = message else { continue }
                            self.receive(text, user: user, room: url, started: started)
                        }
                    }
                    group.addTask {
                        try await self.waitForEveryone()
                        // Spread the first messages over one interval so they do not all land at once.
                        try await Task.sleep(for: .seconds(Double.random(in: 0..<self.interval)))
                        for index in 0..<self.messages {
                            let clientId = "\(user)-\(index)"
                            self.state.withLock {
                                $0.sent[clientId] = (ContinuousClock.now, url)
                                $0.expected += expectedPerMessage
                            }
                            try await outbound.write(.text(#"{"type":"chat","clientId":"\#(clientId)","text":"load test message \#(index)"}"#))
                            try await Task.sleep(for: .seconds(self.interval))
                        }
                        // Let the last messages arrive before closing.
                        try await Task.sleep(for: .seconds(3))
                        self.mark(\.chatEnd)
                        self.state.withLock { $0.chatted += 1 }
                        chatted.value = true
                        // With a storm to come the socket stays open until the server goes away
                        // (the reader then ends, and the group with it).
                        if self.storm { try await Task.sleep(for: .seconds(24 * 3600)) }
                    }
                    try await group.next()
                    group.cancelAll()
                }
            }
        } catch {
            // A storm's socket ends in an error when the server goes away: that is the storm.
            if !storm || !chatted.value {
                state.withLock { $0.connectErrors += 1 }
                releaseIfEveryoneIn()
                logger.warning("connection failed", metadata: ["user": "\(user)", "error": "\(error)"])
            }
        }
        if storm, chatted.value { await reconnect(user: user, token: token, url: url) }
        state.withLock {
            $0.done += 1
        }
    }

    /// Reconnects as the session page does after its socket closed: wait 100 ms plus a random
    /// part of a window that doubles from 1 s up to 10 s with each failure, then open the room
    /// again after the last event seen.
    private func reconnect(user: String, token: String, url: String) async {
        let deadline = ContinuousClock.now + .seconds(300)
        var retry = 0
        while ContinuousClock.now < deadline {
            retry += 1
            let window = min(10.0, 0.5 * Double(1 << min(retry, 5)))
            try? await Task.sleep(for: .seconds(0.1 + Double.random(in: 0..<window)))
            let after = state.withLock { $0.lastIds[user] ?? 0 }
            let attempt = ContinuousClock.now
            let synced = Locked(false)
            do {
                try await openRoomSocket(url: url + (after > 0 ? "?after=\(after)" : ""), token: token, logger: logger) { inbound, _ in
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message, Self.stringField("type", in: text) == "synced" else { continue }
                        let now = ContinuousClock.now
                        synced.value = true
                        self.state.withLock { state in
                            state.storm.reconnected += 1
                            state.storm.connect.append((now - attempt).timeInterval)
                            if let back = state.serverBack { state.storm.sinceBack.append(max(0, (now - back).timeInterval)) }
                        }
                        return
                    }
                }
            } catch {}
            if synced.value { return }
            state.withLock { $0.storm.failedAttempts += 1 }
        }
        state.withLock { $0.storm.lost += 1 }
    }

    private func receive(_ text: String, user: String, room: String, started: ContinuousClock.Instant) {
        let now = ContinuousClock.now
        // The load generator shares the machine with the server it measures, so it reads only
        // what it needs: the type and id by a scan, and the whole JSON of chat messages alone.
        guard let type = Self.stringField("type", in: text) else { return }
        if let id = Self.numberField("id", in: text) { state.withLock { $0.lastIds[user] = max($0.lastIds[user] ?? 0, id) } }
        switch type {
        case "synced":
            state.withLock {
                $0.connected += 1
                $0.connect.append((now - started).timeInterval)
            }
            releaseIfEveryoneIn()
        case "chat":
            guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                let from = object["from"] as? String, from != user, let clientId = object["clientId"] as? String
            else { return }
            state.withLock { state in
                guard let (sent, sentTo) = state.sent[clientId] else { return }
                guard sentTo == room else {
                    state.strays += 1
                    return
                }
                let latency = (now - sent).timeInterval
                state.fanOut.append(latency)
                if latency > Self.slowDelivery, let start = state.chatStart?.time { state.slow.append(((sent - start).timeInterval, latency)) }
            }
        case "error":
            state.withLock { $0.errorFrames += 1 }
        default:
            break
        }
    }

    /// The string after the last `"name":"` in a room message: OPE writes compact JSON with sorted
    /// keys, so a nested object (an event's own `type`) comes before the message's own key.
    static func stringField(_ name: String, in text: String) -> String? {
        guard let start = text.range(of: "\"\(name)\":\"", options: .backwards) else { return nil }
        return String(text[start.upperBound...].prefix { $0 != "\"" })
    }

    /// The whole number after the first `"name":` in a room message (an event's nested `id` is
    /// the message's own).
    static func numberField(_ name: String, in text: String) -> Int? {
        guard let start = text.range(of: "\"\(name)\":") else { return nil }
        return Int(text[start.upperBound...].prefix { $0.isNumber })
    }

    /// Returns once every participant has connected or failed to (at most two minutes after the
    /// first one asked). The waiters park on one list and are released together: 10,000 of them
    /// polling a lock every 50 ms were 200,000 wake-ups a second of the load generator's, on the
    /// cores the server's connect phase is measured on.
    private func waitForEveryone() async throws {
        let id = UUID()
        let arm = state.withLock { state in
            defer { state.deadlineArmed = true }
            return !state.deadlineArmed
        }
        if arm {
            Task { [self] in
                try? await Task.sleep(for: .seconds(120))
                releaseIfEveryoneIn(deadlinePassed: true)
            }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let released = state.withLock { state in
                    if state.everyoneIn || Task.isCancelled { return true }
                    state.waiting[id] = continuation
                    return false
                }
                if released { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiting.removeValue(forKey: id) }?.resume()
        }
        try Task.checkCancellation()
    }

    /// Releases the participants waiting in `waitForEveryone` once all have connected or failed
    /// (or the wait's deadline passed), and marks the chat phase's start.
    private func releaseIfEveryoneIn(deadlinePassed: Bool = false) {
        let released = state.withLock { state -> [CheckedContinuation<Void, Never>]? in
            guard !state.everyoneIn, deadlinePassed || state.connected + state.connectErrors >= users else { return nil }
            state.everyoneIn = true
            defer { state.waiting.removeAll() }
            return Array(state.waiting.values)
        }
        guard let released else { return }
        mark(\.chatStart)
        for continuation in released { continuation.resume() }
    }
}
