import Foundation
import KubeTestSupport
import OPECore
import OPEKube
import OPETestSupport
import Synchronization
import Testing

@testable import KubeStandIn
@testable import OPEOperator

/// The operator against the stand-in API server, with a test kubelet marking pods ready.
@Suite struct OperatorTests {
    typealias Cluster = OperatorCluster

    @Test func aSessionGetsItsWorkspaceAndDeletingItRemovesEverythingThenTheObject() async throws {
        try await Cluster.run { cluster in
            let op = cluster.makeOperator()
            // The kubelet checks, for every pod it sees, that its session already had the finalizer.
            let podsWithoutFinalizer = Mutex<[String]>([])
            let kubelet = cluster.kubelet { pod in
                let session = try await cluster.session(pod.metadata.labels?["ope.dev/session"] ?? "")
                if !(session.metadata.finalizers ?? []).contains(SessionReconciler.finalizer) { podsWithoutFinalizer.withLock { $0.append(pod.name) } }
                return true
            }
            try await cluster.running([op], kubelet: kubelet) {
                try await cluster.createSession("pair-1")
                try await waitUntil("the session is active") { try await cluster.allActive(["pair-1"]) }
                let session = try await cluster.session("pair-1")
                #expect(session.status?.workspace?.endpoint == "http://ws-pair-1.ope.svc:8888/w/pair-1/")
                #expect(session.status?.conditions?["Ready"]?.status == "True")
                #expect(session.status?.observedGeneration == session.metadata.generation)
                #expect(podsWithoutFinalizer.withLock { $0 }.isEmpty)
                let pod = try await cluster.kube.get(Pod.self, name: "ws-pair-1", namespace: Cluster.namespace)
                #expect(pod.metadata.ownerReferences?.first?.uid == session.metadata.uid)
                let secret = try await cluster.kube.get(Secret.self, name: "ws-pair-1-token", namespace: Cluster.namespace)
                #expect((secret.value("token") ?? "").count == 64)
                // The module and the members say so in their status.
                try await waitUntil("the statuses follow the session") {
                    let module = try await cluster.kube.get(ModuleResource.self, name: "python-intro", namespace: Cluster.namespace)
                    let alice = try await cluster.kube.get(UserResource.self, name: "alice", namespace: Cluster.namespace)
                    return module.status?.liveSessions == 1 && alice.status?.currentSession == "pair-1"
                }
                let module = try await cluster.kube.get(ModuleResource.self, name: "python-intro", namespace: Cluster.namespace)
                #expect(module.status?.validated == true && module.status?.open == true)
                #expect(try await cluster.kube.get(UserResource.self, name: "carol", namespace: Cluster.namespace).status?.currentSession == nil)
                // A module applied by hand that names a plan it does not carry is not valid, in words.
                var broken = ModuleResource(
                    metadata: ObjectMeta(name: "broken", namespace: Cluster.namespace),
                    spec: .init(title: "Broken", kit: "python", tasks: [.init(id: "t1", title: "One", instructions: "x")]))
                broken.spec.plan = "bot/guide.yaml"
                _ = try await cluster.kube.create(broken)
                try await waitUntil("the broken module is reported") {
                    try await cluster.kube.get(ModuleResource.self, name: "broken", namespace: Cluster.namespace).status?.validated == false
                }
                let problems = try await cluster.kube.get(ModuleResource.self, name: "broken", namespace: Cluster.namespace).status?.validationErrors ?? []
                #expect(problems.contains { $0.hasPrefix("OPEModule broken: plan: file 'bot/guide.yaml' does not exist") }, "\(problems)")

                let snapshot = try await cluster.snapshot()
                #expect(snapshot.objects["policies"] == ["ope-workspaces"])
                #expect(snapshot.objects["configmaps"] == ["ope-jupyter-config"])

                try await cluster.kube.delete(SessionResource.self, name: "pair-1", namespace: Cluster.namespace)
                try await waitUntil("the session object is gone") {
                    do {
                        _ = try await cluster.session("pair-1")
                        return false
                    } catch let error as KubeAPIError where error.isNotFound { return true }
                }
                try await waitUntil("alice is in no session any more") {
                    try await cluster.kube.get(UserResource.self, name: "alice", namespace: Cluster.namespace).status?.currentSession == nil
                }
                let after = try await cluster.snapshot()
                #expect(after.objects["pods"] == [] && after.objects["services"] == [] && after.objects["secrets"] == [] && after.objects["claims"] == [])
            }
        }
    }

    @Test func aSessionNamingAMissingModuleOrUserWaitsWithAConditionAndStartsWhenTheyAppear() async throws {
        try await Cluster.run { cluster in
            let op = cluster.makeOperator()
            try await cluster.running([op], kubelet: cluster.kubelet()) {
                try await cluster.createSession("lonely", members: ["alice", "erin"])
                try await waitUntil("the unknown member is reported") {
                    try await cluster.session("lonely").status?.conditions?["MembersKnown"]?.message == "no OPEUser for erin"
                }
                #expect(try await cluster.snapshot().objects["pods"] == [])
                #expect(try await cluster.session("lonely").status?.phase == .pending)
                try await cluster.addUser("erin")
                try await waitUntil("the session starts once erin exists") { try await cluster.allActive(["lonely"]) }
            }
        }
    }

    @Test func anUpdateThatMeetsAConflictReadsAgainAndNeverOverwritesAnotherWrite() async throws {
        try await Cluster.run { cluster in
            let op = cluster.makeOperator()
            // Someone else writes to the session; then the next conditional writes are refused as if someone had written first.
            try await cluster.createSession("pair-2")
            _ = try await cluster.kube.patch(
                SessionResource.self, name: "pair-2", namespace: Cluster.namespace, merge: ["metadata": ["annotations": ["instructor/note": "watch this pair"]]]
            )
            await cluster.server.store.forceConflicts(3)
            try await cluster.running([op], kubelet: cluster.kubelet()) {
                try await waitUntil("the session is active") { try await cluster.allActive(["pair-2"]) }
            }
            let session = try await cluster.session("pair-2")
            #expect(session.metadata.annotations?["instructor/note"] == "watch this pair")
            #expect(session.metadata.finalizers == [SessionReconciler.finalizer])
            #expect(await cluster.server.store.faults.conflicts == 0)
        }
    }

    @Test func aWorkspacePodThatFailsIsReplacedWithItsFilesAndTheConditionSaysSo() async throws {
        try await Cluster.run { cluster in
            let op = cluster.makeOperator()
            let kubelet = cluster.kubelet()
            try await cluster.running([op], kubelet: kubelet) {
                try await cluster.createSession("pair-3")
                try await waitUntil("the session is active") { try await cluster.allActive(["pair-3"]) }
                let claim = try await cluster.kube.get(PersistentVolumeClaim.self, name: "ws-pair-3-files", namespace: Cluster.namespace)
                let first = try await cluster.kube.get(Pod.self, name: "ws-pair-3", namespace: Cluster.namespace)
                try await kubelet.markFailed("ws-pair-3")
                try await waitUntil("a new pod is ready") {
                    let pod = try? await cluster.kube.get(Pod.self, name: "ws-pair-3", namespace: Cluster.namespace)
                    guard pod?.metadata.uid != first.metadata.uid, pod?.status?.isReady ?? false else { return false }
                    return try await cluster.allActive(["pair-3"])
                }
                let session = try await cluster.session("pair-3")
                #expect(session.status?.workspace?.restarts == 1)
                #expect(session.status?.conditions?["WorkspaceRestarted"]?.reason == "PodFailed")
                // The same volume claim: the team's files stayed.
                #expect(
                    try await cluster.kube.get(PersistentVolumeClaim.self, name: "ws-pair-3-files", namespace: Cluster.namespace).metadata.uid
                        == claim.metadata.uid)
            }
        }
    }

    @Test func theAPIServerGoneForAWhileLeavesWorkspacesAloneAndTheOperatorConvergesWhenItReturns() async throws {
        try await Cluster.run { cluster in
            let op = cluster.makeOperator()
            try await cluster.running([op], kubelet: cluster.kubelet()) {
                try await cluster.createSession("before")
                try await waitUntil("the first session is active") { try await cluster.allActive(["before"]) }
                let pod = try await cluster.kube.get(Pod.self, name: "ws-before", namespace: Cluster.namespace)

                // The API server goes away; a session is made meanwhile (as etcd would keep it).
                await cluster.server.store.crash()
                let type = try #require(await cluster.server.store.allTypes().first { $0.plural == "opesessions" })
                let during = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(OperatorCluster.session("during")))
                _ = try await cluster.server.store.create(type, namespace: Cluster.namespace, body: during.objectValue ?? [:])
                // The operator keeps what it knows (its cache) and writes nothing it cannot.
                try await waitUntil("the operator's watches notice") { await cluster.server.store.openWatches == 0 }
                #expect(op.caches.sessions.get(name: "before", namespace: Cluster.namespace) != nil)
                await cluster.server.store.restart()

                try await waitUntil("the operator converges once the server is back") { try await cluster.allActive(["before", "during"]) }
                // The first workspace was never touched.
                #expect(try await cluster.kube.get(Pod.self, name: "ws-before", namespace: Cluster.namespace).metadata.uid == pod.metadata.uid)
            }
        }
    }

    /// Kill the operator after its k-th write, for every k, and start a fresh one: it must end
    /// where an uncrashed run ends, leak nothing, and then have nothing left to write.
    @Test func crashAfterEachWriteConvergesToTheSameStateWithNoLeaksAndNoFurtherWrites() async throws {
        let names = ["pair-a", "pair-b"]
        let reference = Mutex<(snapshot: OperatorCluster.Snapshot?, writes: Int)>((nil, 0))
        try await Cluster.run { cluster in
            let op = cluster.makeOperator()
            try await cluster.running([op], kubelet: cluster.kubelet()) {
                for name in names { try await cluster.createSession(name) }
                try await waitUntil("both sessions are active") { try await cluster.allActive(names) }
            }
            let snapshot = try await cluster.snapshot()
            reference.withLock { $0 = (snapshot, op.writer.writes) }
        }
        let (expected, total) = reference.withLock { ($0.snapshot!, $0.writes) }
        // Two sessions (7 writes each when applied by hand), the shared objects (2), and the statuses
        // of the module and the members (how often those change depends on how the passes fall).
        #expect(total >= 2 * 7 + 2 && total <= 2 * 7 + 2 + 12, "writes for two sessions, the shared objects and the statuses: \(total)")
        for k in 1...total {
            try await Cluster.run { cluster in
                for name in names { try await cluster.createSession(name) }
                let crashing = cluster.makeOperator()
                crashing.writer.stop(afterWrites: k)
                let kubelet = cluster.kubelet()
                try await cluster.running([crashing], kubelet: kubelet) {
                    // Status writes vary a little from run to run: a run may finish in fewer than k.
                    try await waitUntil("write \(k) is made, or the run is over before it") {
                        if crashing.writer.writes >= k { return true }
                        guard try await cluster.allActive(names) else { return false }
                        let sessionsWaiting = await crashing.queue.depth
                        let statusesWaiting = await crashing.statusQueue.depth
                        return try await cluster.snapshot() == expected && sessionsWaiting == 0 && statusesWaiting == 0
                    }
                }
                let fresh = cluster.makeOperator()
                try await cluster.running([fresh], kubelet: kubelet) {
                    try await waitUntil("the fresh operator converges after a crash at write \(k)") {
                        guard try await cluster.allActive(names) else { return false }
                        return try await cluster.snapshot() == expected
                    }
                }
                let snapshot = try await cluster.snapshot()
                #expect(snapshot == expected, "after a crash at write \(k)")
                // A third operator's full pass finds nothing to write.
                let third = cluster.makeOperator()
                try await cluster.running([third], kubelet: nil) {
                    try await waitUntil("a full pass") {
                        let depth = await third.queue.depth
                        return third.passes >= names.count && depth == 0
                    }
                }
                #expect(third.writer.writes == 0, "a converged state took \(third.writer.writes) more writes (crash at write \(k))")
            }
        }
    }
}
