import GRPCCore

/// How an edge calls a core, whichever of its services: a deadline on every call, the cluster
/// token, and retries of idempotent calls while the core cannot be reached. ``RemoteRuntime`` and
/// ``RemoteAccounts`` share it, so the two clients of one core behave alike.
struct CoreCalls: Sendable {
    /// `host:port`, as errors name the core.
    var address: String
    /// The cluster's shared bearer token.
    var token: String
    /// How long a call may take, its retries included, unless it says otherwise.
    var deadline: Duration
    /// How long a call is tried again while the core cannot be reached, within its deadline.
    var retryWindow: Duration
    /// The calls of this client to this core in flight at once; shared by every copy.
    var gate: CallGate

    /// Calls one client has in flight to one core at most: enough to keep a core's threads busy.
    static let maxInFlight = 128

    var metadata: Metadata { ["authorization": "Bearer \(token)"] }

    /// Call options with a deadline and no gRPC retry policy (retries are ``call(idempotent:deadline:_:)``'s).
    func options(_ deadline: Duration) -> CallOptions {
        var options = CallOptions.defaults
        options.timeout = deadline
        options.waitForReady = false
        options.executionPolicy = nil
        return options
    }

    /// Runs one call when the gate lets it, translating its failure; an idempotent one is tried
    /// again (100 ms, 200 ms … apart) while the core cannot be reached and its deadline allows.
    /// A call that `waitsOnCore` by design (a workspace's start, up to 20 s) goes around the gate:
    /// a class's teams starting together would otherwise hold every slot.
    ///
    /// The retries are the client's own: with a gRPC retry policy, grpc-swift 2.4 answers a call
    /// whose connection cannot be made only at the call's deadline.
    func call<Answer: Sendable>(
        idempotent: Bool, deadline: Duration? = nil, waitsOnCore: Bool = false, _ body: (CallOptions) async throws -> Answer
    ) async throws -> Answer {
        let start = ContinuousClock.now
        let limit = start + (deadline ?? self.deadline)
        if !waitsOnCore {
            guard await gate.enter(until: limit) else {
                throw RuntimeWire.error(RPCError(code: .deadlineExceeded, message: "no turn for the call before its deadline"), core: address)
            }
        }
        defer { if !waitsOnCore { gate.leave() } }
        let retryLimit = min(limit, start + retryWindow)
        var pause = Duration.milliseconds(100)
        while true {
            do {
                return try await body(options(ContinuousClock.now.duration(to: limit)))
            } catch let error as RPCError where idempotent && error.code == .unavailable && ContinuousClock.now + pause < retryLimit {
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(1))
            } catch {
                throw RuntimeWire.error(error, core: address)
            }
        }
    }
}
