import OPECore

/// Settings every process of a kit gets, in the workspace and in task tests alike.
public enum KitDefaults {
    /// Spark in local mode on loopback, with a JVM tuned to start fast (about half the start time
    /// on a small machine). Harmless for the other kits, so workspaces get them whatever the kit.
    public static let spark: [String: String] = [
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_SUBMIT_OPTS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    ]

    /// The sql kit's notebook SQL (JupySQL) would otherwise try to send usage statistics and
    /// check for new versions; the sandbox has no network, so that would only cost time.
    public static let sql: [String: String] = [
        "PLOOMBER_STATS_ENABLED": "false",
        "PLOOMBER_VERSION_CHECK_DISABLED": "true",
    ]

    /// The defaults for `kit`.
    public static func environment(for kit: LanguageKit) -> [String: String] {
        switch kit {
        case .spark: spark
        case .sql: sql
        case .python: [:]
        }
    }
}
