import Foundation

/// Where a virtualenv's Python lives, so a sandbox can show it read-only: a venv's `bin/python`
/// links to an interpreter elsewhere (e.g. `~/.pyenv/versions/3.11.7`), named by `pyvenv.cfg`.
public enum PythonInstall {
    /// Folders besides `venv` itself that its interpreter needs; none when it is the system's (`/usr`).
    public static func prefixes(of venv: String) -> [String] {
        guard let config = try? String(contentsOfFile: venv + "/pyvenv.cfg", encoding: .utf8) else { return [] }
        for line in config.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, parts[0] == "home" else { continue }
            // `home` is the interpreter's bin folder; its parent is the installation.
            let prefix = URL(fileURLWithPath: parts[1]).resolvingSymlinksInPath().deletingLastPathComponent().path
            return prefix.hasPrefix("/usr/") || prefix == "/usr" ? [] : [prefix]
        }
        return []
    }
}
