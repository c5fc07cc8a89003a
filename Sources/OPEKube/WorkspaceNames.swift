import Foundation

/// The names of what belongs to one session's workspace, derived from the session's name so that
/// any process (a restarted operator, the gateway, a test's kubelet) finds them without asking:
/// `ws-<session>` for the pod and its Service, `-token` for its Secret, `-files` for the team's
/// volume claim; and the names and markers the operator and the gateway share.
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
            // Long session names: a readable prefix and a digest (FNV-1a), so two long names never collide.
            var hash: UInt32 = 2_166_136_261
            for byte in session.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
            pod = "ws-" + session.prefix(45).trimmingCharacters(in: CharacterSet(charactersIn: "-.")) + "-" + String(format: "%08x", hash)
        }
    }

    /// Whether `name` is one of this workspace's objects.
    public func owns(_ name: String) -> Bool { [pod, secret, claim].contains(name) }

    /// On an `OPESession`: its workspace objects go before the object does.
    public static let finalizer = "ope.dev/workspace-cleanup"
    /// On an `OPESession`: when a member last used the workspace (RFC 3339), stamped by the gateway.
    public static let lastActivityAnnotation = "ope.dev/last-activity"

    /// The shared objects of an installation.
    public static let networkPolicy = "ope-workspaces"
    public static let jupyterConfig = "ope-jupyter-config"
    /// What a repository publishes per module: its files (ConfigMap) and its hidden tests (Secret).
    public static func moduleFiles(_ module: String) -> String { "opemodule-\(module)-files" }
    public static func moduleTests(_ module: String) -> String { "opemodule-\(module)-tests" }
}
