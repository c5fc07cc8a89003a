import Foundation
import OPECore
import OPEStore
import Testing

/// `ope user token` (create with --expires, list, revoke) and what `ope serve` says at its first start.
@Suite struct TokenCommandTests {
    @Test func tokensAreCreatedWithAnExpiryListedWithoutSecretsAndRevoked() async throws {
        let data = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: data) }
        #expect(try await OPEProcess.run(["user", "add", "grader", "--password", "long-enough", "--data", data]).status == 0)

        // The old form still works and gets the default lifetime of 90 days.
        let plain = try await OPEProcess.run(["user", "token", "grader", "--name", "nightly", "--data", data])
        #expect(plain.status == 0, "\(plain.stderr)")
        let first = plain.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(first.hasPrefix("ope_"))
        #expect(plain.stderr.contains("it is not shown again"))
        let short = try await OPEProcess.run(["user", "token", "create", "grader", "--name", "one-off", "--expires", "12h", "--data", data])
        #expect(short.status == 0, "\(short.stderr)")
        let second = short.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let store = try Store(dataDirectory: data)
        let tokens = try await store.tokens.list(username: "grader")
        let nightly = try #require(tokens.first { $0.name == "nightly" })
        let oneOff = try #require(tokens.first { $0.name == "one-off" })
        #expect(abs(try #require(nightly.expiresAt).timeIntervalSinceNow - 90 * 86400) < 3600)
        #expect(abs(try #require(oneOff.expiresAt).timeIntervalSinceNow - 12 * 3600) < 600)

        let list = try await OPEProcess.run(["user", "token", "list", "--data", data])
        #expect(list.status == 0, "\(list.stderr)")
        let lines = list.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "id\tuser\tname\tcreated\texpires\tlast used")
        #expect(lines.contains { $0.hasPrefix("\(nightly.id)\tgrader\tnightly\t") && $0.hasSuffix("\tnever") })
        #expect(!list.stdout.contains(first) && !list.stdout.contains(second), "the list shows a secret")

        let revoked = try await OPEProcess.run(["user", "token", "revoke", nightly.id, "--data", data])
        #expect(revoked.status == 0 && revoked.stdout.contains("revoked \(nightly.id) (nightly) of grader"), "\(revoked.stderr)")
        #expect(try await store.tokens.user(for: first) == nil)
        #expect(try await store.tokens.user(for: second)?.username == "grader")
        let all = try await OPEProcess.run(["user", "token", "revoke", "--user", "grader", "--data", data])
        #expect(all.status == 0 && all.stdout.contains("revoked 1 token of grader"))
        #expect(try await store.tokens.user(for: second) == nil)

        // Bad input is named.
        let unknown = try await OPEProcess.run(["user", "token", "revoke", "0123456789ab", "--data", data])
        #expect(unknown.status != 0 && unknown.stderr.contains("no token 0123456789ab"))
        let tooLong = try await OPEProcess.run(["user", "token", "grader", "--expires", "400d", "--data", data])
        #expect(tooLong.status != 0 && tooLong.stderr.contains("--expires: '400d'"))
        let nonsense = try await OPEProcess.run(["user", "token", "grader", "--expires", "soon", "--data", data])
        #expect(nonsense.status != 0 && nonsense.stderr.contains("--expires"))
        let nobody = try await OPEProcess.run(["user", "token", "list", "nobody", "--data", data])
        #expect(nobody.status != 0 && nobody.stderr.contains("no user 'nobody'"))
        let nothing = try await OPEProcess.run(["user", "token", "revoke", "--data", data])
        #expect(nothing.status != 0)
    }

    @Test func aFirstStartOnAccountsMadeBeforehandSaysNoDemoAccountsWereCreated() async throws {
        let data = temporaryFolder("ope-serve")
        defer { try? FileManager.default.removeItem(atPath: data) }
        #expect(try await OPEProcess.run(["user", "add", "ines", "--password", "long-enough", "--role", "instructor", "--data", data]).status == 0)
        let server = try OPEProcess.start(["serve", "--port", "0", "--data", data, "--workspaces", "none"])
        try await server.waitFor("OPE is running")
        try await server.waitFor("No admin or demo accounts were created")
        #expect(server.text.contains("Accounts: 1 (0 admins)"))
        #expect(server.text.contains("WARNING: no admin can manage accounts"))
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)

        // A fresh data dir says what it created.
        let fresh = data + "/fresh"
        let second = try OPEProcess.start(["serve", "--port", "0", "--data", fresh, "--workspaces", "none", "--no-demo-users"])
        try await second.waitFor("OPE is running")
        try await second.waitFor("admin     admin")
        #expect(second.text.contains("First run: created the admin account only (--no-demo-users: no demo accounts)."))
        second.signal(SIGTERM)
        #expect(try await second.waitForExit() == 0)
    }
}
