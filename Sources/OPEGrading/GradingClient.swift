import GRPCCore
import GRPCNIOTransportHTTP2
import OPECore
import ServiceLifecycle

/// A client of a workspace pod's grading service: what the runtime calls to run a task's tests on
/// Kubernetes.
///
/// Every call has a deadline: a run's is its time limit plus ``Configuration/deadlineMargin``
/// (unless the call gives one), a check's is ``Configuration/checkDeadline``. A run is never tried
/// again by the client: it is not idempotent in effect (minutes of CPU, a recorded result), so
/// whether to ask again is the caller's decision. A check is retried a few times while the service
/// cannot be reached. Failures are ``GradingError``s whose kind says which.
///
/// Its connections live while ``run()`` runs (as a `Service` in a ServiceGroup), or use
/// ``withGradingClient(_:_:)`` for a scoped one.
public final class GradingClient: Service, Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// The service's bearer token.
        public var token: String
        /// Plaintext, or TLS (`.tls` trusts the system's roots; `.tls { $0.trustRoots = ... }` others).
        public var transportSecurity: HTTP2ClientTransport.Posix.TransportSecurity
        /// How much longer than a run's time limit the client waits for its answer (copying, start-up, the network).
        public var deadlineMargin: Duration
        /// How long a check may take, its retries included.
        public var checkDeadline: Duration
        /// Attempts of a check (2 to 5) while the service answers UNAVAILABLE or cannot be reached.
        public var checkAttempts: Int

        public init(
            host: String, port: Int, token: String, transportSecurity: HTTP2ClientTransport.Posix.TransportSecurity = .plaintext,
            deadlineMargin: Duration = .seconds(30), checkDeadline: Duration = .seconds(10), checkAttempts: Int = 3
        ) {
            self.host = host
            self.port = port
            self.token = token
            self.transportSecurity = transportSecurity
            self.deadlineMargin = deadlineMargin
            self.checkDeadline = checkDeadline
            self.checkAttempts = min(5, max(2, checkAttempts))
        }
    }

    /// What ``check()`` found.
    public struct Readiness: Sendable, Hashable {
        public var ready: Bool
        /// Why not, when not ready.
        public var reason: String?

        public init(ready: Bool, reason: String?) {
            self.ready = ready
            self.reason = reason
        }
    }

    public let configuration: Configuration
    let grpc: GRPCClient<HTTP2ClientTransport.Posix>
    let stub: Ope_Grading_V1_Grading.Client<HTTP2ClientTransport.Posix>

    public init(configuration: Configuration) throws {
        self.configuration = configuration
        // A name or an address (IPv4 or IPv6 without brackets). No service config: no method has a
        // retry policy but the one check() sets on its calls.
        let transport = try HTTP2ClientTransport.Posix(
            target: .dns(host: configuration.host, port: configuration.port), transportSecurity: configuration.transportSecurity)
        grpc = GRPCClient(transport: transport)
        stub = Ope_Grading_V1_Grading.Client(wrapping: grpc)
    }

    /// Keeps the connections until a graceful shutdown; calls made meanwhile use them.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await grpc.runConnections()
        } onGracefulShutdown: {
            self.grpc.beginGracefulShutdown()
        }
    }

    /// Lets calls in flight finish, then ends ``run()``.
    public func beginGracefulShutdown() {
        grpc.beginGracefulShutdown()
    }

    var metadata: Metadata { ["authorization": "Bearer \(configuration.token)"] }

    /// Runs `request`'s tests and returns their result; waits at most `deadline` (default: the
    /// request's time limit plus ``Configuration/deadlineMargin``). Never retried.
    public func runTests(_ request: GradingRequest, deadline: Duration? = nil) async throws(GradingError) -> GradingResult {
        var options = CallOptions.defaults
        options.timeout = deadline ?? request.timeout + configuration.deadlineMargin
        options.waitForReady = false
        options.executionPolicy = nil
        let message = Ope_Grading_V1_RunTestsRequest(request)
        return try await Self.translatingErrors {
            GradingResult(try await stub.runTests(message, metadata: metadata, options: options))
        }
    }

    /// Whether the service is ready to run tests; tried again (up to ``Configuration/checkAttempts``
    /// times, 200 ms, 400 ms … apart, within ``Configuration/checkDeadline`` in all) while it cannot
    /// be reached.
    ///
    /// The retries are the client's own rather than a gRPC retry policy: with one, grpc-swift 2.4
    /// answers a call whose connection cannot be made only at the call's deadline.
    public func check() async throws(GradingError) -> Readiness {
        let deadline = ContinuousClock.now + configuration.checkDeadline
        var pause = Duration.milliseconds(200)
        var attempt = 1
        while true {
            var options = CallOptions.defaults
            options.timeout = ContinuousClock.now.duration(to: deadline)
            options.waitForReady = false
            options.executionPolicy = nil
            do {
                return try await Self.translatingErrors {
                    let response = try await stub.check(Ope_Grading_V1_CheckRequest(), metadata: metadata, options: options)
                    return Readiness(ready: response.ready, reason: response.reason.isEmpty ? nil : response.reason)
                }
            } catch  where error.kind == .unavailable && attempt < configuration.checkAttempts && ContinuousClock.now + pause < deadline {
                attempt += 1
                do { try await Task.sleep(for: pause) } catch { throw GradingError(.failed, "the check was cancelled") }
                pause *= 2
            }
        }
    }

    static func translatingErrors<T>(_ body: () async throws -> T) async throws(GradingError) -> T {
        do {
            return try await body()
        } catch let error as RPCError {
            throw GradingError(error)
        } catch let error as GradingError {
            throw error
        } catch {
            throw GradingError(.failed, "the grading service's answer could not be read: \(error)")
        }
    }
}

/// Runs `body` with a client whose connections last as long as it does.
public func withGradingClient<Result: Sendable>(
    _ configuration: GradingClient.Configuration, _ body: (GradingClient) async throws -> Result
) async throws -> Result {
    let client = try GradingClient(configuration: configuration)
    return try await withThrowingDiscardingTaskGroup { group in
        group.addTask { try await client.grpc.runConnections() }
        defer { client.beginGracefulShutdown() }
        return try await body(client)
    }
}
