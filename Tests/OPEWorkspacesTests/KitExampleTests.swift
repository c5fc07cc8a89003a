import Foundation
import OPECore
import OPEModules
import OPEWorkspaces
import Testing

/// The shipped modules of the `sql` and `spark` kits have real tests: they fail on the starter
/// files and pass on the reference solution, run as the module's test command says, with what
/// the kit provides (a session database on a real MariaDB; PySpark from the virtualenv).
@Suite(.serialized) struct KitExampleTests {
    static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// The virtualenv's bin folder; its absence fails the test (make test prepares it).
    static func venvBin(needing package: String) throws -> String {
        let venv = ProcessInfo.processInfo.environment["OPE_VENV"] ?? packageRoot + "/.venv"
        let python = venv + "/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw WorkspaceError("no Python virtualenv at \(venv): run scripts/setup-venv.sh (make test does)")
        }
        guard FileManager.default.fileExists(atPath: venv + "/lib") else { throw WorkspaceError("\(venv) has no lib folder") }
        let installed = (try? FileManager.default.subpathsOfDirectory(atPath: venv + "/lib"))?.contains { $0.hasSuffix("site-packages/\(package)") } ?? false
        guard installed else {
            throw WorkspaceError("the virtualenv \(venv) has no '\(package)': run scripts/setup-venv.sh (make test does)")
        }
        return venv + "/bin"
    }

    /// Copies the task's starter and test files to a fresh folder, as a workspace would hold them.
    func workspace(for task: ModuleTask, of module: Module) throws -> String {
        let folder = NSTemporaryDirectory() + "ope-kit-\(UUID().uuidString)"
        for file in task.starterFiles + (task.test?.files ?? []) {
            let target = folder + "/" + file
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: module.folder + "/" + file, toPath: target)
        }
        return folder
    }

    func runTests(_ task: ModuleTask, in folder: String, bin: String, environment: [String: String]) async throws -> CommandRunner.Result {
        let test = try #require(task.test)
        let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let environment = environment.merging(["PATH": path]) { _, new in new }
        return try await CommandRunner().run(["sh", "-c", test.command], in: folder, environment: environment, timeout: test.timeout)
    }

    func useSolution(_ task: ModuleTask, of module: Module, in folder: String) throws {
        for file in task.starterFiles where file.hasSuffix(".py") {
            try FileManager.default.removeItem(atPath: folder + "/" + file)
            try FileManager.default.copyItem(atPath: module.folder + "/solution/" + file, toPath: folder + "/" + file)
        }
    }

    @Test func sqlJoinsTestsFailOnStarterAndPassOnSolution() async throws {
        let bin = try Self.venvBin(needing: "pymysql")
        let module = try ModuleParser().parse(folder: Self.packageRoot + "/examples/modules/sql-joins")
        #expect(module.kit == .sql)
        let directory = "/tmp/ope-mariadb-" + UUID().uuidString.prefix(8).lowercased()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = MariaDBServer(configuration: .init(directory: directory))
        do {
            let credentials = try await server.provision(session: "s-kit-sql")
            for task in module.tasks {
                let folder = try workspace(for: task, of: module)
                defer { try? FileManager.default.removeItem(atPath: folder) }
                let starter = try await runTests(task, in: folder, bin: bin, environment: credentials.environment)
                #expect(!starter.succeeded, "\(task.id): the starter files should fail the tests\n\(starter.output)")
                #expect(starter.output.contains("still empty"), "\(task.id): \(starter.output)")
                try useSolution(task, of: module, in: folder)
                let solved = try await runTests(task, in: folder, bin: bin, environment: credentials.environment)
                #expect(solved.succeeded, "\(task.id): the solution should pass over the socket\n\(solved.output)")
                #expect(solved.output.contains("passed"))
                // Without the socket (a workspace that only reaches TCP) the tests connect to host and port.
                var tcp = credentials.environment
                tcp["OPE_DB_SOCKET"] = ""
                let overTCP = try await runTests(task, in: folder, bin: bin, environment: tcp)
                #expect(overTCP.succeeded, "\(task.id): the solution should pass over TCP\n\(overTCP.output)")
            }
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test func sparkWordcountTestsFailOnStarterAndPassOnSolution() async throws {
        let bin = try Self.venvBin(needing: "pyspark")
        let module = try ModuleParser().parse(folder: Self.packageRoot + "/examples/modules/spark-wordcount")
        #expect(module.kit == .spark)
        for task in module.tasks {
            let folder = try workspace(for: task, of: module)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let starter = try await runTests(task, in: folder, bin: bin, environment: Self.sparkEnvironment)
            #expect(!starter.succeeded, "\(task.id): the starter files should fail the tests\n\(starter.output)")
            #expect(starter.output.contains("NotImplementedError"), "\(task.id): \(starter.output)")
            try useSolution(task, of: module, in: folder)
            let solved = try await runTests(task, in: folder, bin: bin, environment: Self.sparkEnvironment)
            #expect(solved.succeeded, "\(task.id): the solution should pass\n\(solved.output)")
            #expect(solved.output.contains("passed"))
        }
    }

    /// Spark in local mode on a small machine: loopback only (no lookup of the host's name), and
    /// a driver JVM made for short runs: the quick JIT alone (C1) and the serial collector halve
    /// a run of these tests on two cores.
    static let sparkEnvironment = [
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_SUBMIT_OPTS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    ]
}
