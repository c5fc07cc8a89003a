import Foundation
import KubeStandIn
import KubeTestSupport
import OPECore
import OPEKube
import OPETestSupport
import Testing

@testable import OPEOperator

/// Leader election over one Lease, on an injected clock: one holder at a time, a holder that
/// stops renewing stops writing before another can take over, and only the holder writes.
@Suite struct LeaderElectionTests {
    static let configuration = (duration: Duration.seconds(15), deadline: Duration.seconds(10), period: Duration.seconds(2))

    static func elector(_ identity: String, _ kube: KubeClient, _ clock: ManualClock) -> LeaderElector {
        LeaderElector(
            client: kube, namespace: "default", name: "ope-operator",
            configuration: .init(
                identity: identity, leaseDuration: configuration.duration, renewDeadline: configuration.deadline, retryPeriod: configuration.period),
            clock: clock)
    }

    @Test func oneHolderAtATimeAndADeposedLeaderStopsBeforeTheLeaseCanBeTaken() async throws {
        try await StandInHarness.run { _, _, kube in
            let clock = ManualClock()
            let a = Self.elector("operator-a", kube, clock)
            let b = Self.elector("operator-b", kube, clock)
            #expect(await a.round())
            #expect(await b.round() == false)
            for _ in 0..<5 {
                clock.advance(by: .seconds(2))
                #expect(await a.round())
                #expect(await b.round() == false)
            }
            // a stops renewing (hung, partitioned). b keeps looking every period.
            let lastRenewal = clock.now
            var aStopped: Date?
            var bTook: Date?
            while bTook == nil {
                clock.advance(by: .seconds(1))
                if aStopped == nil, !a.isLeader { aStopped = clock.now }
                if await b.round() { bTook = clock.now }
                #expect(!(a.isLeader && b.isLeader), "two leaders at \(clock.now)")
                #expect(clock.now < lastRenewal.addingTimeInterval(60), "b never took over")
            }
            let stopped = try #require(aStopped)
            let took = try #require(bTook)
            #expect(stopped <= lastRenewal.addingTimeInterval(Self.configuration.deadline.timeInterval))
            #expect(took >= lastRenewal.addingTimeInterval(Self.configuration.duration.timeInterval))
            #expect(stopped < took)
            let lease = try await kube.get(Lease.self, name: "ope-operator", namespace: "default")
            #expect(lease.spec.holderIdentity == "operator-b")
            #expect(lease.spec.leaseTransitions == 1)
            // a comes back: it reads b's record and does not lead.
            #expect(await a.round() == false)
        }
    }

    @Test func aReleasedLeaseIsTakenAtOnce() async throws {
        try await StandInHarness.run { _, _, kube in
            let clock = ManualClock()
            let a = Self.elector("operator-a", kube, clock)
            let b = Self.elector("operator-b", kube, clock)
            #expect(await a.round())
            #expect(await b.round() == false)
            await a.release()
            #expect(!a.isLeader)
            clock.advance(by: .seconds(2))
            #expect(await b.round())
        }
    }

    @Test func ofTwoOperatorsOnlyTheLeaseHolderWritesAndTheOtherTakesOverWhenItIsKilled() async throws {
        try await OperatorCluster.run { cluster in
            let clock = ManualClock()
            let election = { (identity: String) in
                LeaseElection.Configuration(identity: identity, leaseDuration: .seconds(15), renewDeadline: .seconds(10), retryPeriod: .seconds(2))
            }
            // The reconcilers' own timers run on the same clock; the test moves it on.
            let first = cluster.makeOperator(election: election("operator-a"), clock: clock)
            let second = cluster.makeOperator(election: election("operator-b"), clock: clock)
            // Killing operator-a is cancelling its task: no goodbye, its lease is left to expire.
            let killable = Task { try await first.run() }
            defer { killable.cancel() }
            try await clock.advance(by: .milliseconds(50), until: "operator-a leads") { first.gate.isLeading }
            try await cluster.running([second], kubelet: cluster.kubelet()) {
                try await cluster.createSession("pair-l")
                try await clock.advance(by: .milliseconds(50), until: "the session is active") { try await cluster.allActive(["pair-l"]) }
                #expect(first.writer.writes > 0)
                #expect(second.writer.writes == 0)
                #expect(!second.gate.isLeading)

                killable.cancel()
                _ = try? await killable.value
                await cluster.server.store.dropWatches()
                try await cluster.createSession("pair-m", members: ["carol", "dave"])
                let killedAt = clock.now
                try await clock.advance(by: .milliseconds(250), until: "operator-b leads and starts pair-m") { try await cluster.allActive(["pair-m"]) }
                #expect(second.writer.writes > 0)
                // Not before the lease ran out.
                let lease = try await cluster.kube.get(Lease.self, name: "ope-operator", namespace: OperatorCluster.namespace)
                #expect(lease.spec.holderIdentity == "operator-b")
                #expect(try #require(lease.spec.acquireTime) >= killedAt.addingTimeInterval(15 - 2.5))
            }
        }
    }
}
