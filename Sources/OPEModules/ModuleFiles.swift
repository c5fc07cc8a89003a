import Foundation

/// Resolves paths named in a module file and keeps them inside the module folder.
struct ModuleFiles {
    /// Absolute, symlink-free path of the module folder.
    let folder: String
    let file: String
    /// Hidden test files are checked by path only (see ``ModuleParser/hiddenTestsElsewhere``).
    var hiddenTestsElsewhere = false

    func absolute(_ relative: String) -> String {
        URL(fileURLWithPath: folder).appendingPathComponent(relative).path
    }

    /// Checks that the path in `field` is relative, stays inside the module folder (after resolving
    /// symlinks) and exists; returns it normalised.
    func existingPath(_ field: YAMLField, allowFolder: Bool, mustExist: Bool = true) throws(ModuleError) -> String {
        let raw = try field.nonEmptyString()
        guard !raw.hasPrefix("/"), !raw.hasPrefix("~") else { throw field.error("'\(raw)' must be a path relative to the module folder") }
        let resolved = URL(fileURLWithPath: folder).appendingPathComponent(raw).standardizedFileURL.resolvingSymlinksInPath().path
        guard resolved.hasPrefix(folder + "/") else { throw field.error("'\(raw)' points outside the module folder") }
        var isDirectory: ObjCBool = false
        guard mustExist || FileManager.default.fileExists(atPath: resolved) else { return String(resolved.dropFirst(folder.count + 1)) }
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory) else {
            throw field.error("file '\(raw)' does not exist in \(folder)")
        }
        if isDirectory.boolValue, !allowFolder { throw field.error("'\(raw)' is a folder, expected a file") }
        return String(resolved.dropFirst(folder.count + 1))
    }
}
