import Foundation
import OPECore
import OPEKube

/// What the session reconciler decides for one `OPESession`, as a pure function of what the
/// informers hold and the time: level-based, so running it again on the same state decides
/// nothing new, and a fresh operator after a crash picks up where the old one stopped.
///
/// - The finalizer comes first, before any pod exists; deletion removes the pod, Service, Secret
///   and volume claim (the sql kit's database lives on the claim), then the finalizer.
/// - A session gets its Secret, volume claim, Service and pod in one pass, and one status write
///   (`Starting`); the pod's readiness makes it `Active` (a second status write).
/// - A missing module or member: a condition that says so, and no pod.
/// - A pod that fails, or disappears, is replaced (the files stay on the claim), counted in
///   `status.workspace.restarts` and said in the `WorkspaceRestarted` condition. A pod that is not
///   ready within the start timeout is replaced up to `startAttempts` times, then the session is
///   told its workspace failed (`Ready=False`, reason `WorkspaceFailed`), and no more pods start.
/// - A workspace idle past the timeout gives its pod back (`Culled`); activity after that
///   (the gateway stamps `ope.dev/last-activity`) brings a new pod.
/// - A `Completed` or `Abandoned` session keeps its files until it is deleted, but no pod.
public struct SessionReconciler: Sendable {
    public static let finalizer = WorkspaceNames.finalizer
    public static let lastActivityAnnotation = WorkspaceNames.lastActivityAnnotation

    /// Everything the decision reads.
    public struct Observed: Sendable {
        public var session: SessionResource
        public var module: ModuleResource?
        /// Members with no `OPEUser`.
        public var unknownMembers: [String]
        public var pod: Pod?
        public var service: Service?
        public var secret: Secret?
        public var claim: PersistentVolumeClaim?
        public var now: Date

        public init(
            session: SessionResource, module: ModuleResource?, unknownMembers: [String] = [], pod: Pod?, service: Service?, secret: Secret?,
            claim: PersistentVolumeClaim?, now: Date
        ) {
            self.session = session
            self.module = module
            self.unknownMembers = unknownMembers
            self.pod = pod
            self.service = service
            self.secret = secret
            self.claim = claim
            self.now = now
        }
    }

    public enum Action: Sendable, Hashable {
        case addFinalizer
        case removeFinalizer
        case createSecret
        case createClaim
        case createService
        case createPod
        case deletePod(uid: String?)
        case deleteService
        case deleteSecret
        case deleteClaim
        case updateStatus(SessionResource.Status)
        /// Look again at this time, though nothing may have changed by then (timeouts, culling).
        case requeue(at: Date)
    }

    public let configuration: OperatorConfiguration

    public init(configuration: OperatorConfiguration) { self.configuration = configuration }

    public func reconcile(_ observed: Observed) -> [Action] {
        let session = observed.session
        let finalizers = session.metadata.finalizers ?? []
        if session.metadata.deletionTimestamp != nil {
            guard finalizers.contains(Self.finalizer) else { return [] }
            var actions: [Action] = []
            if let pod = observed.pod, pod.metadata.deletionTimestamp == nil { actions.append(.deletePod(uid: pod.metadata.uid)) }
            if observed.service != nil { actions.append(.deleteService) }
            if observed.secret != nil { actions.append(.deleteSecret) }
            if observed.claim != nil { actions.append(.deleteClaim) }
            // The finalizer goes once everything is gone (the next pass, when the watches say so).
            return actions.isEmpty && observed.pod == nil ? [.removeFinalizer] : actions
        }
        guard finalizers.contains(Self.finalizer) else { return [.addFinalizer] }

        var status = session.status ?? SessionResource.Status()
        let generation = session.metadata.generation
        status.observedGeneration = generation
        var workspace = status.workspace ?? SessionResource.Workspace()
        var actions: [Action] = []
        let now = observed.now
        func condition(_ type: String, _ value: Bool, _ reason: String, _ message: String) {
            var conditions = status.conditions ?? []
            conditions.set(
                Condition(
                    type: type, status: value ? "True" : "False", observedGeneration: generation, lastTransitionTime: now, reason: reason, message: message))
            status.conditions = conditions
        }

        // Ended: the pod goes, the files stay until the session object does.
        if let phase = status.phase, phase == .completed || phase == .abandoned {
            if let pod = observed.pod, pod.metadata.deletionTimestamp == nil { actions.append(.deletePod(uid: pod.metadata.uid)) }
            if observed.service != nil { actions.append(.deleteService) }
            workspace.ready = false
            status.workspace = workspace
            condition("Ready", false, "SessionEnded", "the session is \(phase.rawValue.lowercased()); its files are kept until it is deleted")
            return actions + statusWrite(status, observed)
        }

        // What must exist before a pod can.
        guard let module = observed.module else {
            status.phase = status.phase ?? .pending
            condition("ModuleFound", false, "ModuleMissing", "no OPEModule named \(session.spec.module) in this namespace")
            return statusWrite(status, observed)
        }
        condition("ModuleFound", true, "ModuleFound", "module \(session.spec.module)")
        if !observed.unknownMembers.isEmpty {
            status.phase = status.phase ?? .pending
            condition("MembersKnown", false, "UnknownUser", "no OPEUser for \(observed.unknownMembers.sorted().joined(separator: ", "))")
            return statusWrite(status, observed)
        }
        condition("MembersKnown", true, "MembersKnown", "every member has an OPEUser")

        let objects = WorkspaceObjects(session: session, module: module, configuration: configuration)
        workspace.pod = objects.names.pod
        workspace.service = objects.names.service
        workspace.endpoint = objects.endpoint
        if observed.secret == nil { actions.append(.createSecret) }
        if observed.claim == nil { actions.append(.createClaim) }
        if observed.service == nil { actions.append(.createService) }

        let attempts = workspace.attempts ?? 0
        let failedOut = status.conditions?["Ready"]?.reason == "WorkspaceFailed"
        let lastActivity = session.metadata.annotations?[Self.lastActivityAnnotation].flatMap(TimeParsing.parse)

        if let pod = observed.pod, pod.metadata.deletionTimestamp != nil {
            // On its way out (graceful termination): the next pass, once it is gone, decides what follows.
            workspace.ready = false
        } else if let pod = observed.pod {
            let phase = pod.status?.phase ?? "Pending"
            let ready = pod.status?.isReady ?? false
            let restartsInPod = Self.containerRestarts(pod)
            if phase == "Failed" || phase == "Succeeded" {
                // Evicted or stopped for good: a new pod on the same files.
                workspace.restarts = (workspace.restarts ?? 0) + 1
                workspace.ready = false
                actions.append(.deletePod(uid: pod.metadata.uid))
                condition("Ready", false, "PodFailed", "the workspace pod \(phase.lowercased()); starting a new one with the team's files")
                condition("WorkspaceRestarted", true, "PodFailed", "replaced \(workspace.restarts ?? 0) time(s); files kept")
            } else if ready {
                workspace.ready = true
                workspace.attempts = nil
                if status.phase != .active {
                    status.phase = .active
                    status.startedAt = status.startedAt ?? now
                }
                condition("Ready", true, "WorkspaceReady", "JupyterLab answers at \(objects.endpoint)")
                if restartsInPod > 0 {
                    condition("WorkspaceRestarted", true, "ContainerRestarted", "JupyterLab restarted \(restartsInPod) time(s) in its pod; files kept")
                }
                if let idle = configuration.idleTimeout {
                    let readySince = status.conditions?["Ready"]?.lastTransitionTime ?? now
                    let since = max(readySince, lastActivity ?? readySince)
                    let deadline = since.addingTimeInterval(idle.timeInterval)
                    if now >= deadline {
                        workspace.ready = false
                        workspace.culledAt = now
                        actions.append(.deletePod(uid: pod.metadata.uid))
                        condition(
                            "Ready", false, "Culled",
                            "no activity for \(DurationText.text(idle)); the files are kept and a new pod starts when the team comes back")
                    } else {
                        actions.append(.requeue(at: deadline))
                    }
                }
            } else {
                workspace.ready = false
                if status.phase == nil || status.phase == .pending { status.phase = .starting }
                let created = pod.metadata.creationTimestamp ?? now
                let deadline = created.addingTimeInterval(configuration.startTimeout.timeInterval)
                if now >= deadline {
                    let attempt = attempts + 1
                    workspace.attempts = attempt
                    actions.append(.deletePod(uid: pod.metadata.uid))
                    if attempt >= configuration.startAttempts {
                        condition(
                            "Ready", false, "WorkspaceFailed",
                            "the workspace did not become ready in \(attempt) attempts of \(DurationText.text(configuration.startTimeout)) each")
                    } else {
                        condition(
                            "Ready", false, "StartTimeout",
                            "the workspace pod was not ready after \(DurationText.text(configuration.startTimeout)); trying again (\(attempt) of \(configuration.startAttempts))"
                        )
                    }
                } else {
                    if status.conditions?["Ready"] == nil || status.conditions?["Ready"]?.status == "True" {
                        condition("Ready", false, "Starting", "the workspace pod is starting")
                    }
                    actions.append(.requeue(at: deadline))
                }
            }
        } else if failedOut {
            workspace.ready = false
        } else if let culled = workspace.culledAt, (lastActivity ?? .distantPast) <= culled {
            // Culled and nobody came back yet.
            workspace.ready = false
        } else {
            if workspace.culledAt != nil {
                workspace.culledAt = nil
                condition("Ready", false, "Starting", "the team came back; starting a new pod with its files")
            } else if workspace.ready == true {
                // It was there and is gone (deleted, node lost): a new pod on the same files.
                workspace.restarts = (workspace.restarts ?? 0) + 1
                condition("Ready", false, "PodLost", "the workspace pod disappeared; starting a new one with the team's files")
                condition("WorkspaceRestarted", true, "PodLost", "replaced \(workspace.restarts ?? 0) time(s); files kept")
            } else if status.conditions?["Ready"] == nil || status.conditions?["Ready"]?.status == "True" {
                condition("Ready", false, "Starting", "the workspace pod is starting")
            }
            workspace.ready = false
            if status.phase == nil || status.phase == .pending { status.phase = .starting }
            actions.append(.createPod)
        }
        status.workspace = workspace
        return actions + statusWrite(status, observed)
    }

    /// The status write, if the status changed.
    private func statusWrite(_ status: SessionResource.Status, _ observed: Observed) -> [Action] {
        status == observed.session.status ? [] : [.updateStatus(status)]
    }

    /// Container restarts the kubelet did in place (the pod and its files stayed).
    static func containerRestarts(_ pod: Pod) -> Int {
        guard case .array(let statuses)? = pod.status?.containerStatuses else { return 0 }
        return statuses.reduce(0) { total, status in
            if case .object(let fields) = status, case .number(let count)? = fields["restartCount"] { return total + Int(count) }
            return total
        }
    }
}
