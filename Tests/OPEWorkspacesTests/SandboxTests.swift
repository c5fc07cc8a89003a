import Foundation
import OPECore
import OPEModules
import OPEWorkspaces
import Testing

/// The sandbox on its own: accounts, limits as text, and programs that must run inside it (the
/// spark kit's JVM among them) and stay within its limits.
@Suite(.serialized) struct SandboxTests {
    static func sandbox(_ folder: String) async throws -> Sandbox {
        let tag = Sandbox.tag(for: folder)
        return try await Sandbox.make(Sandbox.Configuration(runtimeRoot: Sandbox.defaultRuntimeRoot(tag: tag)), tag: tag)
    }

    /// Runs `command` in a fresh sandbox over `home` and returns what it printed.
    static func run(
        _ command: String, home: String, limits: WorkspaceLimits, environment: [String: String] = [:], sandbox: Sandbox, timeout: Duration = .seconds(120)
    ) async throws -> (result: CommandRunner.Result, counters: CgroupHierarchy.Counters) {
        let venv = try LocalJupyterBackendTests.venv
        let id = "t-" + UUID().uuidString.prefix(8).lowercased()
        defer { sandbox.release(id) }
        var variables = environment
        variables["PATH"] = venv + "/bin:/usr/bin:/bin"
        let launch = try sandbox.prepare(
            Sandbox.Spec(
                id: id, command: ["/bin/sh", "-c", command], home: home, environment: variables, readOnly: [venv] + PythonInstall.prefixes(of: venv),
                limits: limits
            )
        )
        let result = try await CommandRunner().run(
            [launch.executable] + launch.arguments, environment: launch.environment, inheritEnvironment: false, timeout: timeout
        )
        return (result, sandbox.counters(of: id))
    }

    @Test func accountsAreHandedOutOnceAndComeBack() {
        var pool = UIDPool(range: 100...103, reserved: [101])
        #expect(pool.take(for: "a") == 100)
        #expect(pool.take(for: "a") == 100, "the same owner keeps its id")
        #expect(pool.take(for: "b") == 102, "a real account's id is skipped")
        #expect(pool.take(for: "c", claim: { $0 != 103 }) == nil, "an id another server holds is not handed out")
        #expect(pool.give(back: "a") == 100)
        #expect(pool.take(for: "c") == 100)
        #expect(pool.inUse == 2)
    }

    @Test func limitsAreReadFromTextWithClearErrors() throws {
        let changes = try WorkspaceLimits.Changes.parse("memory=512MiB, processes=200,cpus=0.5,disk=2G,network=on")
        let limits = WorkspaceLimits.defaults(for: .python).applying(changes)
        #expect(limits.memoryBytes == 512 << 20)
        #expect(limits.processes == 200)
        #expect(limits.cpus == 0.5)
        #expect(limits.diskBytes == 2 << 30)
        #expect(limits.network)
        #expect(limits.openFiles == WorkspaceLimits.defaults(for: .python).openFiles)
        #expect(ByteSize.parse("1.5GiB") == 1_610_612_736)
        #expect(ByteSize.parse("10MB") == 10_000_000)
        #expect(ByteSize.text(3 << 30) == "3 GiB")
        for (text, words) in [
            ("memory=lots", "not a size"), ("memory=1MiB", "at least 256 MiB"), ("speed=fast", "unknown limit 'speed'"), ("cpus", "NAME=VALUE"),
        ] {
            #expect(throws: LimitsError.self) { try WorkspaceLimits.Changes.parse(text) }
            do {
                _ = try WorkspaceLimits.Changes.parse(text)
            } catch {
                #expect(error.description.contains(words), "\(text): \(error)")
            }
        }
    }

    @Test func aModuleSaysItsLimitsAndBadOnesAreRefusedWithTheirLine() throws {
        let yaml = """
            id: limited
            title: Limited
            kit: spark
            limits:
              memory: 4GiB
              network: on
            tasks:
              - id: one
                title: One
                instructions: Do it.
            """
        let module = try ModuleParser().parse(yaml: yaml, file: "module.yaml", folder: "/tmp")
        #expect(module.workspaceLimits().memoryBytes == 4 << 30)
        #expect(module.workspaceLimits().network)
        #expect(module.workspaceLimits().processes == WorkspaceLimits.defaults(for: .spark).processes)
        // The module's value wins over the server's; the server's over the kit's.
        let server = try WorkspaceLimits.Changes.parse("memory=1GiB,cpus=3")
        #expect(module.workspaceLimits(server: server).memoryBytes == 4 << 30)
        #expect(module.workspaceLimits(server: server).cpus == 3)
        let bad = yaml.replacingOccurrences(of: "memory: 4GiB", with: "memory: plenty")
        #expect {
            try ModuleParser().parse(yaml: bad, file: "module.yaml", folder: "/tmp")
        } throws: { error in
            "\(error)".contains("module.yaml:5:") && "\(error)".contains("limits.memory") && "\(error)".contains("not a size")
        }
    }

    @Test func programsInsideSeeOnlyTheirFolderAndRunAsTheirOwnAccount() async throws {
        let folder = NSTemporaryDirectory() + "ope-sandbox-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/home", withIntermediateDirectories: true)
        try "secret".write(toFile: folder + "/outside.txt", atomically: true, encoding: .utf8)
        let sandbox = try await Self.sandbox(folder)
        defer { sandbox.shutDown() }
        let (result, _) = try await Self.run(
            "id -u; pwd; ls -A /home/team; cat \(folder)/outside.txt 2>&1; echo made > mine.txt; ls /proc | grep -c '^[0-9]'",
            home: folder + "/home", limits: WorkspaceLimits.defaults(for: .python), sandbox: sandbox
        )
        #expect(result.succeeded, "\(result.output)")
        let lines = result.output.split(separator: "\n").map(String.init)
        if sandbox.host?.isRoot == true { #expect(lines.first.flatMap { UInt32($0) }.map(UIDPool.defaultRange.contains) == true, "\(lines)") }
        #expect(lines.contains(Sandbox.home))
        #expect(result.output.contains("No such file or directory"), "the host's files are visible: \(result.output)")
        #expect(FileManager.default.fileExists(atPath: folder + "/home/mine.txt"), "the team's folder is not writable")
        #expect((Int(lines.last ?? "") ?? 99) < 10, "other processes are visible: \(lines.last ?? "")")
    }

    /// A session that took a warm workspace reaches its folder through a link; after a restart
    /// under another account its files must still be the team's (else JupyterLab opens them read-only).
    @Test func aLinkedTeamFolderIsHandedOverWhole() async throws {
        let folder = NSTemporaryDirectory() + "ope-sandbox-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/pool-1/sub", withIntermediateDirectories: true)
        try "x".write(toFile: folder + "/pool-1/sub/notebook.ipynb", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: folder + "/s-team", withDestinationPath: folder + "/pool-1")
        let sandbox = try await Self.sandbox(folder)
        defer { sandbox.shutDown() }
        let (result, _) = try await Self.run(
            "touch sub/notebook.ipynb && echo writable", home: folder + "/s-team", limits: WorkspaceLimits.defaults(for: .python), sandbox: sandbox)
        #expect(result.output.contains("writable"), "the team cannot write its own file: \(result.output)")
    }

    @Test func sparksJVMRunsInsideAndObeysTheMemoryLimit() async throws {
        _ = try KitExampleTests.venvBin(needing: "pyspark")
        let module = try ModuleParser().parse(folder: KitExampleTests.packageRoot + "/examples/modules/spark-wordcount")
        let task = try #require(module.tasks.first)
        let folder = try KitExampleTests().workspace(for: task, of: module)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try KitExampleTests().useSolution(task, of: module, in: folder)
        let sandbox = try await Self.sandbox(folder)
        defer { sandbox.shutDown() }
        let command = try #require(task.test?.command)
        // With the kit's limits, the solution's tests pass inside the sandbox.
        let (passed, _) = try await Self.run(
            command, home: folder, limits: module.workspaceLimits(), environment: KitDefaults.spark, sandbox: sandbox, timeout: .seconds(300)
        )
        #expect(passed.succeeded, "spark in the sandbox:\n\(passed.output)")
        guard sandbox.host?.cgroups != nil else { return }
        // With less memory than a JVM needs, the kernel stops it and the sandbox counts it.
        var small = module.workspaceLimits()
        small.memoryBytes = 256 << 20
        let (starved, counters) = try await Self.run(
            command + " -x", home: folder, limits: small, environment: KitDefaults.spark.merging(["SPARK_SUBMIT_OPTS": "-Xms512m -XX:+AlwaysPreTouch"]) { $1 },
            sandbox: sandbox, timeout: .seconds(300)
        )
        #expect(!starved.succeeded)
        #expect(counters.oomKills > 0, "the JVM was not held to 256 MiB: \(starved.output.suffix(800))")
    }
}
