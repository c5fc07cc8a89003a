import Foundation
import OPECore
import OPEModules
import Testing

/// The 15619P2Agent plan from the shared reference material (kept outside the repository, see
/// SOURCE.md there): `$OPE_BAZAAR_REFERENCE`, else `../shared/reference/bazaar/15619P2Agent`
/// beside the checkout, else `/work/shared/…`. A missing folder fails the test, saying so.
enum BazaarReference {
    static var folder: String? {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidates: [String?] = [
            ProcessInfo.processInfo.environment["OPE_BAZAAR_REFERENCE"],
            repo.deletingLastPathComponent().appendingPathComponent("shared/reference/bazaar/15619P2Agent").path,
            "/work/shared/reference/bazaar/15619P2Agent",
        ]
        return candidates.compactMap { $0 }.first { FileManager.default.fileExists(atPath: $0 + "/plan_steps.xml") }
    }

    /// The folder, or a recorded failure that says where to point the tests.
    static func requiredFolder() throws -> String {
        guard let folder else {
            Issue.record("the Bazaar reference plan 15619P2Agent was not found; set OPE_BAZAAR_REFERENCE to its folder")
            throw CancellationError()
        }
        return folder
    }

    static func plan() throws -> BotPlan {
        try BazaarPlanImporter().load(folder: requiredFolder())
    }

    /// A writable copy of the reference folder, for tests that break it on purpose.
    static func copy() throws -> String {
        let folder = try requiredFolder()
        let target = FileManager.default.temporaryDirectory.appendingPathComponent("bazaar-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) {
            let text = try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
            try text.write(toFile: target + "/" + name, atomically: true, encoding: .utf8)
        }
        return target
    }
}
