import Foundation
import Hummingbird
import HummingbirdTesting
import KubeStandIn
import OPEKube

/// A stand-in API server on a free loopback port with OPE's CRDs installed, and a client for it.
public enum StandInHarness {
    public static var root: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    public static var crdFiles: [String] {
        let folder = root + "/deploy/kubernetes/crds"
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted().map { folder + "/" + $0 }
    }

    /// Runs `body` with the server, its port and a client (quick retries, so tests of retrying do not wait long).
    public static func run(
        installCRDs: Bool = true, historyLimit: Int = 10_000, _ body: @Sendable (StandInServer, Int, KubeClient) async throws -> Void
    ) async throws {
        let server = StandInServer(store: ObjectStore(historyLimit: historyLimit))
        if installCRDs {
            for file in crdFiles { try await server.create(yaml: try String(contentsOfFile: file, encoding: .utf8)) }
        }
        let app = server.buildApplication(port: 0)
        try await app.test(.live) { client in
            guard let port = client.port else { throw HarnessError("the stand-in did not say its port") }
            let kube = try KubeClient(
                connection: ClusterConnection(server: "http://127.0.0.1:\(port)"),
                retry: RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(5), maxDelay: .milliseconds(50)))
            // Open watches would hold the server's graceful shutdown until their timeout: end them first.
            do {
                try await body(server, port, kube)
            } catch {
                await server.store.dropWatches()
                try? await kube.shutdown()
                throw error
            }
            await server.store.dropWatches()
            try await kube.shutdown()
        }
    }
}

public struct HarnessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
