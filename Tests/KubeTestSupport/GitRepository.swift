import Foundation
import OPECore

/// A git repository in a temporary folder holding the example module python-intro under `modules/`
/// (an OPERepository can point at it with a file:// URL).
public struct GitRepository: Sendable {
    public let folder: String
    public var url: String { "file://" + folder }

    public init() throws {
        folder = NSTemporaryDirectory() + "ope-repo-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder + "/modules", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: StandInHarness.root + "/examples/modules/python-intro", toPath: folder + "/modules/python-intro")
        try git("init", "--quiet", "--initial-branch", "main")
        try commit("python-intro")
    }

    public func git(_ arguments: String...) throws {
        let process = try ChildProcess(
            "/usr/bin/env", arguments: ["git", "-C", folder, "-c", "user.name=Test", "-c", "user.email=test@example.org"] + arguments, error: 2)
        guard process.blockUntilExit(within: .seconds(60)), process.exitStatus == 0 else {
            throw HarnessError("git \(arguments.joined(separator: " ")) failed (\(process.exitStatus.map { "status \($0)" } ?? "still running after 60 s"))")
        }
    }

    public func commit(_ message: String) throws {
        try git("add", "-A")
        try git("commit", "--quiet", "--allow-empty", "-m", message)
    }

    public func write(_ path: String, _ text: String) throws {
        let file = folder + "/" + path
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
    }

    public func remove() { try? FileManager.default.removeItem(atPath: folder) }
}
