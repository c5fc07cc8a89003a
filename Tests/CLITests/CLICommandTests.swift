import Foundation
import OPECore
import OPEStore
import Testing

@Suite struct CLICommandTests {
    static var examples: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/modules").path
    }

    @Test func userAddWorksOfflineAndRefusesDuplicates() async throws {
        let data = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let added = try await OPEProcess.run(["user", "add", "carol", "--password", "s3cret-pass", "--role", "instructor", "--data", data])
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.stdout.contains("created instructor 'carol'"))
        let again = try await OPEProcess.run(["user", "add", "carol", "--password", "s3cret-pass", "--data", data])
        #expect(again.status != 0)
        #expect(again.stderr.contains("user 'carol' already exists"))
        let short = try await OPEProcess.run(["user", "add", "dave", "--password", "short", "--data", data])
        #expect(short.status != 0 && short.stderr.contains("at least 8 characters"))
        let badRole = try await OPEProcess.run(["user", "add", "erin", "--password", "long-enough", "--role", "boss", "--data", data])
        #expect(badRole.status != 0 && badRole.stderr.contains("boss"))
        let list = try await OPEProcess.run(["user", "list", "--data", data])
        #expect(list.stdout.contains("carol\tinstructor\tcarol"))

        let store = try Store(dataDirectory: data)
        #expect(try await store.users.authenticate(username: "carol", password: "s3cret-pass")?.role == .instructor)
    }

    @Test func userHashPrintsAHashTheSignInCheckAccepts() async throws {
        let made = try await OPEProcess.run(["user", "hash"], input: "correct-horse-battery\n")
        #expect(made.status == 0, "\(made.stderr)")
        #expect(made.stdout.hasPrefix("$scrypt$ln=14,r=8,p=1$") && !made.stdout.hasSuffix("\n"))
        #expect(PasswordHasher.verify("correct-horse-battery", against: made.stdout))
        #expect(!PasswordHasher.verify("correct-horse-batter", against: made.stdout))
        let short = try await OPEProcess.run(["user", "hash"], input: "short\n")
        #expect(short.status != 0)
        #expect(short.stderr.contains("at least 8 characters"))
    }

    @Test func rosterImportCreatesAccountsAndPrintsPasswords() async throws {
        let data = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let roster = data + "/roster.csv"
        try "username,display name,role\nann,\"Ann, the first\",participant\nben,Ben,\ntina,Tina T,instructor\n".write(
            toFile: roster, atomically: true, encoding: .utf8)
        let result = try await OPEProcess.run(["user", "import", roster, "--data", data])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "username,password")
        #expect(lines.count == 4)
        let store = try Store(dataDirectory: data)
        let ann = lines.first { $0.hasPrefix("ann,") }!.dropFirst(4)
        #expect(try await store.users.authenticate(username: "ann", password: String(ann))?.displayName == "Ann, the first")
        #expect(try await store.users.find("ben")?.role == .participant)
        #expect(try await store.users.find("tina")?.role == .instructor)

        let bad = data + "/bad.csv"
        try "ann,Ann\nBad Name!,x\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let refused = try await OPEProcess.run(["user", "import", bad, "--data", data])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("bad.csv:2"))
    }

    @Test func planSimulatePrintsTheTimelineWithoutAServer() async throws {
        let plan = Self.examples + "/python-intro/bot/guide.yaml"
        let result = try await OPEProcess.run(["plan", "simulate", plan, "--members", "2", "--tests-pass", "text-stats=600", "--until", "700"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "# Python warm-up guide (native plan), 2 members: Ann, Ben")
        #expect(lines.contains("     0.00  say     [welcome.1] Hi Ann, Ben! I'm OPE_Bot, your guide for this session."))
        #expect(lines.contains { $0.hasPrefix("     6.70  roles   (match) Ann=") })
        #expect(lines.contains("   600.00  say     [text-stats.3.passed] The tests pass. Well done, Ann, Ben!"))
        #expect(lines.contains("   603.00  stage   run-length"))
        #expect(lines.allSatisfy { $0.hasPrefix("#") || Double($0.prefix(9).trimmingCharacters(in: .whitespaces)).map { $0 <= 700 } == true })

        // A student alone hears nothing about teamwork or rotating roles.
        let alone = try await OPEProcess.run(["plan", "simulate", plan, "--members", "1", "--tests-pass", "text-stats=600", "--until", "1000"])
        #expect(alone.status == 0, "\(alone.stderr)")
        #expect(alone.stdout.contains("you work on your own"))
        #expect(alone.stdout.contains("roles   (match) Ann=Driver"))
        for phrase in ["together", "rotate", "navigator", "Navigator", "researcher", "each other"] {
            #expect(!alone.stdout.contains(phrase), "a lone student is told '\(phrase)': \(alone.stdout)")
        }

        let unknown = try await OPEProcess.run(["plan", "simulate", plan, "--tests-pass", "nope=5"])
        #expect(unknown.status != 0 && unknown.stderr.contains("waits for no task named nope"))
        let malformed = try await OPEProcess.run(["plan", "simulate", plan, "--tests-pass", "text-stats"])
        #expect(malformed.status != 0 && malformed.stderr.contains("TASK=SECONDS"))
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "name: x\nstages:\n  - steps:\n      - say: [unclosed\n".write(toFile: folder + "/bad.yaml", atomically: true, encoding: .utf8)
        let broken = try await OPEProcess.run(["plan", "simulate", folder + "/bad.yaml"])
        #expect(broken.status != 0 && broken.stderr.contains("bad.yaml:"), "\(broken.stderr)")
    }

    /// Each behaviour trigger of the example plan fires once, at its second, for the right member,
    /// from the example activity file; a script naming someone who is not there is refused.
    @Test func planSimulatePlaysAnActivityFileAndShowsTheTriggers() async throws {
        let examples = URL(fileURLWithPath: Self.examples).deletingLastPathComponent().appendingPathComponent("plans").path
        let result = try await OPEProcess.run([
            "plan", "simulate", examples + "/behaviour.yaml", "--members", "2", "--activity", examples + "/pair-activity.yaml", "--until", "610",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let triggers = result.stdout.split(separator: "\n").map(String.init).filter { $0.contains("  trigger ") }
        #expect(
            triggers == [
                "   120.00  trigger editShare: Ann, 90% of 30 edits in 10 min",
                "   200.00  trigger repeatedError: NameError: name 'words' is not defined, 3 times, last run by Ann",
                "   300.00  trigger silent: Ben, 5 min without a chat message",
                "   440.00  trigger driverIdle: Ann, 4 min driving without running code",
            ], "\(result.stdout)")
        #expect(result.stdout.contains("   300.00  say     [trigger1] Ben, we have not heard from you for 5 minutes. What would you try next?"))
        #expect(result.stdout.contains("   600.00  say     [start.3.passed] The tests pass. Well done, Ann, Ben!"))

        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "{\"at\": 5, \"chat\": \"Ann\", \"text\": \"hi\"}\n{\"at\": 9, \"chat\": \"Zed\", \"text\": \"hi\"}\n".write(
            toFile: folder + "/a.jsonl", atomically: true, encoding: .utf8)
        let stranger = try await OPEProcess.run(["plan", "simulate", examples + "/behaviour.yaml", "--members", "2", "--activity", folder + "/a.jsonl"])
        #expect(stranger.status != 0 && stranger.stderr.contains("a.jsonl:2: 'Zed' is not a simulated member (Ann, Ben"), "\(stranger.stderr)")
        try "- {at: 5, chat: Ann}\n".write(toFile: folder + "/b.yaml", atomically: true, encoding: .utf8)
        let broken = try await OPEProcess.run(["plan", "simulate", examples + "/behaviour.yaml", "--activity", folder + "/b.yaml"])
        #expect(broken.status != 0 && broken.stderr.contains("b.yaml:1:3: [0].text: required field is missing"), "\(broken.stderr)")
    }

    @Test func moduleValidateReportsFileLineAndFieldAndExitCode() async throws {
        let good = try await OPEProcess.run(["module", "validate", Self.examples])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.contains("ok python-intro"))

        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/broken", withIntermediateDirectories: true)
        try "id: broken\ntitle: Broken\nkit: fortran\ntasks: []\n".write(toFile: folder + "/broken/module.yaml", atomically: true, encoding: .utf8)
        let bad = try await OPEProcess.run(["module", "validate", folder, Self.examples])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("broken/module.yaml:3:6: kit: unknown value 'fortran'"))
        // The valid modules are still reported as fine.
        #expect(bad.stdout.contains("ok python-intro"))
    }

    @Test func exportWritesTheRecordOfCLIActions() async throws {
        let data = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: data) }
        _ = try await OPEProcess.run(["user", "add", "carol", "--password", "s3cret-pass", "--data", data])
        let csv = try await OPEProcess.run(["export", "events", "--format", "csv", "--data", data])
        #expect(csv.status == 0)
        let lines = csv.stdout.components(separatedBy: "\r\n")
        #expect(lines[0] == "id,time,type,actor,session,payload")
        #expect(lines[1].contains("user.created,cli,,"))
        let jsonl = try await OPEProcess.run(["export", "events", "--format", "jsonl", "--since", "2000-01-01", "--data", data])
        #expect(jsonl.stdout.contains("\"type\":\"user.created\""))
        let future = try await OPEProcess.run(["export", "events", "--since", "2999-01-01", "--data", data])
        #expect(future.stdout.isEmpty)
        let badDate = try await OPEProcess.run(["export", "events", "--since", "yesterday", "--data", data])
        #expect(badDate.status != 0 && badDate.stderr.contains("--since 'yesterday'"))
    }

    @Test func aDataDirThatIsAFileIsNamed() async throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = folder + "/not-a-dir"
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        let result = try await OPEProcess.run(["user", "list", "--data", file])
        #expect(result.status != 0)
        #expect(result.stderr.contains("data dir \(file) is a file, not a folder"))
        let below = try await OPEProcess.run(["user", "list", "--data", file + "/sub"])
        #expect(below.status != 0)
        #expect(below.stderr.contains("cannot create the data dir"))
    }
}
