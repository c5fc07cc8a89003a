import ArgumentParser
import AsyncHTTPClient
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import NIOHTTP1
import OPECore
import OPEStore
import Synchronization

/// `ope-bench loadtest`: many simulated participants against a real `ope serve` on this machine.
struct LoadTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadtest",
        abstract: "Sign in N users, match them in the lobby and chat in their rooms; report latencies, errors and server memory.",
        discussion: """
            Starts `ope serve --workspaces none` (the `ope` beside `ope-bench`, or --ope) on a free loopback port with a \
            fresh data dir. Users are provisioned with API tokens (so password hashing does not dominate); password \
            sign-in throughput is measured separately on a smaller set. Raise `ulimit -n` first for large N \
            (scripts/loadtest.sh does).
            """
    )

    @Option(help: "Simulated participants.") var users: Int = 1000
    @Option(help: "Module to join (its group target decides the group size).") var module: String = "python-intro"
    @Option(name: .customLong("modules"), help: "Modules folder for the server.") var modulesFolder: String = "examples/modules"
    @Option(help: "Chat messages each participant sends.") var messages: Int = 5
    @Option(help: "Seconds between a participant's messages.") var interval: Double = 2
    @Option(help: "HTTP requests in flight at once.") var concurrency: Int = 256
    @Option(name: .customLong("password-sign-ins"), help: "Accounts used to measure password sign-in throughput.") var passwordSignIns: Int = 40
    @Option(help: "The ope binary that serves (default: ope in the folder of this ope-bench).") var ope: String?

    func run() async throws {
        let executable = try ope ?? LoadTestServer.siblingOPE()
        var logger = Logger(label: "ope.loadtest")
        logger.logLevel = .warning
        let data = NSTemporaryDirectory() + "ope-loadtest-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: data) }

        print("provisioning \(users) users with API tokens and \(passwordSignIns) with passwords in \(data)")
        let (tokens, passwords) = try await provision(data: data)
        let server = try LoadTestServer(executable: executable, data: data, modules: modulesFolder)
        defer { server.stop() }
        let base = try await server.waitForURL()
        print("server at \(base), pid \(server.pid)")
        let sampler = RSSSampler(pid: server.pid)

        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(connectionPool: .init(idleTimeout: .seconds(60))))
        do {
            try await measure(
                LoadTestHTTP(http: http, base: base), base: base, data: data, tokens: tokens, passwords: passwords, sampler: sampler, logger: logger)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    func measure(
        _ client: LoadTestHTTP, base: String, data: String, tokens: [(String, String)], passwords: [(String, String)], sampler: RSSSampler, logger: Logger
    ) async throws {
        // 1. Password sign-ins (scrypt), measured on their own.
        let signInStart = ContinuousClock.now
        let signInErrors = try await forEachConcurrently(passwords, limit: 8) { username, password in
            try await client.signIn(username: username, password: password)
        }
        let signInRate = Double(passwords.count) / (ContinuousClock.now - signInStart).timeInterval

        // 2. Everyone joins the lobby.
        let joinLatencies = Mutex<[Double]>([])
        let joinStart = ContinuousClock.now
        let joinErrors = try await forEachConcurrently(tokens, limit: concurrency) { _, token in
            let started = ContinuousClock.now
            try await client.joinLobby(module: module, token: token)
            let elapsed = (ContinuousClock.now - started).timeInterval
            joinLatencies.withLock { $0.append(elapsed) }
        }
        let joinSeconds = (ContinuousClock.now - joinStart).timeInterval
        sampler.sample()

        // 3. Wait until everyone knows their session.
        let sessions = Mutex<[String: String]>([:])
        let deadline = ContinuousClock.now + .seconds(60)
        var pending = tokens
        while !pending.isEmpty, ContinuousClock.now < deadline {
            let stillWaiting = Mutex<[(String, String)]>([])
            _ = try await forEachConcurrently(pending, limit: concurrency) { user, token in
                if let session = try await client.session(token: token) {
                    sessions.withLock { $0[user] = session }
                } else {
                    stillWaiting.withLock { $0.append((user, token)) }
                }
            }
            pending = stillWaiting.withLock { $0 }
            if !pending.isEmpty { try await Task.sleep(for: .milliseconds(200)) }
        }
        let unmatched = pending.count
        let matchLatencies = try await Self.matchLatencies(data: data)
        sampler.sample()

        // 4. Everyone opens their room and chats.
        let room = RoomLoad(users: users, messages: messages, interval: interval, logger: logger)
        let bySession = sessions.withLock { $0 }
        let members = Dictionary(grouping: bySession.keys, by: { bySession[$0]! })
        let wsURL = base.replacingOccurrences(of: "http://", with: "ws://")
        let tokenOf = Dictionary(uniqueKeysWithValues: tokens.map { ($0.0, $0.1) })
        let roomStart = ContinuousClock.now
        let roomCPUStart = sampler.cpuSeconds
        let ownCPUStart = RSSSampler(pid: getpid()).cpuSeconds
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (user, session) in bySession {
                let teammates = (members[session] ?? []).count - 1
                group.addTask {
                    await room.run(user: user, token: tokenOf[user]!, url: "\(wsURL)/api/sessions/\(session)/ws", teammates: teammates)
                }
            }
            group.addTask {
                while !room.finished { sampler.sample(); try await Task.sleep(for: .milliseconds(500)) }
            }
            try await group.waitForAll()
        }

        let report = room.report()
        let roomSeconds = (ContinuousClock.now - roomStart).timeInterval
        let serverCores = (sampler.cpuSeconds - roomCPUStart) / roomSeconds
        let clientCores = (RSSSampler(pid: getpid()).cpuSeconds - ownCPUStart) / roomSeconds
        print("")
        print("=== ope-bench loadtest: \(users) users, module \(module), \(messages) messages each ===")
        print(String(format: "password sign-in:  %.1f sign-ins/s (%d accounts, scrypt N=2^14), %d errors", signInRate, passwords.count, signInErrors))
        print(
            String(
                format: "lobby join (HTTP): %@, %.0f joins/s, %d errors", Self.summary(joinLatencies.withLock { $0 }), Double(tokens.count) / joinSeconds,
                joinErrors))
        print(String(format: "time to match:     %@ (server clock, join -> session), %d never matched", Self.summary(matchLatencies), unmatched))
        print(String(format: "room connect:      %@, %d errors", Self.summary(report.connect), report.connectErrors))
        print(
            String(
                format: "chat fan-out:      %@ over %d deliveries; %d missing, %d error frames", Self.summary(report.fanOut), report.fanOut.count,
                report.missing, report.errorFrames))
        print(String(format: "server RSS:        peak %.0f MiB", Double(sampler.peak) / 1024))
        print(
            String(
                format: "CPU while rooms open: server %.2f cores, load generator %.2f cores (this machine has %d)", serverCores, clientCores,
                ProcessInfo.processInfo.activeProcessorCount
            )
        )
        let errors = signInErrors + joinErrors + unmatched + report.connectErrors + report.missing + report.errorFrames
        print("errors:            \(errors)")
    }

    /// Creates the accounts straight in the data dir, before the server starts.
    func provision(data: String) async throws -> (tokens: [(String, String)], passwords: [(String, String)]) {
        let store = try Store(dataDirectory: data)
        let width = String(users).count
        let names = (1...users).map { "lt-" + String(repeating: "0", count: width - String($0).count) + String($0) }
        let tokens = Mutex<[(String, String)]>([])
        _ = try await forEachConcurrently(names.map { ($0, "") }, limit: 256) { name, _ in
            let user = try await store.users.create(User(username: name, displayName: name, role: .participant), password: nil, actor: "loadtest")
            let token = try await store.tokens.create(for: user, name: "loadtest", actor: "loadtest").secret
            tokens.withLock { $0.append((name, token)) }
        }
        var passwords: [(String, String)] = []
        for index in 0..<passwordSignIns {
            let name = "pw-\(index)"
            let password = SecretToken.password()
            try await store.users.create(User(username: name, displayName: name, role: .participant), password: password, actor: "loadtest")
            passwords.append((name, password))
        }
        await store.events.drain()
        return (tokens.withLock { $0 }.sorted { $0.0 < $1.0 }, passwords)
    }

    /// join → session latencies from the event log (both times from the server's clock).
    static func matchLatencies(data: String) async throws -> [Double] {
        let store = try Store(dataDirectory: data)
        var joined: [String: Date] = [:]
        var latencies: [Double] = []
        try await store.reader.forEach(EventFilter(types: [.lobbyJoined, .sessionFormed, .sessionMemberJoined])) { page in
            for event in page {
                switch event.type {
                case .lobbyJoined: if let actor = event.actor { joined[actor] = event.time }
                case .sessionFormed:
                    for member in event.decode(SessionFormedPayload.self)?.members ?? [] {
                        if let start = joined.removeValue(forKey: member) { latencies.append(event.time.timeIntervalSince(start)) }
                    }
                case .sessionMemberJoined:
                    if let member = event.decode(MemberJoinedPayload.self)?.user, let start = joined.removeValue(forKey: member) {
                        latencies.append(event.time.timeIntervalSince(start))
                    }
                default: break
                }
            }
        }
        return latencies
    }

    static func summary(_ values: [Double]) -> String {
        guard !values.isEmpty else { return "no samples" }
        let sorted = values.sorted()
        func at(_ quantile: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * quantile))] * 1000 }
        return String(format: "p50 %.1f ms, p99 %.1f ms, max %.1f ms", at(0.5), at(0.99), sorted.last! * 1000)
    }
}

/// Runs `body` for every element with at most `limit` in flight; returns how many threw.
func forEachConcurrently<T: Sendable>(_ items: [(String, T)], limit: Int, _ body: @escaping @Sendable (String, T) async throws -> Void) async throws -> Int {
    try await withThrowingTaskGroup(of: Bool.self) { group in
        var errors = 0
        var iterator = items.makeIterator()
        for _ in 0..<min(limit, items.count) {
            guard let (key, value) = iterator.next() else { break }
            group.addTask { (try? await body(key, value)) != nil }
        }
        while let ok = try await group.next() {
            if !ok { errors += 1 }
            if let (key, value) = iterator.next() { group.addTask { (try? await body(key, value)) != nil } }
        }
        return errors
    }
}
