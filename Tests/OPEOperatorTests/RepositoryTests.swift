import Foundation
import KubeStandIn
import KubeTestSupport
import OPECore
import OPEKube
import OPEModules
import OPETestSupport
import Testing

@testable import OPEOperator

/// OPERepository → OPEModule objects, their files and hidden tests, and a status in words.
@Suite struct RepositoryTests {
    static func repository(_ name: String, url: String) -> RepositoryResource {
        RepositoryResource(
            metadata: ObjectMeta(name: name, namespace: OperatorCluster.namespace), spec: .init(url: url, ref: "main", path: "modules", interval: .text("10s")))
    }

    @Test func aRepositoryPublishesItsModulesWithTheirFilesAndSaysWhatIsWrongWithTheOthers() async throws {
        let git = try GitRepository()
        defer { git.remove() }
        try await OperatorCluster.run { cluster in
            // The cluster's seed module is applied by hand; this repository brings its own.
            try await cluster.kube.delete(ModuleResource.self, name: "python-intro", namespace: OperatorCluster.namespace)
            // Syncs are due on the operator's clock, which the test moves on.
            let clock = ManualClock()
            let op = cluster.makeOperator(clock: clock)
            try await cluster.running([op], kubelet: nil) {
                _ = try await cluster.kube.create(Self.repository("course", url: git.url))
                try await waitUntil("the repository is synced") {
                    let repository = try await cluster.kube.get(RepositoryResource.self, name: "course", namespace: OperatorCluster.namespace)
                    return repository.status?.modules == ["python-intro"]
                }
                let module = try await cluster.kube.get(ModuleResource.self, name: "python-intro", namespace: OperatorCluster.namespace)
                #expect(module.spec.kit == "python")
                #expect(module.spec.tasks.map(\.id) == ["text-stats", "run-length"])
                #expect(module.spec.source?.repository == "course")
                #expect(module.spec.source?.path == "modules/python-intro")
                #expect(module.metadata.ownerReferences?.first?.kind == "OPERepository")
                let files = try await cluster.kube.get(ConfigMap.self, name: "opemodule-python-intro-files", namespace: OperatorCluster.namespace)
                let visible = ModuleBundle.decode(files.binaryData ?? [:])
                #expect(visible["text_stats.py"] != nil && visible["module.yaml"] != nil && visible["bot/guide.yaml"] != nil)
                #expect(visible["tests/test_text_stats.py"] == nil)
                let tests = try await cluster.kube.get(Secret.self, name: "opemodule-python-intro-tests", namespace: OperatorCluster.namespace)
                #expect(Set(ModuleBundle.decode(tests.data ?? [:]).keys) == ["tests/test_text_stats.py", "tests/test_rle.py"])

                // A broken module beside it: the status says where, in ope module validate's words; the good one stays.
                try git.write("modules/broken/module.yaml", "id: broken\ntitle: Broken\nkit: cobol\ntasks: []\n")
                try git.commit("broken")
                let synced = try await cluster.kube.get(RepositoryResource.self, name: "course", namespace: OperatorCluster.namespace).status?.lastSyncTime
                // Nothing is due yet: the status write the sync made does not make it fetch again.
                try await waitUntil("the queue is idle") { await op.repositoryQueue.depth == 0 }
                #expect(
                    try await cluster.kube.get(RepositoryResource.self, name: "course", namespace: OperatorCluster.namespace).status?.lastSyncTime == synced)
                try await clock.advance(by: .seconds(5), until: "the broken module is reported") {
                    let repository = try await cluster.kube.get(RepositoryResource.self, name: "course", namespace: OperatorCluster.namespace)
                    return repository.status?.moduleErrors?.isEmpty == false
                }
                let repository = try await cluster.kube.get(RepositoryResource.self, name: "course", namespace: OperatorCluster.namespace)
                let errors = repository.status?.moduleErrors?.flatMap(\.errors) ?? []
                #expect(errors.contains { $0.hasPrefix("modules/broken/module.yaml:3:") && $0.contains("kit") }, "\(errors)")
                #expect(repository.status?.conditions?["Valid"]?.status == "False")
                #expect(repository.status?.conditions?["Synced"]?.status == "True")
                #expect(repository.status?.modules == ["python-intro"])

                // The module leaves the repository: its object and files go.
                try git.git("rm", "-r", "--quiet", "modules/python-intro")
                try git.commit("python-intro retired")
                try await clock.advance(by: .seconds(5), until: "the retired module and its files are deleted") {
                    let modules = try await cluster.kube.listAll(ModuleResource.self, namespace: OperatorCluster.namespace).items
                    let files = try await cluster.kube.listAll(ConfigMap.self, namespace: OperatorCluster.namespace, labelSelector: "ope.dev/repository=course")
                        .items
                    let tests = try await cluster.kube.listAll(Secret.self, namespace: OperatorCluster.namespace, labelSelector: "ope.dev/repository=course")
                        .items
                    return modules.isEmpty && files.isEmpty && tests.isEmpty
                }
            }
        }
    }

    @Test func anUnreachableRepositoryIsAConditionInWordsAndChangesNoModule() async throws {
        try await OperatorCluster.run { cluster in
            let op = cluster.makeOperator()
            try await cluster.running([op], kubelet: nil) {
                _ = try await cluster.kube.create(Self.repository("gone", url: "file:///nonexistent/ope-modules"))
                try await waitUntil("the failure is reported") {
                    let repository = try await cluster.kube.get(RepositoryResource.self, name: "gone", namespace: OperatorCluster.namespace)
                    return repository.status?.conditions?["Synced"]?.status == "False"
                }
                let repository = try await cluster.kube.get(RepositoryResource.self, name: "gone", namespace: OperatorCluster.namespace)
                let message = repository.status?.conditions?["Synced"]?.message ?? ""
                #expect(message.contains("git fetch failed"), "\(message)")
                // The hand-applied module is untouched.
                #expect(try await cluster.kube.listAll(ModuleResource.self, namespace: OperatorCluster.namespace).items.map(\.name) == ["python-intro"])
            }
        }
    }

    @Test func aFailedSyncKeepsWhatWasPublished() {
        let repository = Self.repository("course", url: "https://example.org/x.git")
        var module = ModuleResource(
            metadata: ObjectMeta(name: "python-intro", namespace: "ope", labels: [RepositoryReconciler.repositoryLabel: "course"]),
            spec: .init(title: "T", kit: "python", tasks: []))
        module.metadata.resourceVersion = "3"
        let actions = RepositoryReconciler().reconcile(
            .init(repository: repository, sync: .failed("network down"), modules: [module], files: [], tests: [], foreign: [], now: Date()))
        #expect(!actions.contains { if case .deleteModule = $0 { true } else { false } })
        guard case .updateStatus(let status)? = actions.first else {
            Issue.record("no status: \(actions)")
            return
        }
        #expect(status.conditions?["Synced"]?.message == "network down")
    }

    @Test func bundleKeysAreValidConfigMapKeysAndReversible() {
        for path in ["tests/test_rle.py", "data/my file.csv", "a__b/_c.txt", "ünï/x.py"] {
            let key = ModuleBundle.key(for: path)
            #expect(key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) }, "\(key)")
            #expect(ModuleBundle.path(forKey: key) == path)
        }
    }
}
