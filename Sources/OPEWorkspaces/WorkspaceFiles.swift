import Foundation
import OPECore

/// The folder that holds a group's files, seeded from the module's starter files.
public enum WorkspaceFiles {
    /// Copies every task's starter files into `directory`, keeping their relative paths. Files
    /// the group already has are left alone, so a restarted workspace keeps their work.
    ///
    /// - Throws: ``WorkspaceError`` if a starter path would land outside `directory`.
    public static func seed(_ directory: String, from module: Module) throws {
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let root = URL(fileURLWithPath: directory).standardizedFileURL.resolvingSymlinksInPath().path
        for file in module.tasks.flatMap(\.starterFiles) {
            let target = URL(fileURLWithPath: root).appendingPathComponent(file).standardizedFileURL.path
            guard target.hasPrefix(root + "/") else { throw WorkspaceError("starter file '\(file)' would land outside the workspace folder") }
            guard !fileManager.fileExists(atPath: target) else { continue }
            try fileManager.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try fileManager.copyItem(atPath: module.folder + "/" + file, toPath: target)
        }
    }
}
