import Foundation
import OPECore

/// What `ope operator` is told: where it works and what it gives each workspace.
public struct OperatorConfiguration: Sendable, Hashable {
    /// The namespace it watches and writes in (one OPE installation).
    public var namespace: String
    /// The workspace image of each kit.
    public var images: [LanguageKit: String]
    /// The `ope` image: its binary serves a workspace's task tests (`ope grade serve`) in the pod.
    public var opeImage = "ghcr.io/ope-dev/ope:0.1.0"
    /// The task-test service's port in a workspace pod.
    public var gradingPort = 50051
    /// Where repositories are cloned: a writable folder of this operator's alone (two operators
    /// sharing one would fetch into the same checkouts at once).
    public var cacheDirectory = NSTemporaryDirectory() + "ope-operator-" + UUID().uuidString.prefix(8)
    /// The database beside an sql workspace (a container in its pod).
    public var databaseImage = "docker.io/library/mariadb:11.4"
    /// Size and class of each team's files volume.
    public var storageSize = "1Gi"
    public var storageClass: String?
    /// JupyterLab's port in the workspace container.
    public var workspacePort = 8888
    /// Labels of the gateway pods, the only ones the network policy lets reach a workspace.
    public var gatewayLabels: [String: String] = ["app.kubernetes.io/name": "ope-gateway", "app.kubernetes.io/component": "gateway"]
    /// A workspace with no activity for this long gives its pod back (files kept); nil: never.
    public var idleTimeout: Duration? = .seconds(1800)
    /// How long a pod may take to become ready before it is replaced.
    public var startTimeout: Duration = .seconds(300)
    /// Replacements of a pod that never became ready before the session is told its workspace failed.
    public var startAttempts = 3

    public init(namespace: String, images: [LanguageKit: String] = OperatorConfiguration.defaultImages) {
        self.namespace = namespace
        self.images = images
    }

    public static let defaultImages: [LanguageKit: String] = [
        .python: "ghcr.io/ope-dev/workspace-python:0.1.0",
        .sql: "ghcr.io/ope-dev/workspace-sql:0.1.0",
        .spark: "ghcr.io/ope-dev/workspace-spark:0.1.0",
    ]
}
