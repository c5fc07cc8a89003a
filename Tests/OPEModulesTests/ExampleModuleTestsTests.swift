import Foundation
import OPECore
import OPEModules
import Testing

/// The shipped python-intro module's tests are real: they fail on the starter files and pass on
/// the reference solution, run exactly as the module's test command says.
@Suite struct ExampleModuleTestsTests {
    static var venvBin: String {
        get throws {
            let venv = ProcessInfo.processInfo.environment["OPE_VENV"] ?? ModuleFixture.packageRoot + "/.venv"
            let python = venv + "/bin/python"
            guard FileManager.default.isExecutableFile(atPath: python) else {
                throw FixtureError("no Python virtualenv at \(venv): run scripts/setup-venv.sh (make test does)")
            }
            return venv + "/bin"
        }
    }

    /// Copies the task's starter and test files to a fresh folder, as a workspace would hold them.
    func workspace(for task: ModuleTask, of module: Module) throws -> String {
        let folder = NSTemporaryDirectory() + "ope-task-\(UUID().uuidString)"
        for file in task.starterFiles + (task.test?.files ?? []) {
            let target = folder + "/" + file
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: module.folder + "/" + file, toPath: target)
        }
        return folder
    }

    func runTests(_ task: ModuleTask, in folder: String) async throws -> CommandRunner.Result {
        let test = try #require(task.test)
        let path = try Self.venvBin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        return try await CommandRunner().run(["sh", "-c", test.command], in: folder, environment: ["PATH": path], timeout: test.timeout)
    }

    @Test func pythonIntroTestsFailOnStarterAndPassOnSolution() async throws {
        let module = try ModuleParser().parse(folder: ModuleFixture.packageRoot + "/examples/modules/python-intro")
        for task in module.tasks {
            let folder = try workspace(for: task, of: module)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let starter = try await runTests(task, in: folder)
            #expect(!starter.succeeded, "\(task.id): the starter files should fail the tests\n\(starter.output)")
            #expect(starter.output.contains("failed"), "\(task.id): \(starter.output)")
            for file in task.starterFiles where file.hasSuffix(".py") {
                let solution = module.folder + "/solution/" + file
                try FileManager.default.removeItem(atPath: folder + "/" + file)
                try FileManager.default.copyItem(atPath: solution, toPath: folder + "/" + file)
            }
            let solved = try await runTests(task, in: folder)
            #expect(solved.succeeded, "\(task.id): the solution should pass\n\(solved.output)")
            #expect(solved.output.contains("passed"))
        }
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
