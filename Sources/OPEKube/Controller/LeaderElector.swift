import Foundation
import Logging
import OPECore
import Synchronization

/// Runs a ``LeaseElection`` against the API server: reads the Lease every retry period, writes
/// what the election decides (always under the version read, so two candidates cannot both win),
/// and answers ``isLeader`` for the writes of this process. On shutdown a leader releases the
/// lease so the next one need not wait out its duration.
public final class LeaderElector: Sendable {
    public let client: KubeClient
    public let namespace: String
    public let name: String
    public let clock: any PlatformClock
    private let election: Mutex<LeaseElection>
    private let logger: Logger
    private let changes = Mutex<[@Sendable (Bool) -> Void]>([])

    public init(
        client: KubeClient, namespace: String, name: String, configuration: LeaseElection.Configuration, clock: any PlatformClock = SystemClock(),
        logger: Logger = Logger(label: "ope.kube.leader")
    ) {
        self.client = client
        self.namespace = namespace
        self.name = name
        self.clock = clock
        self.election = Mutex(LeaseElection(configuration: configuration))
        self.logger = logger
    }

    public var identity: String { election.withLock { $0.configuration.identity } }

    /// Whether this process may write now.
    public var isLeader: Bool { election.withLock { $0.isLeader(now: clock.now) } }

    /// Until when this process may write, if it leads.
    public var leadingUntil: Date? { election.withLock { $0.leadingUntil() } }

    /// One read-decide-write round; returns whether this process leads afterwards.
    @discardableResult
    public func round() async -> Bool {
        let now = clock.now
        do {
            let lease: Lease?
            do {
                lease = try await client.get(Lease.self, name: name, namespace: namespace)
            } catch let error as KubeAPIError where error.isNotFound {
                lease = nil
            }
            let decision = election.withLock { $0.decide(current: lease?.spec, now: now) }
            switch decision {
            case .wait:
                break
            case .create(let spec):
                _ = try await client.create(Lease(metadata: ObjectMeta(name: name, namespace: namespace), spec: spec))
                election.withLock { $0.wrote(spec, at: now) }
            case .update(let spec):
                guard var lease else { break }
                let wasHolder = lease.spec.holderIdentity == identity
                lease.spec = spec
                _ = try await client.replace(lease)
                election.withLock { $0.wrote(spec, at: now) }
                if !wasHolder { logger.info("took the lease", metadata: ["lease": "\(name)", "identity": "\(identity)"]) }
            }
        } catch let error as KubeAPIError where error.isConflict || error.isAlreadyExists {
            // Another candidate wrote first: it leads, for now.
            election.withLock { $0.lost() }
        } catch {
            // The API server is not answering: keep leading only until the renew deadline runs out.
            logger.debug("lease round failed", metadata: ["error": "\(error)"])
        }
        return isLeader
    }

    /// Calls `change` whenever leadership starts or ends (checked each round and at the deadline).
    public func onChange(_ change: @escaping @Sendable (Bool) -> Void) { changes.withLock { $0.append(change) } }

    /// Rounds every retry period until cancelled. (A graceful shutdown should ``release()`` the
    /// lease before cancelling; a killed process leaves it to expire.)
    public func run() async {
        var leading = false
        let period = election.withLock { $0.configuration.retryPeriod }
        while !Task.isCancelled {
            let now = await round()
            if now != leading {
                leading = now
                logger.info(now ? "leading" : "not leading", metadata: ["lease": "\(name)", "identity": "\(identity)"])
                for change in changes.withLock({ $0 }) { change(now) }
            }
            // Wake at the next round, or sooner when leadership would lapse without a renewal.
            var wake = clock.now.addingTimeInterval(period.timeInterval)
            if leading, let until = leadingUntil, until < wake { wake = until }
            do { try await clock.sleep(until: wake) } catch { break }
            if leading, !isLeader {
                leading = false
                logger.warning("lease not renewed in time: stopped writing", metadata: ["lease": "\(name)", "identity": "\(identity)"])
                for change in changes.withLock({ $0 }) { change(false) }
            }
        }
    }

    /// Gives the lease up if this process holds it (best effort: the lease expires anyway).
    public func release() async {
        guard isLeader, var lease = try? await client.get(Lease.self, name: name, namespace: namespace),
            let released = election.withLock({ $0.release(current: lease.spec) })
        else { return }
        election.withLock { $0.lost() }
        lease.spec = released
        _ = try? await client.replace(lease)
    }
}
