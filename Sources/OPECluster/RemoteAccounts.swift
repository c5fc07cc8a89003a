import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import OPECore
import OPERuntime
import OPEStore
import ServiceLifecycle
import Synchronization

/// The account directory of an edge: the ``AccountDirectory`` the gateway asks, answered by the
/// directory core (core 0) over gRPC (`ope.runtime.v1.Accounts`, `accounts.proto`).
///
/// Calls follow ``RemoteRuntime``'s rules: every call has a deadline; reads and the changes
/// marked idempotent in `accounts.proto` are tried again while the core cannot be reached,
/// within ``Configuration/retryWindow``; a core that cannot be reached is a
/// `RuntimeError(.unavailable(retryAfterSeconds:))` (503 with Retry-After at the HTTP edge), and
/// the directory's own refusals (``UserStoreError``, ``UsernameError``) come back as themselves.
///
/// ## Revocations
/// ``revocations`` is this process's own notifier, fed by one server-streaming call that
/// ``run()`` keeps open and opens again after every break (100 ms, 200 ms … at most 2 s apart).
/// ``isFollowingRevocations`` says whether it is open now.
///
/// ## What is cached, and for how long
/// ``findSignIn(token:)`` and ``user(forToken:now:)`` run on every request, so their positive
/// answers are remembered, by the hash of the secret, for ``Configuration/cacheLifetime``
/// (5 s): within it a request needs no round trip. An answer is dropped as soon as a revocation
/// that covers it arrives (sign out, sign out everywhere, a new password, a revoked token, a
/// disabled account), and everything is dropped whenever the revocation stream opens again,
/// since revocations may have been missed while it was down. So a sign-out everywhere takes
/// effect on every edge within moments while the stream is up, and within the cache lifetime
/// when it is not. "None" answers are not remembered: a new sign-in works at once everywhere.
///
/// Because answers can be up to ``Configuration/cacheLifetime`` old: a sign-in's idle timer is
/// refreshed by at most one request of an edge per lifetime (the directory refreshes it at most
/// once a minute anyway), and a token or sign-in that reaches its end is refused up to that much
/// late.
///
/// - Important: When the directory core cannot be reached, a remembered answer is still used
///   until it is ``Configuration/staleAnswerLimit`` (60 s) old, so a short outage or a restart
///   of core 0 does not sign everyone out; no revocation can be heard meanwhile, and none can
///   be made either. Past that, and for anything not remembered, the call throws the
///   unavailable `RuntimeError`.
public final class RemoteAccounts: AccountDirectory, Service, Sendable {
    public struct Configuration: Sendable {
        /// The directory core's address: a name (on Kubernetes, core 0's stable DNS name) or an IP.
        public var host: String
        public var port: Int
        /// The cluster's shared bearer token.
        public var token: String
        /// Plaintext (loopback, or inside a mesh) or TLS.
        public var transportSecurity: HTTP2ClientTransport.Posix.TransportSecurity
        /// How long a call may take, its retries included.
        public var deadline: Duration
        /// How long a call is tried again while the core cannot be reached, within its deadline
        /// (as ``RemoteRuntime/Configuration/retryWindow``).
        public var retryWindow: Duration = .seconds(2)
        /// How long a positive answer of ``RemoteAccounts/findSignIn(token:)`` or
        /// ``RemoteAccounts/user(forToken:now:)`` is used without asking again.
        public var cacheLifetime: Duration
        /// How old a remembered answer may be and still be used while the directory core cannot
        /// be reached.
        public var staleAnswerLimit: Duration
        /// How many answers are remembered at most, of each kind (sign-ins and tokens).
        public var cacheCapacity: Int = 100_000

        public init(
            host: String, port: Int, token: String, transportSecurity: HTTP2ClientTransport.Posix.TransportSecurity = .plaintext,
            deadline: Duration = .seconds(10), cacheLifetime: Duration = .seconds(5), staleAnswerLimit: Duration = .seconds(60)
        ) {
            self.host = host
            self.port = port
            self.token = token
            self.transportSecurity = transportSecurity
            self.deadline = deadline
            self.cacheLifetime = cacheLifetime
            self.staleAnswerLimit = staleAnswerLimit
        }

        /// `host:port`, as logs and errors name the core.
        public var address: String { "\(host):\(port)" }
    }

    public let configuration: Configuration
    public let revocations = RevocationNotifier()
    let calls: CoreCalls
    let grpc: GRPCClient<HTTP2ClientTransport.Posix>
    let stub: Ope_Runtime_V1_Accounts.Client<HTTP2ClientTransport.Posix>
    /// The clock the cache's ages are read on.
    let clock: any PlatformClock
    let logger: Logger
    let signIns: CredentialCache<SignIn>
    let tokens: CredentialCache<User>
    private let following = Atomic(false)
    /// Finished by ``beginGracefulShutdown()``: the revocation stream ends, then the connections.
    private let stop = AsyncStream<Never>.makeStream()

    /// - Parameter clock: What the cache's ages are measured on (a manual clock in tests).
    public init(configuration: Configuration, clock: any PlatformClock = SystemClock(), logger: Logger = Logger(label: "ope.accounts")) throws {
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        calls = CoreCalls(
            address: configuration.address, token: configuration.token, deadline: configuration.deadline, retryWindow: configuration.retryWindow,
            gate: CallGate(limit: CoreCalls.maxInFlight))
        let transport = try HTTP2ClientTransport.Posix(
            target: .dns(host: configuration.host, port: configuration.port), transportSecurity: configuration.transportSecurity,
            config: ClusterTransport.client)
        grpc = GRPCClient(transport: transport)
        stub = Ope_Runtime_V1_Accounts.Client(wrapping: grpc)
        signIns = CredentialCache(kind: .signIn, capacity: configuration.cacheCapacity)
        tokens = CredentialCache(kind: .token, capacity: configuration.cacheCapacity)
    }

    /// Keeps the connection to the directory core and the revocation stream open until
    /// ``beginGracefulShutdown()`` or a graceful shutdown of the service group.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await self.grpc.runConnections() }
                group.addTask { await self.followUntilStopped() }
            }
        } onGracefulShutdown: {
            self.beginGracefulShutdown()
        }
    }

    /// Ends the revocation stream and, once the calls in flight finish, ``run()``.
    public func beginGracefulShutdown() {
        stop.continuation.finish()
        grpc.beginGracefulShutdown()
    }

    /// Whether the revocation stream is open now: every revocation the directory publishes
    /// reaches ``revocations`` and the cache.
    public var isFollowingRevocations: Bool { following.load(ordering: .relaxed) }

    // MARK: Revocations

    /// Follows the revocation stream until ``beginGracefulShutdown()`` (a stream never ends by
    /// itself, and a graceful shutdown of the client waits for the calls in flight).
    private func followUntilStopped() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.follow() }
            group.addTask { for await _ in self.stop.stream {} }
            await group.next()
            group.cancelAll()
        }
    }

    /// The subscription loop: open the stream, hand on what it brings, open it again when it breaks.
    private func follow() async {
        var pause = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                var options = calls.options(.seconds(60))
                options.timeout = nil
                try await stub.revocations(Ope_Runtime_V1_RevocationsRequest(), metadata: calls.metadata, options: options) { response in
                    for try await message in response.messages {
                        if let revocation = AccountsWire.revocation(message) {
                            self.heard(revocation)
                        } else {
                            self.opened()
                        }
                    }
                }
            } catch {
                if !Task.isCancelled, isFollowingRevocations {
                    logger.notice("the revocation stream from the directory core broke; opening it again", metadata: ["error": "\(error)"])
                }
            }
            // A stream that was open: try again soon. A core that stays down: less often (at most every 2 s).
            pause = following.exchange(false, ordering: .relaxed) ? .milliseconds(100) : min(pause * 2, .seconds(2))
            if Task.isCancelled { return }
            try? await Task.sleep(for: pause)
        }
    }

    /// The stream (re)opened: what was remembered may be wrong by revocations missed meanwhile.
    private func opened() {
        signIns.clear()
        tokens.clear()
        following.store(true, ordering: .relaxed)
    }

    /// A revocation arrived: forget what it covers before anyone hears of it, so a handler that
    /// asks again gets the directory's answer.
    private func heard(_ revocation: Revocation) {
        forget(revocation)
        revocations.publish(revocation)
    }

    /// Drops what `revocation` covers from the cache (also at once for this edge's own changes,
    /// before the stream brings them back).
    func forget(_ revocation: Revocation) {
        signIns.drop(revocation)
        tokens.drop(revocation)
    }

    // MARK: The cache

    /// The answer for a credential's `secret`: a remembered one while it is fresh, otherwise the
    /// directory's (remembered when positive), or a remembered one not too stale when the
    /// directory cannot be reached (see the type's notes).
    func remembered<Value: Sendable>(
        _ cache: CredentialCache<Value>, secret: String, username: (Value) -> String, ask: () async throws -> Value?
    ) async throws -> Value? {
        let hash = SecretToken.hash(secret)
        let now = clock.now
        let (entry, generation) = cache.lookup(hash)
        if let entry, now.timeIntervalSince(entry.fetched) < configuration.cacheLifetime.timeInterval { return entry.value }
        let answer: Value?
        do {
            answer = try await ask()
        } catch let error as RuntimeError {
            guard case .unavailable = error.kind, let entry, now.timeIntervalSince(entry.fetched) <= configuration.staleAnswerLimit.timeInterval
            else { throw error }
            return entry.value
        }
        if let answer {
            cache.store(
                answer, username: username(answer), for: hash, fetched: now, generation: generation,
                oldest: now.addingTimeInterval(-configuration.staleAnswerLimit.timeInterval))
        } else if entry != nil {
            cache.forget(hash)
        }
        return answer
    }
}
