import Foundation
import OPECore
import OPEModules
import Testing

@Suite struct ModuleParserTests {
    /// Parses `yaml` as the module.yaml of a fixture module and returns the error it gives.
    func error(for yaml: String, extraFiles: (ModuleFixture, String) throws -> Void = { _, _ in }) throws -> ModuleError {
        let fixture = try ModuleFixture()
        defer { fixture.remove() }
        let folder = try fixture.makeValidModule(yaml: yaml)
        try extraFiles(fixture, folder)
        do {
            let module = try ModuleParser().parse(folder: folder)
            Issue.record("expected an error, got module \(module.id)")
            return ModuleError(file: "", message: "")
        } catch {
            return error
        }
    }

    @Test func readsAValidModule() throws {
        let fixture = try ModuleFixture()
        defer { fixture.remove() }
        let module = try ModuleParser().parse(folder: try fixture.makeValidModule())
        #expect(module.id == "demo")
        #expect(module.kit == .python)
        #expect(module.group == GroupSize(min: 1, target: 2, max: 3))
        #expect(module.roles == ["driver", "navigator", "researcher"])
        #expect(module.lateJoinRole == "researcher")
        #expect(module.matching.mode == .dynamic && module.matching.open)
        #expect(module.tasks.map(\.id) == ["first", "second"])
        #expect(module.tasks[0].starterFiles == ["add.py"])
        #expect(module.tasks[0].test == TaskTest(command: "python -m pytest -q tests/test_add.py", files: ["tests/test_add.py"], timeout: .seconds(30)))
        #expect(module.tasks[0].timeLimit == .seconds(900))
        #expect(module.tasks[1].instructions.contains("Do more."))
        #expect(module.tasks[1].test?.command == "python -m pytest -q tests/test_add.py")
    }

    /// `roles` is a list of names, or a mapping with the names and what the roles enforce.
    @Test func rolesMayBeEnforced() throws {
        let fixture = try ModuleFixture()
        defer { fixture.remove() }
        let plain = try ModuleParser().parse(folder: try fixture.makeValidModule())
        #expect(plain.roleEnforcement == .off)
        let yaml = ModuleFixture.validModule.replacingOccurrences(
            of: "kit: python", with: "kit: python\nroles: {names: [pilot, copilot], enforce: driver-edits}")
        let enforced = try ModuleParser().parse(folder: try fixture.makeValidModule(yaml: yaml))
        #expect(enforced.roles == ["pilot", "copilot"] && enforced.roleEnforcement == .driverEdits)

        let wrong = try error(for: ModuleFixture.validModule.replacingOccurrences(of: "kit: python", with: "kit: python\nroles: {enforce: everyone}"))
        #expect(wrong.line == 4 && wrong.field == "roles.enforce", "\(wrong)")
        #expect(wrong.message.contains("everyone") && wrong.message.contains("off, driver-edits"), "\(wrong)")
        let unknown = try error(for: ModuleFixture.validModule.replacingOccurrences(of: "kit: python", with: "kit: python\nroles: {name: [a]}"))
        #expect(unknown.field == "roles.name" && unknown.message.contains("unknown field"), "\(unknown)")
    }

    @Test func malformedYAMLNamesFileAndLine() throws {
        let error = try error(for: "id: demo\ntitle: [unclosed\nkit: python\n")
        #expect(error.file.hasSuffix("demo/module.yaml"))
        #expect((error.line ?? 0) >= 2)
        #expect(error.description.contains("not valid YAML"))
    }

    @Test func unknownKitNamesLineAndField() throws {
        let yaml = ModuleFixture.validModule.replacingOccurrences(of: "kit: python", with: "kit: cobol")
        let error = try error(for: yaml)
        #expect(error.line == 3)
        #expect(error.field == "kit")
        #expect(error.message.contains("cobol") && error.message.contains("python, sql, spark"))
    }

    @Test func duplicateTaskIdsAreRefused() throws {
        let yaml = ModuleFixture.validModule.replacingOccurrences(of: "id: second", with: "id: first")
        let error = try error(for: yaml)
        #expect(error.field == "tasks[1].id")
        #expect(error.line == 16)
        #expect(error.message == "duplicate task id 'first'")
    }

    @Test func missingStarterFileIsNamed() throws {
        let yaml = ModuleFixture.validModule.replacingOccurrences(of: "starter: [add.py]", with: "starter: [add.py, missing.ipynb]")
        let error = try error(for: yaml)
        #expect(error.field == "tasks[0].starter[1]")
        #expect(error.line == 10)
        #expect(error.message.contains("'missing.ipynb' does not exist"))
    }

    @Test(arguments: ["../outside.py", "/etc/passwd", "sub/../../outside.py"])
    func starterPathMayNotEscapeTheModule(path: String) throws {
        let yaml = ModuleFixture.validModule.replacingOccurrences(of: "starter: [add.py]", with: "starter: [\"\(path)\"]")
        let error = try error(for: yaml) { fixture, _ in try fixture.write("outside.py", "x = 1\n") }
        #expect(error.field == "tasks[0].starter[0]")
        #expect(error.message.contains("outside the module folder") || error.message.contains("relative to the module folder"))
    }

    @Test func symlinkOutOfTheModuleIsRefused() throws {
        let yaml = ModuleFixture.validModule.replacingOccurrences(of: "starter: [add.py]", with: "starter: [link.py]")
        let error = try error(for: yaml) { fixture, folder in
            let target = try fixture.write("secret.py", "password = 1\n")
            try FileManager.default.createSymbolicLink(atPath: folder + "/link.py", withDestinationPath: target)
        }
        #expect(error.message.contains("outside the module folder"))
    }

    @Test func unknownFieldIsReportedNotIgnored() throws {
        let yaml = ModuleFixture.validModule.replacingOccurrences(of: "title: Demo module", with: "tittle: Demo module")
        let error = try error(for: yaml)
        #expect(error.field == "tittle")
        #expect(error.line == 2)
        #expect(error.message.contains("unknown field"))
    }

    @Test func missingRequiredFieldIsNamed() throws {
        let yaml = ModuleFixture.validModule.replacingOccurrences(of: "title: Demo module\n", with: "")
        let error = try error(for: yaml)
        #expect(error.field == "title")
        #expect(error.message == "required field is missing")
    }

    @Test func groupSizesMustBeOrdered() throws {
        let yaml = ModuleFixture.validModule.replacingOccurrences(of: "group: {min: 1, target: 2, max: 3}", with: "group: {min: 3, target: 2, max: 4}")
        let error = try error(for: yaml)
        #expect(error.field == "group")
        #expect(error.message.contains("min <= target <= max"))
    }

    @Test func lateJoinRoleMustBeARole() throws {
        let yaml = ModuleFixture.validModule.replacingOccurrences(of: "kit: python", with: "kit: python\nroles: [driver, navigator]\nlateJoinRole: researcher")
        let error = try error(for: yaml)
        #expect(error.field == "lateJoinRole")
    }

    @Test func durationsMustBeDurations() throws {
        let yaml = ModuleFixture.validModule.replacingOccurrences(of: "timeLimit: 15m", with: "timeLimit: soon")
        let error = try error(for: yaml)
        #expect(error.field == "tasks[0].timeLimit")
        #expect(error.message.contains("duration"))
    }

    @Test func errorTextHasTheEditorForm() {
        let error = ModuleError(file: "m/module.yaml", line: 3, column: 6, field: "kit", message: "bad")
        #expect(error.description == "m/module.yaml:3:6: kit: bad")
    }
}
