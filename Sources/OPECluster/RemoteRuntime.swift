import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import OPECore
import OPERuntime
import OPEStore
import OPEWorkspaces
import ServiceLifecycle
import Synchronization

/// One core's runtime, reached over gRPC: the ``RuntimeAPI`` an edge uses for the teams and
/// lobbies that core holds (``ClusterRuntime`` routes among several).
///
/// Every call has a deadline. Queries, subscriptions and the commands marked idempotent in
/// `runtime.proto` are tried again while the core cannot be reached, within their deadline;
/// other commands are tried once. A core that cannot be reached is a
/// `RuntimeError(.unavailable(retryAfterSeconds:))`, which the HTTP edge answers 503 with
/// Retry-After; the core's own refusals come back as the errors it threw.
///
/// Its connections live while ``run()`` runs (a `Service` in the edge's service group).
public final class RemoteRuntime: Service, Sendable {
    public struct Configuration: Sendable {
        /// The core's address: a name (on Kubernetes, the StatefulSet pod's stable DNS name) or an IP.
        public var host: String
        public var port: Int
        /// The cluster's shared bearer token.
        public var token: String
        /// Plaintext (loopback, or inside a mesh) or TLS.
        public var transportSecurity: HTTP2ClientTransport.Posix.TransportSecurity
        /// How long a query or a quick command may take, its retries included.
        public var deadline: Duration
        /// How long a task-test run may take (it waits for the tests).
        public var testDeadline: Duration
        /// How long a module sync may take (it fetches repositories).
        public var syncDeadline: Duration
        /// How long a call is tried again while the core cannot be reached, within its deadline:
        /// long enough to ride out a blip or a quick restart, short enough that a person whose
        /// core is down hears so (503) in seconds.
        public var retryWindow: Duration = .seconds(2)
        /// How long the proxy trusts a workspace's address before asking the core again (a
        /// restarted workspace has a new one).
        public var routeLifetime: Duration = .seconds(5)
        /// How often the proxy's use of workspaces (traffic, edits) is reported to the core.
        public var useReportInterval: Duration = .seconds(1)

        public init(
            host: String, port: Int, token: String, transportSecurity: HTTP2ClientTransport.Posix.TransportSecurity = .plaintext,
            deadline: Duration = .seconds(10), testDeadline: Duration = .seconds(15 * 60), syncDeadline: Duration = .seconds(5 * 60)
        ) {
            self.host = host
            self.port = port
            self.token = token
            self.transportSecurity = transportSecurity
            self.deadline = deadline
            self.testDeadline = testDeadline
            self.syncDeadline = syncDeadline
        }

        /// `host:port`, as logs and errors name the core.
        public var address: String { "\(host):\(port)" }
    }

    public let configuration: Configuration
    /// This client's calls in flight to its core (see ``CallGate``).
    let gate = CallGate(limit: CoreCalls.maxInFlight)
    let grpc: GRPCClient<HTTP2ClientTransport.Posix>
    let stub: Ope_Runtime_V1_Runtime.Client<HTTP2ClientTransport.Posix>
    /// Workspaces the proxy reached lately, by the id in their path, with when they were learnt.
    let routes = Mutex<[String: (workspace: Workspace, learnt: ContinuousClock.Instant)]>([:])
    /// Use the proxy saw and has not reported yet.
    let use = Mutex(WorkspaceUseReport())
    /// The team rooms this edge has sockets on, over one stream.
    let rooms: RoomLink
    /// Finished when a graceful shutdown begins.
    let shutdown = AsyncStream<Void>.makeStream()
    /// How long a shutdown waits for calls in flight (a task-test run may take minutes) before
    /// cancelling them: an edge that is told to stop, stops.
    public static let shutdownGrace: Duration = .seconds(10)

    public init(configuration: Configuration) throws {
        self.configuration = configuration
        let transport = try HTTP2ClientTransport.Posix(
            target: .dns(host: configuration.host, port: configuration.port), transportSecurity: configuration.transportSecurity,
            config: ClusterTransport.client)
        grpc = GRPCClient(transport: transport)
        stub = Ope_Runtime_V1_Runtime.Client(wrapping: grpc)
        rooms = RoomLink(address: configuration.address, deadline: configuration.deadline, retryWindow: configuration.retryWindow)
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.grpc.runConnections() }
                group.addTask { await self.reportUse() }
                group.addTask { [stub, metadata] in await self.rooms.run(stub, metadata: metadata) }
                group.addTask {
                    for await _ in self.shutdown.stream {}
                    try? await Task.sleep(for: Self.shutdownGrace)
                }
                // The connections end with a graceful shutdown (or the grace runs out first); the
                // reports and the room streams end with them.
                try await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.beginGracefulShutdown()
        }
    }

    /// Closes the room stream (a long-lived call the shutdown would otherwise wait for) and the connections.
    public func beginGracefulShutdown() {
        rooms.stop()
        shutdown.continuation.finish()
        grpc.beginGracefulShutdown()
    }

    /// Sends the use the proxy saw, once a second, until the connections close.
    func reportUse() async {
        while true {
            do { try await Task.sleep(for: configuration.useReportInterval) } catch { return }
            await flushUse()
            if Task.isCancelled { return }
        }
    }

    /// The deadline, token and retry rules of every call (shared with ``RemoteAccounts``).
    var calls: CoreCalls {
        CoreCalls(
            address: configuration.address, token: configuration.token, deadline: configuration.deadline, retryWindow: configuration.retryWindow,
            gate: gate)
    }

    var metadata: Metadata { calls.metadata }

    /// Call options with a deadline and no gRPC retry policy (retries are ``call(idempotent:deadline:_:)``'s).
    func options(_ deadline: Duration) -> CallOptions { calls.options(deadline) }

    /// Runs one call, translating its failure; an idempotent one is tried again while the core
    /// cannot be reached and its deadline allows (``CoreCalls/call(idempotent:deadline:_:)``).
    func call<Answer: Sendable>(
        idempotent: Bool, deadline: Duration? = nil, waitsOnCore: Bool = false, _ body: (CallOptions) async throws -> Answer
    ) async throws -> Answer {
        try await calls.call(idempotent: idempotent, deadline: deadline, waitsOnCore: waitsOnCore, body)
    }

    // MARK: Unary helpers

    func json<Value: Decodable & Sendable>(
        _ type: Value.Type, idempotent: Bool, deadline: Duration? = nil,
        _ body: @Sendable (CallOptions) async throws -> Ope_Runtime_V1_Json
    ) async throws -> Value {
        let message = try await call(idempotent: idempotent, deadline: deadline, body)
        return try RuntimeWire.decode(type, message)
    }

    func optionalJSON<Value: Decodable & Sendable>(
        _ type: Value.Type, _ body: @Sendable (CallOptions) async throws -> Ope_Runtime_V1_Json
    ) async throws -> Value? {
        let message = try await call(idempotent: true, body)
        return try RuntimeWire.decodeOptional(type, message)
    }

    static func session(_ id: String) -> Ope_Runtime_V1_SessionRequest {
        var request = Ope_Runtime_V1_SessionRequest()
        request.session = id
        return request
    }

    static func user(_ name: String) -> Ope_Runtime_V1_UserRequest {
        var request = Ope_Runtime_V1_UserRequest()
        request.user = name
        return request
    }

    static func module(_ id: String) -> Ope_Runtime_V1_ModuleRequest {
        var request = Ope_Runtime_V1_ModuleRequest()
        request.module = id
        return request
    }

    static func sessionUser(_ session: String, _ user: String) -> Ope_Runtime_V1_SessionUserRequest {
        var request = Ope_Runtime_V1_SessionUserRequest()
        request.session = session
        request.user = user
        return request
    }

    static func sessionActor(_ session: String, _ actor: String) -> Ope_Runtime_V1_SessionActorRequest {
        var request = Ope_Runtime_V1_SessionActorRequest()
        request.session = session
        request.actor = actor
        return request
    }

    /// The id of the last event the core has committed (0 for an empty log).
    public func logPosition() async throws -> Int64 {
        try await call(idempotent: true) { [stub, metadata] in try await stub.logPosition(Ope_Runtime_V1_Empty(), metadata: metadata, options: $0).value }
    }

    // MARK: Streams

    /// Reads a stream of event batches, handing each non-empty one to `page` in order. Tried once:
    /// pages already handed on cannot be taken back, so a failure is the caller's to retry.
    func readBatches(
        _ body:
            @escaping @Sendable (CallOptions, @Sendable @escaping (StreamingClientResponse<Ope_Runtime_V1_EventBatch>) async throws -> Void) async throws ->
            Void,
        deadline: Duration?, waitsOnCore: Bool = false, page: ([Event]) async throws -> Void
    ) async throws {
        // The stream is read inside the call's closure, which must be @Sendable; pages go out
        // through an AsyncThrowingStream so `page` (not Sendable) runs here, in order.
        let (batches, continuation) = AsyncThrowingStream<[Event], any Error>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await self.call(idempotent: false, deadline: deadline, waitsOnCore: waitsOnCore) { options in
                        try await body(options) { response in
                            for try await batch in response.messages where !batch.events.isEmpty {
                                continuation.yield(try RuntimeWire.events(batch))
                            }
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            for try await events in batches { try await page(events) }
            try await group.waitForAll()
        }
    }
}
