import Foundation
import OPECore
import OPEModules
import Testing

@Suite struct RepositorySyncTests {
    func git(_ arguments: [String], in directory: String) async throws {
        let result = try await CommandRunner().run(
            ["git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid"] + arguments, in: directory, timeout: .seconds(30)
        )
        #expect(result.succeeded, "git \(arguments) failed: \(result.output)")
    }

    @Test func clonesThenFollowsTheRef() async throws {
        let fixture = try ModuleFixture()
        defer { fixture.remove() }
        // A course repository with its modules under `modules/`.
        let source = fixture.root + "/source"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try await git(["init", "--quiet", "--initial-branch=main"], in: source)
        let moduleFixture = ModuleFixture(rootForTesting: source + "/modules")
        try moduleFixture.makeValidModule("demo")
        try await git(["add", "."], in: source)
        try await git(["commit", "--quiet", "-m", "first"], in: source)

        let service = RepositorySyncService(root: fixture.root + "/data/repositories")
        let repository = ModuleRepository(name: "course", url: "file://" + source, ref: "main", path: "modules")
        let first = await service.sync(repository)
        #expect(first.error == nil)
        #expect(first.commit?.count == 40)
        var report = ModuleLoader().load(path: service.modulesFolder(of: repository))
        #expect(report.modules.map(\.title) == ["Demo module"])

        // The instructor changes the module and pushes; a re-sync picks it up.
        try moduleFixture.write("demo/module.yaml", ModuleFixture.validModule.replacingOccurrences(of: "Demo module", with: "Renamed module"))
        try await git(["commit", "--quiet", "-am", "rename"], in: source)
        let second = await service.sync(repository)
        #expect(second.commit != first.commit)
        report = ModuleLoader().load(path: service.modulesFolder(of: repository))
        #expect(report.modules.map(\.title) == ["Renamed module"])
    }

    @Test func aRepositoryThatFailsToCloneGivesAClearError() async throws {
        let fixture = try ModuleFixture()
        defer { fixture.remove() }
        let service = RepositorySyncService(root: fixture.root + "/repositories")
        let outcome = await service.sync(ModuleRepository(name: "gone", url: "file:///nonexistent/repo.git", ref: "main"))
        #expect(outcome.commit == nil)
        let error = try #require(outcome.error)
        #expect(error.contains("repository 'gone'"))
        #expect(error.contains("/nonexistent/repo.git"))
    }

    @Test func configErrorsNameLineAndField() throws {
        let fixture = try ModuleFixture()
        defer { fixture.remove() }
        let file = try fixture.write("ope.yaml", "repositories:\n  - name: course\n    url: https://example.invalid/x.git\n    branch: main\n")
        #expect(throws: ModuleError.self) { try RepositoryConfig.load(file: file) }
        do {
            _ = try RepositoryConfig.load(file: file)
        } catch {
            #expect(error.line == 4)
            #expect(error.field == "repositories[0].branch")
        }
        let good = try fixture.write("good.yaml", "repositories:\n  - name: course\n    url: https://example.invalid/x.git\n    ref: v1\n    path: modules\n")
        let config = try RepositoryConfig.load(file: good)
        #expect(config.repositories == [ModuleRepository(name: "course", url: "https://example.invalid/x.git", ref: "v1", path: "modules")])
    }
}

extension ModuleFixture {
    init(rootForTesting root: String) {
        self.init(existingRoot: root)
    }
}
