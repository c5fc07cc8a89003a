import Crypto
import Foundation

/// The names of what belongs to one session's workspace, derived from the session's name so that
/// any process (a restarted operator, the gateway) finds them without asking: `ws-<session>` for
/// the pod and its Service, `-token` for its Secret, `-files` for the team's volume claim.
public struct WorkspaceNames: Sendable, Hashable {
    public var session: String
    /// The pod's and the Service's name: a DNS label (at most 63 characters).
    public var pod: String
    public var service: String { pod }
    public var secret: String { pod + "-token" }
    public var claim: String { pod + "-files" }

    public init(session: String) {
        self.session = session
        let plain = "ws-" + session
        if plain.count <= 57 {
            pod = plain
        } else {
            // Long session names: a readable prefix and a digest, so two long names never collide.
            let digest = SHA256.hash(data: Data(session.utf8)).prefix(4).map { String(format: "%02x", $0) }.joined()
            pod = "ws-" + session.prefix(45).trimmingCharacters(in: CharacterSet(charactersIn: "-.")) + "-" + digest
        }
    }

    /// The shared objects of an installation.
    public static let networkPolicy = "ope-workspaces"
    public static let jupyterConfig = "ope-jupyter-config"
    /// The ConfigMap with a module's starter files (written by the repository reconciler).
    public static func starterFiles(module: String) -> String { "opemodule-\(module)-files" }
}

extension WorkspaceNames {
    /// Whether `name` is one of this workspace's objects.
    public func owns(_ name: String) -> Bool { [pod, secret, claim].contains(name) }
}
