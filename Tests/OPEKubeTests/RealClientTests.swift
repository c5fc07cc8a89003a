import Foundation
import KubeStandIn
import KubeTestSupport
import OPEKube
import OPETestSupport
import Testing

/// The stand-in checked with real clients: kubectl (Debian's `kubernetes-client`, or `OPE_KUBECTL`)
/// and the official Python client (from the tools virtualenv `scripts/setup-kube-tools.sh` makes).
@Suite struct RealClientTests {
    static var kubectl: String {
        if let path = ProcessInfo.processInfo.environment["OPE_KUBECTL"] { return path }
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
        where FileManager.default.isExecutableFile(atPath: "\(folder)/kubectl") {
            return "\(folder)/kubectl"
        }
        return "/usr/bin/kubectl"
    }

    static func kubeconfig(port: Int) throws -> String {
        let file = NSTemporaryDirectory() + "ope-standin-\(UUID().uuidString).kubeconfig"
        try """
        apiVersion: v1
        kind: Config
        clusters:
        - name: standin
          cluster: {server: "http://127.0.0.1:\(port)"}
        contexts:
        - name: standin
          context: {cluster: standin, user: standin, namespace: ope}
        current-context: standin
        users:
        - name: standin
          user: {token: standin}
        """.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test func kubectlGetsListsWatchesPatchesReplacesAndDeletes() async throws {
        try await StandInHarness.run(installCRDs: false) { server, port, kube in
            let config = try Self.kubeconfig(port: port)
            defer { try? FileManager.default.removeItem(atPath: config) }
            @Sendable func kubectl(_ arguments: String...) async throws -> (status: Int32, out: String, err: String) {
                try await ToolProcess.run(Self.kubectl, ["--kubeconfig", config] + arguments)
            }
            let root = StandInHarness.root
            // kubectl validates against the server's OpenAPI documents, which the stand-in does not serve.
            var result = try await kubectl("create", "--validate=false", "-f", root + "/deploy/kubernetes/crds")
            #expect(result.status == 0, "\(result.err)")
            #expect(result.out.contains("customresourcedefinition.apiextensions.k8s.io/opesessions.ope.dev created"))
            result = try await kubectl("create", "namespace", "ope")
            #expect(result.status == 0, "\(result.err)")
            result = try await kubectl("apply", "--validate=false", "-f", root + "/deploy/kubernetes/examples")
            #expect(result.status == 0, "\(result.err)")

            // Printer columns: phase, module, members, age.
            try await kube.updateStatus(SessionResource.self, name: "python-intro-7f3k2", namespace: "ope") { $0.status = .init(phase: .active) }
            result = try await kubectl("get", "opesessions")
            let lines = result.out.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
            #expect(lines.first == ["NAME", "PHASE", "MODULE", "MEMBERS", "AGE"], "\(result.out) \(result.err)")
            #expect(lines.dropFirst().first?.prefix(4) == ["python-intro-7f3k2", "Active", "python-intro", "alice,bob_smith"], "\(result.out)")

            // Watch: kubectl sees the creation and the change as they happen.
            let watch = try ToolProcess(
                Self.kubectl, ["--kubeconfig", config, "get", "configmaps", "-w", "-o", "jsonpath={.metadata.name}:{.metadata.labels.tier}{\"\\n\"}"])
            defer { watch.stop() }
            try await waitUntil("kubectl's watch") { await server.store.openWatches >= 1 }
            #expect(try await kubectl("create", "configmap", "w1", "--from-literal=a=b").status == 0)
            try await waitUntil("the watch to show w1") { watch.stdout.contains("w1:") }
            #expect(try await kubectl("label", "configmap", "w1", "tier=web").status == 0)
            try await waitUntil("the watch to show the label") { watch.stdout.contains("w1:web") }
            #expect(try await kubectl("create", "configmap", "w2").status == 0)

            // List with -l.
            result = try await kubectl("get", "configmaps", "-l", "tier=web", "-o", "name")
            #expect(result.out == "configmap/w1\n", "\(result.err)")
            result = try await kubectl("get", "configmaps", "-l", "tier notin (web)", "-o", "name")
            #expect(result.out == "configmap/w2\n", "\(result.err)")

            // Patch (merge; strategic merge is refused for custom resources, as by the real server).
            result = try await kubectl("patch", "opesession", "python-intro-7f3k2", "--type", "merge", "-p", #"{"spec":{"condition":"free"}}"#)
            #expect(result.status == 0, "\(result.err)")
            let patched = try await kube.get(SessionResource.self, name: "python-intro-7f3k2", namespace: "ope")
            #expect(patched.spec.condition == "free" && patched.metadata.generation == 2 && patched.status?.phase == .active)
            result = try await kubectl("patch", "opesession", "python-intro-7f3k2", "-p", #"{"spec":{"condition":"x"}}"#)
            #expect(result.status != 0 && (result.err.contains("not supported") || result.err.contains("UnsupportedMediaType")), "\(result.err)")

            // Replace: with the current version it works; with a stale one it is a conflict.
            result = try await kubectl("get", "configmap", "w2", "-o", "json")
            let file = NSTemporaryDirectory() + "ope-cm-\(UUID().uuidString).json"
            defer { try? FileManager.default.removeItem(atPath: file) }
            try result.out.replacingOccurrences(of: #""kind": "ConfigMap","#, with: #""kind": "ConfigMap", "data": {"k": "v1"},"#).write(
                toFile: file, atomically: true, encoding: .utf8)
            result = try await kubectl("replace", "--validate=false", "-f", file)
            #expect(result.status == 0, "\(result.err)")
            #expect(try await kube.get(ConfigMap.self, name: "w2", namespace: "ope").data == ["k": "v1"])
            result = try await kubectl("replace", "--validate=false", "-f", file)
            #expect(result.status != 0 && result.err.contains("the object has been modified"), "\(result.err)")

            // Delete.
            result = try await kubectl("delete", "opesession", "python-intro-7f3k2")
            #expect(result.status == 0 && result.out.contains("deleted"), "\(result.err)")
            await #expect { try await kube.get(SessionResource.self, name: "python-intro-7f3k2", namespace: "ope") } throws: {
                ($0 as? KubeAPIError)?.isNotFound == true
            }
            result = try await kubectl("get", "opes", "-o", "name")
            #expect(result.status == 0 && result.out.isEmpty, "short name: \(result.err)")
        }
    }

    @Test func thePythonClientGetsListsWatchesPatchesReplacesAndDeletes() async throws {
        let python = StandInHarness.root + "/.build/kube-tools/bin/python"
        try await StandInHarness.run { _, port, kube in
            let config = try Self.kubeconfig(port: port)
            defer { try? FileManager.default.removeItem(atPath: config) }
            _ = try await kube.create(Namespace(metadata: ObjectMeta(name: "ope")))
            let result = try await ToolProcess.run(python, [StandInHarness.root + "/scripts/kube_python_check.py", config])
            #expect(result.status == 0, "\(result.out)\n\(result.err)")
            #expect(result.out.contains("6 passed, 0 failed"), "\(result.out)\n\(result.err)")
            // What the script left behind is what it says it did.
            let sessions = try await kube.list(SessionResource.self, namespace: "ope").items
            #expect(sessions.map(\.name) == ["py-kept"])
            #expect(sessions.first?.spec.condition == "replaced")
            #expect(sessions.first?.metadata.labels?["patched"] == "yes")
        }
    }

    /// deploy/kubernetes and deploy/images: every kustomization rendered by the same kubectl as above, its
    /// objects validated, the house rules, hadolint (the script says what each check does).
    @Test func theManifestsValidate() async throws {
        let python = StandInHarness.root + "/.build/kube-tools/bin/python"
        let result = try await ToolProcess.run(
            python, [StandInHarness.root + "/scripts/check_kube_manifests.py"], environment: ["OPE_KUBECTL": Self.kubectl])
        #expect(result.status == 0, "\(result.out)\n\(result.err)")
        #expect(result.out.contains(" passed, 0 failed"), "\(result.out)")
        #expect(result.out.contains("ok   kubectl kustomize deploy/kubernetes:"), "\(result.out)")
    }
}
