import Foundation
import OPECore
import OPEModules
import Testing

@Suite struct ModuleLoaderTests {
    @Test func invalidModuleIsReportedAndSkippedWhileValidOnesLoad() throws {
        let fixture = try ModuleFixture()
        defer { fixture.remove() }
        try fixture.makeValidModule("good")
        try fixture.makeValidModule("bad", yaml: ModuleFixture.validModule.replacingOccurrences(of: "id: demo", with: "id: broken\nkit: sql"))
        try fixture.write("not-a-module/readme.txt", "just a folder")
        let report = ModuleLoader().load(path: fixture.root)
        #expect(report.modules.map(\.id) == ["demo"])
        #expect(report.errors.count == 1)
        #expect(report.errors.first?.file.hasSuffix("bad/module.yaml") == true)
    }

    @Test func duplicateModuleIdsAcrossFoldersKeepTheFirst() throws {
        let fixture = try ModuleFixture()
        defer { fixture.remove() }
        try fixture.makeValidModule("a")
        try fixture.makeValidModule("b")
        let report = ModuleLoader().load(path: fixture.root)
        #expect(report.modules.count == 1)
        #expect(report.errors.first?.message.contains("already used") == true)
    }

    @Test func missingPathIsAnError() {
        let report = ModuleLoader().load(path: "/nonexistent/modules")
        #expect(report.modules.isEmpty)
        #expect(report.errors.first?.message == "no such file or folder")
    }

    @Test func shippedExamplesAreValid() {
        let report = ModuleLoader().load(path: ModuleFixture.packageRoot + "/examples/modules")
        #expect(report.errors.isEmpty, "\(report.errors.map(\.description))")
        #expect(Set(report.modules.map(\.id)) == ["python-intro", "sql-joins", "spark-wordcount"])
        let python = report.modules.first { $0.id == "python-intro" }
        #expect((python?.tasks.count ?? 0) >= 2)
        #expect(python?.tasks.allSatisfy { $0.test != nil } == true)
        #expect(report.modules.first { $0.id == "sql-joins" }?.kit == .sql)
        #expect(report.modules.first { $0.id == "spark-wordcount" }?.kit == .spark)
    }
}
