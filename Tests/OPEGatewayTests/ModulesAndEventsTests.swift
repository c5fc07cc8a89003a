import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OPECore
import OPEStore
import Testing

@Suite struct ModulesAndEventsTests {
    @Test func modulesListsTheLoadedModules() async throws {
        try await TestGateway.run { client, _ in
            #expect(try await client.get("/api/modules").status == .unauthorized)
            let browser = try await client.login("alice")
            let modules = try await client.get("/api/modules", headers: browser.headers).jsonArray()
            #expect(Set(modules.compactMap { $0["id"] as? String }) == ["python-intro", "sql-joins", "spark-wordcount"])
            #expect(modules.allSatisfy { ($0["title"] as? String)?.isEmpty == false })
            let detail = try await client.get("/api/modules/python-intro", headers: browser.headers).json()
            let tasks = try #require(detail["tasks"] as? [[String: Any]])
            #expect(tasks.count >= 2)
            #expect(tasks.allSatisfy { ($0["instructions"] as? String)?.isEmpty == false })
            let missing = try await client.get("/api/modules/nope", headers: browser.headers)
            #expect(missing.status == .notFound)
            #expect(missing.errorMessage == "no module 'nope'")
        }
    }

    @Test func problemsAreVisibleToStaffOnly() async throws {
        let folder = NSTemporaryDirectory() + "ope-bad-modules-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/bad", withIntermediateDirectories: true)
        try "id: bad\ntitle: Bad\nkit: python\ntasks:\n  - id: aa\n    title: A\n    instructions: x\n  - id: aa\n    title: B\n    instructions: y\n"
            .write(toFile: folder + "/bad/module.yaml", atomically: true, encoding: .utf8)
        try await TestGateway.run(moduleFolders: [folder, TestGateway.examples]) { client, _ in
            let alice = try await client.login("alice")
            #expect(try await client.get("/api/modules/problems", headers: alice.headers).status == .forbidden)
            let teacher = try await client.login("teacher")
            let problems = try await client.get("/api/modules/problems", headers: teacher.headers).jsonArray()
            #expect(problems.count == 1)
            #expect(problems.first?["line"] as? Int == 8)
            #expect(problems.first?["field"] as? String == "tasks[1].id")
            #expect((try await client.get("/api/modules", headers: teacher.headers).jsonArray()).count == 3)
            let synced = try await client.execute(uri: "/api/modules/sync", method: .post, headers: teacher.writeHeaders)
            #expect(synced.status == .ok)
            #expect((try synced.json()["modules"] as? [Any])?.count == 3)
        }
    }

    @Test func exportRoundTripsWhatHappened() async throws {
        try await TestGateway.run { client, _ in
            _ = try await client.login("alice")
            _ = try await client.post("/api/auth/login", json: ["username": "alice", "password": "wrong-wrong"])
            let teacher = try await client.login("teacher")
            #expect(try await client.get("/api/events/export", headers: (try await client.login("alice")).headers).status == .forbidden)

            let jsonl = try await client.get("/api/events/export?format=jsonl", headers: teacher.headers)
            #expect(jsonl.status == .ok)
            #expect(jsonl.headers[.contentType] == "application/x-ndjson")
            #expect(jsonl.headers[.contentDisposition]?.contains("ope-events.jsonl") == true)
            let events = try String(buffer: jsonl.body).split(separator: "\n").map {
                try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
            let types = events.compactMap { $0["type"] as? String }
            #expect(types.filter { $0 == "user.created" }.count == 5)
            #expect(types.contains("user.sign_in_failed"))
            let signIns = events.filter { $0["type"] as? String == "user.signed_in" }.compactMap { $0["actor"] as? String }
            #expect(signIns == ["alice", "teacher", "alice"])
            let ids = events.compactMap { $0["id"] as? Int }
            #expect(ids == ids.sorted() && Set(ids).count == ids.count)

            let csv = try await client.get("/api/events/export?format=csv", headers: teacher.headers)
            let rows = String(buffer: csv.body).components(separatedBy: "\r\n").filter { !$0.isEmpty }
            #expect(rows.first == "id,time,type,actor,session,payload")
            #expect(rows.count == events.count + 1)

            let page = try await client.get("/api/events?after=\(ids[2])&limit=2", headers: teacher.headers).jsonArray()
            #expect(page.compactMap { $0["id"] as? Int } == Array(ids[3...4]))
            let future = try await client.get("/api/events/export?since=2999-01-01", headers: teacher.headers)
            #expect(String(buffer: future.body).isEmpty)
            #expect(try await client.get("/api/events/export?format=xml", headers: teacher.headers).status == .badRequest)
            let badDate = try await client.get("/api/events?since=tomorrow", headers: teacher.headers)
            #expect(badDate.status == .badRequest)
            #expect(badDate.errorMessage?.contains("since must be a date") == true)
        }
    }

    @Test func adminsCreateUsersAndOthersCannot() async throws {
        try await TestGateway.run { client, _ in
            let teacher = try await client.login("teacher")
            let refused = try await client.post("/api/users", json: ["username": "new", "password": "long-enough"], headers: teacher.writeHeaders)
            #expect(refused.status == .forbidden)
            let root = try await client.login("root")
            let created = try await client.post(
                "/api/users", json: ["username": "zoe", "displayName": "Zoe", "role": "instructor", "password": "long-enough"], headers: root.writeHeaders
            )
            #expect(created.status == .created)
            let duplicate = try await client.post("/api/users", json: ["username": "zoe", "password": "long-enough"], headers: root.writeHeaders)
            #expect(duplicate.status == .conflict)
            let badName = try await client.post("/api/users", json: ["username": "Zoe Z", "password": "long-enough"], headers: root.writeHeaders)
            #expect(badName.status == .badRequest)
            let badRole = try await client.post("/api/users", json: ["username": "yan", "role": "king", "password": "long-enough"], headers: root.writeHeaders)
            #expect(badRole.errorMessage?.contains("role") == true)
            _ = try await client.login("zoe", "long-enough")
        }
    }
}
