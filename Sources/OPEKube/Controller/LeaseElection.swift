import Foundation
import OPECore

/// Leader election over a `coordination.k8s.io` Lease, as a pure state machine: given the lease as
/// read and the time, what to write (``decide(current:now:)``), and whether this candidate may
/// act as leader now (``isLeader(now:)``).
///
/// Safety rests on two durations and local clocks only (no clock is compared with another
/// machine's): a leader acts for `renewDeadline` after its last successful renewal, and a
/// candidate takes the lease over only once the record has not changed for `leaseDuration` of
/// its own time. With `renewDeadline < leaseDuration` a deposed leader has stopped writing before
/// anyone else can hold the lease.
public struct LeaseElection: Sendable, Hashable {
    public struct Configuration: Sendable, Hashable {
        public var identity: String
        /// How long a record must stand unchanged before another candidate may take the lease.
        public var leaseDuration: Duration
        /// How long a leader keeps acting after its last successful renewal; shorter than `leaseDuration`.
        public var renewDeadline: Duration
        /// How often candidates read and leaders renew.
        public var retryPeriod: Duration

        public init(identity: String, leaseDuration: Duration = .seconds(15), renewDeadline: Duration = .seconds(10), retryPeriod: Duration = .seconds(2)) {
            precondition(renewDeadline < leaseDuration, "a leader must stop before its lease can be taken")
            self.identity = identity
            self.leaseDuration = leaseDuration
            self.renewDeadline = renewDeadline
            self.retryPeriod = retryPeriod
        }
    }

    /// What to do with the lease now.
    public enum Decision: Sendable, Hashable {
        /// There is no lease: create it, held by us.
        case create(Lease.Spec)
        /// Write this spec over the version read (renew ours, or take over an expired one).
        case update(Lease.Spec)
        /// Someone else holds it and it has not expired.
        case wait
    }

    public let configuration: Configuration
    /// The record as last read (holder and renew time) and when, by our clock, it last changed.
    private var observedRecord: Lease.Spec?
    private var observedAt: Date?
    /// When our last write as holder succeeded.
    private var renewedAt: Date?

    public init(configuration: Configuration) { self.configuration = configuration }

    public func isLeader(now: Date) -> Bool {
        guard let renewedAt else { return false }
        return now < renewedAt.addingTimeInterval(configuration.renewDeadline.timeInterval)
    }

    /// Until when this candidate may act as leader, if it leads.
    public func leadingUntil() -> Date? { renewedAt?.addingTimeInterval(configuration.renewDeadline.timeInterval) }

    public mutating func decide(current: Lease.Spec?, now: Date) -> Decision {
        let seconds = Int(configuration.leaseDuration.timeInterval.rounded(.up))
        guard let current else {
            return .create(
                Lease.Spec(holderIdentity: configuration.identity, leaseDurationSeconds: seconds, acquireTime: now, renewTime: now, leaseTransitions: 0))
        }
        if observedRecord?.holderIdentity != current.holderIdentity || observedRecord?.renewTime != current.renewTime
            || observedRecord?.leaseTransitions != current.leaseTransitions
        {
            observedRecord = current
            observedAt = now
        }
        let holder = current.holderIdentity ?? ""
        if holder != configuration.identity { renewedAt = nil }
        if holder == configuration.identity {
            var renewed = current
            renewed.renewTime = now
            renewed.leaseDurationSeconds = seconds
            return .update(renewed)
        }
        // The holder's own duration counts if it is longer than ours (a record written by a candidate configured otherwise).
        let duration = max(configuration.leaseDuration.timeInterval, TimeInterval(current.leaseDurationSeconds ?? 0))
        let expired = holder.isEmpty || now >= (observedAt ?? now).addingTimeInterval(duration)
        guard expired else { return .wait }
        return .update(
            Lease.Spec(
                holderIdentity: configuration.identity, leaseDurationSeconds: seconds, acquireTime: now, renewTime: now,
                leaseTransitions: (current.leaseTransitions ?? 0) + (holder.isEmpty ? 0 : 1)))
    }

    /// Our write of `spec` succeeded at `now` (written before `now`, so leadership counts from the
    /// moment the write was sent: pass the time the decision was made).
    public mutating func wrote(_ spec: Lease.Spec, at time: Date) {
        observedRecord = spec
        observedAt = time
        renewedAt = spec.holderIdentity == configuration.identity ? time : nil
    }

    /// Someone else wrote first (409) or the lease says another holder: we do not lead.
    public mutating func lost() { renewedAt = nil }

    /// Giving the lease up on shutdown: the spec that releases it (holder emptied) if we hold it.
    public func release(current: Lease.Spec) -> Lease.Spec? {
        guard current.holderIdentity == configuration.identity else { return nil }
        var released = current
        released.holderIdentity = ""
        released.leaseDurationSeconds = 1
        return released
    }
}
