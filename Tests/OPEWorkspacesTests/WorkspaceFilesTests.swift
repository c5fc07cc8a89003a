import Foundation
import OPECore
import OPEWorkspaces
import Testing

/// Seeding a group's folder never writes outside it, even for a module that slipped past validation.
@Suite struct WorkspaceFilesTests {
    @Test func aStarterFileThatEscapesTheFolderIsRefusedAndNothingIsWritten() throws {
        let root = NSTemporaryDirectory() + "ope-seed-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/module", withIntermediateDirectories: true)
        try "secret".write(toFile: root + "/outside.py", atomically: true, encoding: .utf8)
        let module = Module(
            id: "bad", title: "Bad", kit: .python, tasks: [ModuleTask(id: "t", title: "T", instructions: "x", starterFiles: ["../../outside.py"])],
            folder: root + "/module"
        )
        #expect(throws: WorkspaceError.self) { try WorkspaceFiles.seed(root + "/group/s-1", from: module) }
        #expect(try String(contentsOfFile: root + "/outside.py", encoding: .utf8) == "secret", "the file outside was overwritten")
        #expect(!FileManager.default.fileExists(atPath: root + "/group/outside.py"))
    }
}
