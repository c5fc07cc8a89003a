import Foundation
import KubeTestSupport
import OPECore
import OPEKube
import OPETestSupport
import Synchronization
import Testing

@testable import KubeStandIn

/// OPE's Kubernetes client against the stand-in: the guarantees the operator will build on.
@Suite struct ClientTests {
    static func session(_ name: String, members: [String] = ["alice", "bob"], labels: [String: String]? = nil) -> SessionResource {
        SessionResource(
            metadata: ObjectMeta(name: name, namespace: "default", labels: labels),
            spec: .init(module: "python-intro", members: members.enumerated().map { .init(user: $1, role: $0 == 0 ? "driver" : "navigator") }, mode: "dynamic"))
    }

    /// What a list-watch consumer knows: name → resource version, and how often it had to relist.
    final class Cache: Sendable {
        let state = Mutex<(objects: [String: String], lists: Int)>(([:], 0))
        func apply(_ event: ListWatchEvent<SessionResource>) {
            state.withLock { state in
                switch event {
                case .listed(let items, _):
                    state.lists += 1
                    state.objects = Dictionary(uniqueKeysWithValues: items.map { ($0.name, $0.metadata.resourceVersion ?? "") })
                case .added(let object), .modified(let object): state.objects[object.name] = object.metadata.resourceVersion ?? ""
                case .deleted(let object): state.objects.removeValue(forKey: object.name)
                }
            }
        }
        var objects: [String: String] { state.withLock { $0.objects } }
        var lists: Int { state.withLock { $0.lists } }
    }

    static func serverState(_ kube: KubeClient) async throws -> [String: String] {
        let list = try await kube.listAll(SessionResource.self, namespace: "default")
        return Dictionary(uniqueKeysWithValues: list.items.map { ($0.name, $0.metadata.resourceVersion ?? "") })
    }

    @Test func aWatchResumesFromItsLastVersionAndAfter410RelistsMissingNothing() async throws {
        try await StandInHarness.run { server, _, kube in
            _ = try await kube.create(Self.session("s1"))
            let cache = Cache()
            let watcher = ListWatcher<SessionResource>(
                client: kube, namespace: "default", backoff: RetryPolicy(maxAttempts: .max, baseDelay: .milliseconds(5), maxDelay: .milliseconds(20)))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { for try await event in watcher { cache.apply(event) } }
                try await waitUntil("the first list and watch") {
                    let watches = await server.store.openWatches
                    return cache.objects.keys.contains("s1") && watches == 1
                }

                // The server goes away; meanwhile objects change (in its store, as etcd would keep them).
                await server.store.crash()
                let type = try #require(await server.store.allTypes().first { $0.plural == "opesessions" })
                var s2 = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(Self.session("s2"))).objectValue!
                s2["metadata"] = ["name": "s2", "namespace": "default"]
                _ = try await server.store.create(type, namespace: "default", body: s2)
                _ = try await server.store.patch(
                    type, namespace: "default", name: "s1", contentType: "application/merge-patch+json", body: ["metadata": ["labels": ["seen": "yes"]]],
                    subresource: .main)
                await server.store.restart()
                // It resumes from its last version: both changes arrive, without a new list.
                try await waitUntil("the resumed watch to catch up") { cache.objects == (try await Self.serverState(kube)) }
                #expect(cache.lists == 1)

                // Now the history it would resume from is compacted away: 410, a relist, and still nothing missed.
                await server.store.crash()
                _ = try await server.store.delete(type, namespace: "default", name: "s2", preconditions: DeletePreconditions())
                var s3 = s2
                s3["metadata"] = ["name": "s3", "namespace": "default"]
                _ = try await server.store.create(type, namespace: "default", body: s3)
                await server.store.compact()
                await server.store.restart()
                try await waitUntil("the relist after 410") { cache.lists == 2 }
                try await waitUntil("the cache to equal the server") { cache.objects == (try await Self.serverState(kube)) }
                #expect(cache.objects.keys.sorted() == ["s1", "s3"])

                // And changes after the relist still arrive through the new watch.
                try await kube.delete(SessionResource.self, name: "s3", namespace: "default")
                try await waitUntil("the deletion to arrive") { cache.objects.keys.sorted() == ["s1"] }
                group.cancelAll()
                await server.store.dropWatches()
            }
        }
    }

    @Test func aWatchBelowTheCompactionPointIsExpired() async throws {
        try await StandInHarness.run { server, _, kube in
            let created = try await kube.create(Self.session("s1"))
            await server.store.compact()
            await #expect {
                var events = try await kube.watch(SessionResource.self, namespace: "default", resourceVersion: "1").makeAsyncIterator()
                return try await events.next()
            } throws: { error in
                (error as? KubeAPIError)?.isExpired == true && (error as? KubeAPIError)?.reason == "Expired"
            }
            // From the current version it works, and bookmarks move it on.
            var events = try await kube.watch(SessionResource.self, namespace: "default", resourceVersion: created.metadata.resourceVersion).makeAsyncIterator()
            await server.store.sendBookmarks()
            guard case .bookmark(let version) = try await events.next() else { Issue.record("no bookmark"); return }
            #expect(Int(version)! >= Int(created.metadata.resourceVersion!)!)
        }
    }

    @Test func anUpdateThatMeetsAConflictReadsAgainAndNeverOverwritesBlindly() async throws {
        try await StandInHarness.run { server, _, kube in
            let original = try await kube.create(Self.session("s1"))
            // A stale copy is refused and changes nothing.
            _ = try await kube.patch(SessionResource.self, name: "s1", namespace: "default", merge: ["metadata": ["labels": ["team": "red"]]])
            var stale = original
            stale.spec.condition = "guided"
            await #expect { try await kube.replace(stale) } throws: { ($0 as? KubeAPIError)?.isConflict == true }
            #expect(try await kube.get(SessionResource.self, name: "s1", namespace: "default").spec.condition == nil)

            // update(...) meets a write in between: it reads again and applies its change to the new version.
            let calls = Mutex(0)
            let updated = try await kube.update(SessionResource.self, name: "s1", namespace: "default") { session in
                let call = calls.withLock {
                    $0 += 1; return $0
                }
                if call == 1 {
                    // Someone else writes after our read.
                    Task.detached {
                        _ = try? await kube.patch(SessionResource.self, name: "s1", namespace: "default", merge: ["metadata": ["labels": ["rival": "yes"]]])
                    }
                }
                session.spec.condition = "guided"
            }
            #expect(updated.spec.condition == "guided")
            #expect(updated.metadata.labels?["team"] == "red")
            // Forced conflicts from the server's fault hook: two, then success on the third read.
            await server.store.forceConflicts(2)
            let third = try await kube.update(SessionResource.self, name: "s1", namespace: "default") { $0.spec.mode = "static" }
            #expect(third.spec.mode == "static" && third.spec.condition == "guided")
            // More conflicts than attempts: the error reaches the caller.
            await server.store.forceConflicts(5)
            await #expect { try await kube.update(SessionResource.self, name: "s1", namespace: "default", attempts: 3) { $0.spec.mode = "dynamic" } } throws: {
                ($0 as? KubeAPIError)?.isConflict == true
            }
        }
    }

    @Test func statusAndSpecWritesStayApartAndGenerationCountsSpecChanges() async throws {
        try await StandInHarness.run { _, _, kube in
            var session = Self.session("s1")
            session.status = .init(phase: .active)
            let created = try await kube.create(session)
            #expect(created.status == nil)  // creation ignores status, as with a status subresource
            #expect(created.metadata.generation == 1)

            var withStatus = created
            withStatus.status = .init(phase: .starting)
            withStatus.spec.condition = "ignored"
            let afterStatus = try await kube.replaceStatus(withStatus)
            #expect(afterStatus.status?.phase == .starting)
            #expect(afterStatus.spec.condition == nil)
            #expect(afterStatus.metadata.generation == 1)

            var withSpec = afterStatus
            withSpec.spec.condition = "guided"
            withSpec.status = .init(phase: .completed)
            let afterSpec = try await kube.replace(withSpec)
            #expect(afterSpec.spec.condition == "guided")
            #expect(afterSpec.status?.phase == .starting)
            #expect(afterSpec.metadata.generation == 2)

            let afterLabel = try await kube.patch(SessionResource.self, name: "s1", namespace: "default", merge: ["metadata": ["labels": ["x": "y"]]])
            #expect(afterLabel.metadata.generation == 2)
            let afterStatusPatch = try await kube.patch(
                SessionResource.self, name: "s1", namespace: "default", merge: ["status": ["phase": "Active"]], status: true)
            #expect(afterStatusPatch.metadata.generation == 2 && afterStatusPatch.status?.phase == .active)
            // A write that changes nothing is not a write.
            let same = try await kube.replace(afterStatusPatch)
            #expect(same.metadata.resourceVersion == afterStatusPatch.metadata.resourceVersion)
        }
    }

    @Test func finalizersHoldDeletionUntilTheLastIsRemovedAndOwnedObjectsFollow() async throws {
        try await StandInHarness.run { _, _, kube in
            var session = Self.session("s1")
            session.metadata.finalizers = ["ope.dev/workspace"]
            let created = try await kube.create(session)
            var pod = Pod(metadata: ObjectMeta(name: "ws-s1", namespace: "default"), spec: ["containers": [["name": "lab", "image": "ope/python"]]])
            pod.metadata.ownerReferences = [OwnerReference(apiVersion: "ope.dev/v1alpha1", kind: "OPESession", name: "s1", uid: created.metadata.uid!)]
            _ = try await kube.create(pod)

            try await kube.delete(SessionResource.self, name: "s1", namespace: "default")
            let marked = try await kube.get(SessionResource.self, name: "s1", namespace: "default")
            #expect(marked.metadata.deletionTimestamp != nil)
            #expect(try await kube.get(Pod.self, name: "ws-s1", namespace: "default").name == "ws-s1")
            // No new finalizers once deletion started.
            await #expect {
                try await kube.update(SessionResource.self, name: "s1", namespace: "default") { $0.metadata.finalizers?.append("other") }
            } throws: {
                ($0 as? KubeAPIError)?.code == 422
            }
            try await kube.update(SessionResource.self, name: "s1", namespace: "default") { $0.metadata.finalizers = [] }
            await #expect { try await kube.get(SessionResource.self, name: "s1", namespace: "default") } throws: { ($0 as? KubeAPIError)?.isNotFound == true }
            await #expect { try await kube.get(Pod.self, name: "ws-s1", namespace: "default") } throws: { ($0 as? KubeAPIError)?.isNotFound == true }
        }
    }

    @Test func listsFilterByLabelsAndFieldsAndPagesComeFromOneVersion() async throws {
        try await StandInHarness.run { _, _, kube in
            for (name, tier) in [("a", "web"), ("b", "db"), ("c", "web"), ("d", "cache"), ("e", "")] {
                _ = try await kube.create(ConfigMap(metadata: ObjectMeta(name: name, namespace: "default", labels: tier.isEmpty ? nil : ["tier": tier])))
            }
            func names(_ selector: String? = nil, fields: String? = nil) async throws -> [String] {
                try await kube.list(ConfigMap.self, namespace: "default", labelSelector: selector, fieldSelector: fields).items.map(\.name)
            }
            #expect(try await names("tier=web") == ["a", "c"])
            #expect(try await names("tier!=web") == ["b", "d", "e"])
            #expect(try await names("tier in (db,cache)") == ["b", "d"])
            #expect(try await names("tier notin (web)") == ["b", "d", "e"])
            #expect(try await names("tier") == ["a", "b", "c", "d"])
            #expect(try await names("!tier") == ["e"])
            #expect(try await names(fields: "metadata.name=c") == ["c"])
            #expect(try await names("tier=web", fields: "metadata.name!=a") == ["c"])
            await #expect { try await names(fields: "spec.x=1") } throws: { ($0 as? KubeAPIError)?.code == 400 }

            let first = try await kube.list(ConfigMap.self, namespace: "default", limit: 2)
            #expect(first.items.map(\.name) == ["a", "b"])
            #expect(first.metadata.remainingItemCount == 3)
            // A change between pages does not show in the later pages: they come from the first page's version.
            _ = try await kube.create(ConfigMap(metadata: ObjectMeta(name: "bb", namespace: "default")))
            let second = try await kube.list(ConfigMap.self, namespace: "default", limit: 2, continue: first.metadata.continue)
            #expect(second.items.map(\.name) == ["c", "d"])
            #expect(second.metadata.resourceVersion == first.metadata.resourceVersion)
            let all = try await kube.listAll(ConfigMap.self, namespace: "default", pageSize: 2)
            #expect(all.items.map(\.name) == ["a", "b", "bb", "c", "d", "e"])
        }
    }

    @Test func busyAnswersAreRetriedAndTheCrashedWriteIsStored() async throws {
        try await StandInHarness.run { server, _, kube in
            _ = try await kube.create(ConfigMap(metadata: ObjectMeta(name: "one", namespace: "default")))
            await server.store.failNextRequests(2, code: 429, retryAfterSeconds: 0)
            #expect(try await kube.get(ConfigMap.self, name: "one", namespace: "default").name == "one")
            // A 500 on a write is not retried: it might have happened.
            await server.store.failNextRequests(1, code: 500)
            await #expect { try await kube.create(ConfigMap(metadata: ObjectMeta(name: "two", namespace: "default"))) } throws: {
                ($0 as? KubeAPIError)?.code == 500
            }
            // Crash after the next write: the client hears nothing, but the write is there once the server is back.
            await server.store.crash(afterWrites: 1)
            await #expect(throws: (any Error).self) { try await kube.create(ConfigMap(metadata: ObjectMeta(name: "three", namespace: "default"))) }
            await server.store.restart()
            #expect(try await kube.get(ConfigMap.self, name: "three", namespace: "default").name == "three")
            await #expect { try await kube.create(ConfigMap(metadata: ObjectMeta(name: "three", namespace: "default"))) } throws: {
                ($0 as? KubeAPIError)?.isAlreadyExists == true
            }
        }
    }

    @Test func kubeconfigGivesServerNamespaceAndToken() throws {
        let connection = try ClusterConnection.kubeconfig(
            yaml: """
                apiVersion: v1
                kind: Config
                clusters:
                - name: c
                  cluster: {server: "https://10.0.0.1:6443", certificate-authority-data: \(Data("-----BEGIN CERTIFICATE-----".utf8).base64EncodedString())}
                contexts:
                - name: ctx
                  context: {cluster: c, user: u, namespace: ope}
                current-context: ctx
                users:
                - name: u
                  user: {token: abc}
                """)
        #expect(connection.server == "https://10.0.0.1:6443")
        #expect(connection.namespace == "ope")
        #expect(connection.token == "abc")
        #expect(connection.certificateAuthorityPEM == "-----BEGIN CERTIFICATE-----")
        #expect(throws: (any Error).self) { try ClusterConnection.kubeconfig(yaml: "current-context: nowhere\ncontexts: []\n") }
    }
}
