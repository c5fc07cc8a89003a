import ArgumentParser
import Foundation

/// `ope-bench load`: the load generator of `ope-bench proxy`, run as its own process so it does not share the gateway's threads.
struct LoadGenerator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load", abstract: "Load one URL (used by ope-bench proxy); prints one JSON line.", shouldDisplay: false
    )
    @Option var url: String
    @Option var authorization: String?
    @Option var requests: Int = 5000
    @Option var concurrency: Int = 16
    @Option(name: .customLong("round-trips"), help: "Instead: kernel_info round trips over the kernel channel WebSocket at --url.") var roundTrips: Int?

    func run() async throws {
        let object: [String: Any]
        if let roundTrips {
            object = ["trips": try await HTTPLoad.kernelRoundTrips(url: url, authorization: authorization, count: roundTrips)]
        } else {
            let result = try await HTTPLoad.run(url: url, authorization: authorization, requests: requests, concurrency: concurrency)
            object = ["rate": result.rate, "p50": result.p50, "p99": result.p99, "errors": result.errors]
        }
        print(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
    }
}
