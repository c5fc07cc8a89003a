import Foundation
import OPEKube

/// Plays the kubelet for tests: the stand-in API server runs no pods, so this watches the pods of
/// a namespace and reports each one Running and Ready (its `/status`, as the kubelet writes it)
/// once `start` says the pod's process answers — at once by default, or after a real JupyterLab
/// behind it has started, or never (a pod that never becomes ready).
public struct KubeletHarness: Sendable {
    public let client: KubeClient
    public let namespace: String
    /// Called once per new pod; true: report it ready (with this IP), false: leave it Pending.
    public let start: @Sendable (Pod) async throws -> Bool

    public init(client: KubeClient, namespace: String, start: @escaping @Sendable (Pod) async throws -> Bool = { _ in true }) {
        self.client = client
        self.namespace = namespace
        self.start = start
    }

    /// Until cancelled.
    public func run() async throws {
        var seen: Set<String> = []
        let watcher = ListWatcher<Pod>(
            client: client, namespace: namespace, backoff: RetryPolicy(maxAttempts: .max, baseDelay: .milliseconds(10), maxDelay: .milliseconds(200)))
        for try await event in watcher {
            let pods: [Pod]
            switch event {
            case .listed(let items, _): pods = items
            case .added(let pod), .modified(let pod): pods = [pod]
            case .deleted(let pod):
                seen.remove(pod.metadata.uid ?? "")
                continue
            }
            for pod in pods where pod.metadata.deletionTimestamp == nil && !(pod.status?.isReady ?? false) {
                guard let uid = pod.metadata.uid, seen.insert(uid).inserted, try await start(pod) else { continue }
                try await markReady(pod.name)
            }
        }
    }

    /// Writes the pod's status as the kubelet does once its containers run and pass their readiness probes.
    public func markReady(_ name: String, ip: String = "127.0.0.1") async throws {
        do {
            try await client.updateStatus(Pod.self, name: name, namespace: namespace) { pod in
                var status = Pod.Status(phase: "Running")
                status.podIP = ip
                status.conditions = [.init(type: "Ready", status: "True", lastTransitionTime: Date())]
                pod.status = status
            }
        } catch let error as KubeAPIError where error.isNotFound {
            // Deleted meanwhile.
        }
    }

    /// Reports the pod failed (evicted, say), as the kubelet would.
    public func markFailed(_ name: String) async throws {
        try await client.updateStatus(Pod.self, name: name, namespace: namespace) { pod in
            pod.status = Pod.Status(phase: "Failed")
        }
    }
}
