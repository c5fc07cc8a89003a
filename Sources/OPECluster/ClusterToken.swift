import Foundation

/// The bearer token edges and cores share. It is read from a file or the environment, never taken
/// on the command line, where `ps` would show it.
public enum ClusterToken {
    /// The environment variable that holds it when no file is given.
    public static let environmentVariable = "OPE_CLUSTER_TOKEN"

    /// The token in `file` (surrounding white space dropped), else in `$OPE_CLUSTER_TOKEN`.
    public static func read(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ClusterConfigurationError) -> String {
        let token: String
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ClusterConfigurationError("cannot read the cluster token file \(file)")
            }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            token = environment[environmentVariable]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        }
        guard token.count >= 16 else {
            throw ClusterConfigurationError(
                "the cluster token is missing or shorter than 16 characters: put it in a file (--cluster-token-file) or in $\(environmentVariable)")
        }
        return token
    }
}
