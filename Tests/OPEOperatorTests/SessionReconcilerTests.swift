import Foundation
import OPECore
import OPEKube
import Testing

@testable import OPEOperator

/// The session reconciler as a pure function: observed state and a time in, actions out.
@Suite struct SessionReconcilerTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let reconciler = SessionReconciler(configuration: OperatorConfiguration(namespace: "ope"))

    static func session(finalizer: Bool = true, members: [String] = ["alice", "bob"]) -> SessionResource {
        var session = SessionResource(
            metadata: ObjectMeta(name: "python-intro-7f3k2", namespace: "ope"),
            spec: .init(module: "python-intro", members: members.enumerated().map { .init(user: $1, role: $0 == 0 ? "driver" : "navigator") }))
        session.metadata.uid = "uid-1"
        session.metadata.generation = 1
        session.metadata.resourceVersion = "10"
        if finalizer { session.metadata.finalizers = [SessionReconciler.finalizer] }
        return session
    }

    static let module = ModuleResource(
        metadata: ObjectMeta(name: "python-intro", namespace: "ope"), spec: .init(title: "Intro", kit: "python", tasks: [.init(id: "t1", title: "One")]))

    /// The world after the actions: what a faithful API server would hold.
    struct World {
        var session: SessionResource
        var pod: Pod?
        var service: Service?
        var secret: Secret?
        var claim: PersistentVolumeClaim?
        var writes = 0

        mutating func apply(_ actions: [SessionReconciler.Action], objects: WorkspaceObjects, now: Date) {
            for action in actions {
                switch action {
                case .requeue: continue
                case .addFinalizer: session.metadata.finalizers = [SessionReconciler.finalizer]
                case .removeFinalizer: session.metadata.finalizers = []
                case .createSecret: secret = objects.secret(token: "t", gradingToken: "g", databasePassword: "p")
                case .createClaim: claim = objects.claim()
                case .createService: service = objects.service()
                case .createPod:
                    pod = objects.pod()
                    pod?.metadata.creationTimestamp = now
                    pod?.status = .init(phase: "Pending")
                case .deletePod: pod = nil
                case .deleteService: service = nil
                case .deleteSecret: secret = nil
                case .deleteClaim: claim = nil
                case .updateStatus(let status): session.status = status
                }
                writes += 1
            }
        }

        func observed(module: ModuleResource? = SessionReconcilerTests.module, unknown: [String] = [], now: Date) -> SessionReconciler.Observed {
            .init(session: session, module: module, unknownMembers: unknown, pod: pod, service: service, secret: secret, claim: claim, now: now)
        }
    }

    func objects(_ session: SessionResource) -> WorkspaceObjects {
        WorkspaceObjects(session: session, module: Self.module, configuration: reconciler.configuration)
    }

    /// Runs passes until one decides no write (at most 5), returning the writes made.
    func settle(_ world: inout World, now: Date, module: ModuleResource? = SessionReconcilerTests.module, unknown: [String] = []) -> Int {
        let before = world.writes
        for _ in 0..<5 {
            let actions = reconciler.reconcile(world.observed(module: module, unknown: unknown, now: now))
            if actions.allSatisfy({ if case .requeue = $0 { true } else { false } }) { return world.writes - before }
            world.apply(actions, objects: objects(world.session), now: now)
        }
        Issue.record("did not settle in 5 passes")
        return world.writes - before
    }

    static func ready(_ pod: inout Pod?) {
        pod?.status = .init(phase: "Running")
        pod?.status?.conditions = [.init(type: "Ready", status: "True")]
    }

    @Test func theFinalizerComesBeforeAnythingElse() {
        let actions = reconciler.reconcile(World(session: Self.session(finalizer: false)).observed(now: Self.t0))
        #expect(actions == [.addFinalizer])
    }

    @Test func oneWriteEachForTheWorkspaceObjectsAndTheStatusThenNothing() throws {
        var world = World(session: Self.session())
        let actions = reconciler.reconcile(world.observed(now: Self.t0))
        #expect(actions.filter { if case .requeue = $0 { false } else { true } }.count == 5)
        #expect(Array(actions.prefix(4)) == [.createSecret, .createClaim, .createService, .createPod])
        world.apply(actions, objects: objects(world.session), now: Self.t0)
        #expect(world.session.status?.phase == .starting)
        #expect(world.session.status?.workspace?.endpoint == "http://ws-python-intro-7f3k2.ope.svc:8888/w/python-intro-7f3k2/")
        // Nothing changed: only a look again at the start deadline.
        #expect(settle(&world, now: Self.t0.addingTimeInterval(5)) == 0)

        Self.ready(&world.pod)
        #expect(settle(&world, now: Self.t0.addingTimeInterval(20)) == 1)
        #expect(world.session.status?.phase == .active)
        #expect(world.session.status?.workspace?.ready == true)
        let ready = try #require(world.session.status?.conditions?["Ready"])
        #expect(ready.status == "True" && ready.observedGeneration == 1)
        #expect(settle(&world, now: Self.t0.addingTimeInterval(30)) == 0)
    }

    @Test func lastTransitionTimeMovesOnlyWhenAConditionsStatusChanges() throws {
        var world = World(session: Self.session())
        _ = settle(&world, now: Self.t0)
        let starting = try #require(world.session.status?.conditions?["Ready"])
        #expect(starting.status == "False" && starting.lastTransitionTime == Self.t0)
        let found = try #require(world.session.status?.conditions?["ModuleFound"])
        Self.ready(&world.pod)
        _ = settle(&world, now: Self.t0.addingTimeInterval(40))
        #expect(world.session.status?.conditions?["Ready"]?.lastTransitionTime == Self.t0.addingTimeInterval(40))
        #expect(world.session.status?.conditions?["ModuleFound"]?.lastTransitionTime == found.lastTransitionTime)
        // A new generation is recorded, with no transition.
        world.session.metadata.generation = 2
        _ = settle(&world, now: Self.t0.addingTimeInterval(50))
        #expect(world.session.status?.observedGeneration == 2)
        #expect(world.session.status?.conditions?["Ready"]?.observedGeneration == 2)
        #expect(world.session.status?.conditions?["Ready"]?.lastTransitionTime == Self.t0.addingTimeInterval(40))
    }

    @Test func aMissingModuleOrUserIsAConditionAndNoPod() throws {
        var world = World(session: Self.session())
        _ = settle(&world, now: Self.t0, module: nil)
        #expect(world.pod == nil && world.secret == nil && world.claim == nil)
        #expect(world.session.status?.phase == .pending)
        let module = try #require(world.session.status?.conditions?["ModuleFound"])
        #expect(module.status == "False" && module.message == "no OPEModule named python-intro in this namespace")

        var other = World(session: Self.session(members: ["alice", "carol"]))
        _ = settle(&other, now: Self.t0, unknown: ["carol"])
        #expect(other.pod == nil)
        #expect(other.session.status?.conditions?["MembersKnown"]?.message == "no OPEUser for carol")
        // The user appears: the workspace follows.
        _ = settle(&other, now: Self.t0.addingTimeInterval(1))
        #expect(other.pod != nil && other.session.status?.conditions?["MembersKnown"]?.status == "True")
    }

    @Test func deletionRemovesEveryObjectThenTheFinalizer() {
        var world = World(session: Self.session())
        _ = settle(&world, now: Self.t0)
        world.session.metadata.deletionTimestamp = Self.t0.addingTimeInterval(60)
        let first = reconciler.reconcile(world.observed(now: Self.t0.addingTimeInterval(60)))
        #expect(first == [.deletePod(uid: nil), .deleteService, .deleteSecret, .deleteClaim])
        world.apply(first, objects: objects(world.session), now: Self.t0)
        #expect(reconciler.reconcile(world.observed(now: Self.t0.addingTimeInterval(61))) == [.removeFinalizer])
        // A pod still terminating keeps the finalizer on.
        var terminating = World(session: world.session)
        terminating.pod = objects(world.session).pod()
        terminating.pod?.metadata.deletionTimestamp = Self.t0
        #expect(reconciler.reconcile(terminating.observed(now: Self.t0.addingTimeInterval(61))) == [])
    }

    @Test func aFailedOrVanishedPodIsReplacedWithTheFilesKeptAndCounted() throws {
        var world = World(session: Self.session())
        _ = settle(&world, now: Self.t0)
        Self.ready(&world.pod)
        _ = settle(&world, now: Self.t0.addingTimeInterval(10))
        world.pod?.status?.phase = "Failed"
        _ = settle(&world, now: Self.t0.addingTimeInterval(20))
        #expect(world.pod != nil && world.claim != nil)
        #expect(world.session.status?.workspace?.restarts == 1)
        #expect(world.session.status?.conditions?["WorkspaceRestarted"]?.reason == "PodFailed")
        #expect(world.session.status?.phase == .active)

        Self.ready(&world.pod)
        _ = settle(&world, now: Self.t0.addingTimeInterval(30))
        world.pod = nil
        _ = settle(&world, now: Self.t0.addingTimeInterval(40))
        #expect(world.pod != nil)
        #expect(world.session.status?.workspace?.restarts == 2)
        #expect(world.session.status?.conditions?["WorkspaceRestarted"]?.reason == "PodLost")
    }

    @Test func aPodThatNeverBecomesReadyIsReplacedABoundedNumberOfTimes() throws {
        var world = World(session: Self.session())
        var now = Self.t0
        _ = settle(&world, now: now)
        for attempt in 1...3 {
            now = now.addingTimeInterval(reconciler.configuration.startTimeout.timeInterval)
            _ = settle(&world, now: now)
            #expect(world.session.status?.workspace?.attempts == attempt)
        }
        let ready = try #require(world.session.status?.conditions?["Ready"])
        #expect(ready.reason == "WorkspaceFailed")
        #expect(ready.message == "the workspace did not become ready in 3 attempts of 5m each")
        #expect(world.pod == nil)
        #expect(settle(&world, now: now.addingTimeInterval(3600)) == 0)
    }

    @Test func anIdleWorkspaceGivesItsPodBackAndActivityBringsANewOne() throws {
        var world = World(session: Self.session())
        _ = settle(&world, now: Self.t0)
        Self.ready(&world.pod)
        _ = settle(&world, now: Self.t0)
        let idle = try #require(reconciler.configuration.idleTimeout)
        // Activity just before the deadline moves it.
        world.session.metadata.annotations = [SessionReconciler.lastActivityAnnotation: "2027-01-15T08:20:00Z"]
        let activity = try #require(TimeParsing.parse("2027-01-15T08:20:00Z"))
        let actions = reconciler.reconcile(world.observed(now: activity.addingTimeInterval(1)))
        #expect(actions.contains(.requeue(at: activity.addingTimeInterval(idle.timeInterval))))
        _ = settle(&world, now: activity.addingTimeInterval(idle.timeInterval))
        #expect(world.pod == nil && world.claim != nil)
        #expect(world.session.status?.conditions?["Ready"]?.reason == "Culled")
        #expect(settle(&world, now: activity.addingTimeInterval(idle.timeInterval + 600)) == 0)
        world.session.metadata.annotations = [SessionReconciler.lastActivityAnnotation: "2027-01-15T09:30:00Z"]
        _ = settle(&world, now: activity.addingTimeInterval(idle.timeInterval + 700))
        #expect(world.pod != nil && world.session.status?.workspace?.culledAt == nil)
    }

    @Test func anEndedSessionKeepsItsFilesButNoPod() {
        var world = World(session: Self.session())
        _ = settle(&world, now: Self.t0)
        world.session.status?.phase = .completed
        _ = settle(&world, now: Self.t0.addingTimeInterval(5))
        #expect(world.pod == nil && world.service == nil)
        #expect(world.claim != nil && world.secret != nil)
        #expect(world.session.status?.phase == .completed)
        #expect(world.session.status?.conditions?["Ready"]?.reason == "SessionEnded")
    }

    @Test func thePodRunsUnprivilegedWithoutCredentialsAndTheTokenFromItsSecret() throws {
        let pod = objects(Self.session()).pod()
        let text = pod.spec.jsonText
        #expect(text.contains(#""automountServiceAccountToken":false"#))
        #expect(text.contains(#""runAsNonRoot":true"#))
        #expect(text.contains(#""secretKeyRef":{"key":"token","name":"ws-python-intro-7f3k2-token"}"#))
        #expect(!text.contains("--ServerApp.token"))
        #expect(text.contains(#""claimName":"ws-python-intro-7f3k2-files""#))
        #expect(pod.metadata.ownerReferences?.first?.uid == "uid-1")
        // The hidden tests are mounted in the grading container only, never in JupyterLab's.
        var tested = Self.module
        tested.spec.tasks[0].test = .init(command: "python -m pytest -q tests/test_one.py", files: ["tests/test_one.py"])
        let gradedPod = WorkspaceObjects(session: Self.session(), module: tested, configuration: reconciler.configuration).pod()
        let containers = gradedPod.spec.objectValue?["containers"]?.arrayValue ?? []
        let mounts = { (name: String) -> [String] in
            let container = containers.first { $0.objectValue?["name"]?.stringValue == name }
            return (container?.objectValue?["volumeMounts"]?.arrayValue ?? []).compactMap { $0.objectValue?["name"]?.stringValue }
        }
        #expect(mounts("grading").contains("tests"))
        #expect(!mounts("jupyterlab").contains("tests"))
        #expect(!objects(Self.session()).pod().spec.jsonText.contains(#""name":"grading""#))
        // An sql workspace has its database beside it, its password from the same Secret.
        var sql = Self.module
        sql.spec.kit = "sql"
        let sqlPod = WorkspaceObjects(session: Self.session(), module: sql, configuration: reconciler.configuration).pod()
        #expect(sqlPod.spec.jsonText.contains(#""name":"database""#))
        #expect(sqlPod.spec.jsonText.contains(#""key":"database-password""#))
    }

    @Test func longSessionNamesGiveDistinctDNSLabels() {
        let a = WorkspaceNames(session: String(repeating: "a", count: 70) + "-1")
        let b = WorkspaceNames(session: String(repeating: "a", count: 70) + "-2")
        #expect(a.service != b.service)
        #expect(a.service.count <= 63 && a.claim.count <= 253)
    }
}
