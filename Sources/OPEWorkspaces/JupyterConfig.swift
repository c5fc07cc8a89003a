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
        for (name, content) in files(folder: folder) {
            let path = folder + "/" + name
            guard (try? String(contentsOfFile: path, encoding: .utf8)) != content else { continue }
            let parent = (path as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            try content.write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o644)
        }
        chmod(folder, 0o755)
        return folder
    }

    /// The configuration's files (paths relative to its folder) for a folder at `folder`: written
    /// to disk for local workspaces, put in a ConfigMap for pods.
    public static func files(folder: String) -> [(path: String, text: String)] {
        let text = """
            # Written by OPE; every workspace reads it (read-only). See docs/security.md.
            import os
            c = get_config()  # noqa: F821
            # The token arrives in the environment; removing it keeps it from kernels and terminals.
            c.IdentityProvider.token = os.environ.pop("\(tokenVariable)", "")
            # Members by their OPE names, as OPE's proxy vouches for them (python/ope-workspace).
            c.ServerApp.identity_provider_class = "ope_workspace.identity.OPEIdentityProvider"
            # No news or update pop-ups inside OPE.
            c.LabApp.news_url = None
            c.LabApp.app_settings_dir = "\(folder)/lab-settings"

            """
        return [
            ("jupyter_server_config.py", text),
            // Settings every workspace starts with: no "get Jupyter news?" question, no update checks.
            ("lab-settings/overrides.json", #"{"@jupyterlab/apputils-extension:notification": {"checkForUpdates": false, "fetchNews": "false"}}"#),
            // JupySQL (the sql kit's %%sql cells) brings a front-end plugin built for an older
            // JupyterLab; the magic works without it, so it stays off.
            ("labconfig/page_config.json", #"{"disabledExtensions": {"jupysql-plugin": true}}"#),
            // jupyter_core would otherwise try to migrate old IPython settings into this read-only
            // folder (and fail) once a team's home has an `.ipython`.
            ("migrated", ""),
        ]
    }
}
