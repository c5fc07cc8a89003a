import Foundation

/// The Jupyter server configuration every local workspace reads (a read-only folder, given as
/// `JUPYTER_CONFIG_DIR`): it takes the token from the environment and removes it there before
/// any kernel or terminal starts, so the token is on no command line and in no child's
/// environment; and it turns off what would only distract a team (news, update checks).
public enum JupyterConfig {
    /// The variable the token arrives in.
    public static let tokenVariable = "OPE_JUPYTER_TOKEN"

    /// Writes the configuration under `root` (once per content) and returns its folder.
    public static func write(in root: String) throws -> String {
        let folder = root + "/jupyter-config"
        let file = folder + "/jupyter_server_config.py"
        let text = """
            # Written by OPE; every workspace reads it (read-only). See docs/security.md.
            import os
            c = get_config()  # noqa: F821
            # The token arrives in the environment; removing it keeps it from kernels and terminals.
            c.IdentityProvider.token = os.environ.pop("\(tokenVariable)", "")
            # No news or update pop-ups inside OPE.
            c.LabApp.news_url = None
            c.LabApp.app_settings_dir = "\(folder)/lab-settings"

            """
        if (try? String(contentsOfFile: file, encoding: .utf8)) == text { return folder }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        // Settings every workspace starts with: no "get Jupyter news?" question, no update checks.
        try FileManager.default.createDirectory(atPath: folder + "/lab-settings", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try #"{"@jupyterlab/apputils-extension:notification": {"checkForUpdates": false, "fetchNews": "false"}}"#
            .write(toFile: folder + "/lab-settings/overrides.json", atomically: true, encoding: .utf8)
        // jupyter_core would otherwise try to migrate old IPython settings into this read-only
        // folder (and fail) once a team's home has an `.ipython`.
        try "".write(toFile: folder + "/migrated", atomically: true, encoding: .utf8)
        chmod(folder, 0o755)
        chmod(file, 0o644)
        return folder
    }
}
