import AsyncHTTPClient
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import OPECLI
import OPECore
import Synchronization

/// Load for one URL: requests per second and latency percentiles.
enum HTTPLoad {
    struct Result {
        var rate: Double
        var p50: Double
        var p99: Double
        var errors: Int
        var line: String { String(format: "%7.0f req/s, p50 %.2f ms, p99 %.2f ms, %d errors", rate, p50, p99, errors) }

        /// The median of each figure across rounds; errors add up.
        static func median(_ rounds: [Result]) -> Result {
            func middle(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
            return Result(
                rate: middle(rounds.map(\.rate)), p50: middle(rounds.map(\.p50)), p99: middle(rounds.map(\.p99)), errors: rounds.map(\.errors).reduce(0, +)
            )
        }
    }

    static func run(url: String, authorization: String?, requests: Int, concurrency: Int) async throws -> Result {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        do {
            let result = try await run(url: url, authorization: authorization, requests: requests, concurrency: concurrency, client: client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    static func run(url: String, authorization: String?, requests: Int, concurrency: Int, client: HTTPClient) async throws -> Result {
        @Sendable func one() async -> Double? {
            var request = HTTPClientRequest(url: url)
            if let authorization { request.headers.add(name: "Authorization", value: authorization) }
            let began = ContinuousClock.now
            guard let response = try? await client.execute(request, timeout: .seconds(30)), response.status == .ok,
                (try? await response.body.collect(upTo: 1 << 20)) != nil
            else { return nil }
            let elapsed = ContinuousClock.now - began
            return elapsed.milliseconds
        }
        // Warm the connections up first.
        for _ in 0..<concurrency { _ = await one() }
        let began = ContinuousClock.now
        let (latencies, errors) = await withTaskGroup(of: ([Double], Int).self) { group in
            for worker in 0..<concurrency {
                let share = requests / concurrency + (worker < requests % concurrency ? 1 : 0)
                group.addTask {
                    var mine: [Double] = []
                    var failed = 0
                    for _ in 0..<share {
                        if let latency = await one() { mine.append(latency) } else { failed += 1 }
                    }
                    return (mine, failed)
                }
            }
            let all = await group.reduce(into: ([Double](), 0)) {
                $0.0 += $1.0; $0.1 += $1.1
            }
            return (all.0.sorted(), all.1)
        }
        let seconds = (ContinuousClock.now - began).timeInterval
        guard !latencies.isEmpty else { throw CLIError("every request to \(url) failed") }
        return Result(
            rate: Double(latencies.count) / seconds, p50: latencies[latencies.count / 2], p99: latencies[Int(Double(latencies.count) * 0.99)],
            errors: errors
        )
    }

    /// `ope-bench load` in a child process.
    static func inChild(url: String, authorization: String?, requests: Int, concurrency: Int) async throws -> Result {
        var arguments = ["--url", url, "--requests", "\(requests)", "--concurrency", "\(concurrency)"]
        if let authorization { arguments += ["--authorization", authorization] }
        let object = try await child(arguments)
        guard let rate = object["rate"] as? Double, let p50 = object["p50"] as? Double, let p99 = object["p99"] as? Double,
            let errors = object["errors"] as? Int
        else {
            throw CLIError("ope-bench load gave \(object)")
        }
        return Result(rate: rate, p50: p50, p99: p99, errors: errors)
    }

    static func roundTripsInChild(url: String, authorization: String?, count: Int) async throws -> [Double] {
        var arguments = ["--url", url, "--round-trips", "\(count)"]
        if let authorization { arguments += ["--authorization", authorization] }
        guard let trips = try await child(arguments)["trips"] as? [Double] else { throw CLIError("ope-bench load gave no round trips") }
        return trips
    }

    private static func child(_ arguments: [String]) async throws -> [String: Any] {
        let executable = Bundle.main.executablePath ?? CommandLine.arguments[0]
        let result = try await CommandRunner().run([executable, "load"] + arguments, timeout: .seconds(900))
        guard result.succeeded, let line = result.output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { throw CLIError("ope-bench load failed:\n\(result.output)") }
        return object
    }

    static func startKernel(base: String, token: String) async throws -> String {
        var request = HTTPClientRequest(url: base + "api/kernels")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "token \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        // JupyterLab refuses a request without a host, which a unix socket does not name.
        request.headers.add(name: "Host", value: "localhost")
        request.body = .bytes(ByteBuffer(string: #"{"name":"python3"}"#))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .created || response.status == .ok,
            let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any], let id = object["id"] as? String
        else { throw CLIError("could not start a kernel: \(response.status) \(String(buffer: body))") }
        return id
    }

    /// Sends `count` kernel_info requests one after another; returns each round trip in ms.
    static func kernelRoundTrips(url: String, authorization: String?, count: Int) async throws -> [Double] {
        var configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 24)
        // The round trips keep the connection busy; the client's own pings only add noise.
        configuration.autoPing = .disabled
        if let authorization { configuration.additionalHeaders[.authorization] = authorization }
        let result = Mutex<[Double]>([])
        let session = UUID().uuidString
        try await WebSocketClient.connect(url: url, configuration: configuration, logger: Logger(label: "bench")) { inbound, outbound, _ in
            var messages = inbound.messages(maxSize: 1 << 24).makeAsyncIterator()
            var trips: [Double] = []
            // The first exchange waits for the kernel to be up; it is not counted.
            for index in -1..<count {
                let id = UUID().uuidString
                let request = """
                    {"header":{"msg_id":"\(id)","username":"bench","session":"\(session)","msg_type":"kernel_info_request","version":"5.3"},\
                    "parent_header":{},"metadata":{},"content":{},"channel":"shell","buffers":[]}
                    """
                let began = ContinuousClock.now
                try await outbound.write(.text(request))
                while let message = try await messages.next() {
                    guard case .text(let text) = message, text.contains("\"kernel_info_reply\""), text.contains(id) else { continue }
                    break
                }
                let elapsed = ContinuousClock.now - began
                if index >= 0 { trips.append(elapsed.milliseconds) }
            }
            result.withLock { $0 = trips }
            try await outbound.close(.normalClosure, reason: nil)
        }
        return result.withLock { $0 }
    }
}
