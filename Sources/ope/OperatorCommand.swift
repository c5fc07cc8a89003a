import ArgumentParser
import Foundation
import Hummingbird
import Logging
import OPECLI
import OPECore
import OPEGateway
import OPEKube
import OPEOperator
import ServiceLifecycle
import UnixSignals

/// `ope operator`: the Kubernetes operator (workspaces for OPESession objects, leader election).
struct OperatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator",
        abstract: "Run the Kubernetes operator: a workspace pod, Service, Secret and volume for each OPESession.",
        discussion: """
            Inside a pod it uses the service account; elsewhere a kubeconfig (--kubeconfig, $KUBECONFIG or ~/.kube/config).
            Several replicas elect one leader over a Lease; only the leader writes. /healthz, /readyz and /metrics are served on --health-port.
            SIGTERM or SIGINT stop it: a leader gives its lease up so the next one takes over at once.
            """
    )

    @Option(help: "Kubeconfig file (default: the service account inside a pod, else $KUBECONFIG or ~/.kube/config).") var kubeconfig: String?
    @Option(help: "Namespace to work in (default: the pod's, or the kubeconfig context's).") var namespace: String?
    @Option(help: "This replica's name in the Lease (default: the host name).") var identity: String?
    @Option(help: "The Lease leader election uses.") var leaseName = "ope-operator"
    @Option(help: "How long a lease stands before another replica may take it (e.g. 15s).") var leaseDuration = "15s"
    @Option(help: "How long a leader keeps writing without renewing (shorter than --lease-duration).") var renewDeadline = "10s"
    @Flag(help: "Do not elect a leader: this process always writes (one replica only).") var noLeaderElect = false
    @Option(help: "Port of /healthz, /readyz and /metrics (0: none).") var healthPort = 8081
    @Option(help: "Address of the health port.") var healthHost = "0.0.0.0"
    @Option(help: "A kit's workspace image, KIT=IMAGE (repeatable; kits: python, sql, spark).") var image: [String] = []
    @Option(help: "Size of each team's files volume.") var storageSize = "1Gi"
    @Option(help: "Storage class of the files volumes (default: the cluster's).") var storageClass: String?
    @Option(help: "A workspace idle this long gives its pod back, files kept (0: never).") var idleTimeout = "30m"
    @Option(help: "How long a workspace pod may take to become ready before it is replaced.") var startTimeout = "5m"
    @Option(help: "Reconcile workers.") var workers = 4
    @Option(help: "The ope image, whose binary serves task tests in each workspace pod.") var opeImage = "ghcr.io/ope-dev/ope:0.1.0"
    @Option(help: "A writable folder for repository clones (default: a new one under the temporary folder).") var cacheDir: String?

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
        OPEMetrics.bootstrap()
        let logger = Logger(label: "ope.operator")
        let connection = try ClusterConnection.resolve(kubeconfig: kubeconfig)
        var configuration = OperatorConfiguration(namespace: namespace ?? connection.namespace)
        for entry in image {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let kit = LanguageKit(rawValue: parts[0]), !parts[1].isEmpty else {
                throw CLIError("--image \(entry): expected KIT=IMAGE with KIT one of \(LanguageKit.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            configuration.images[kit] = parts[1]
        }
        configuration.storageSize = storageSize
        configuration.opeImage = opeImage
        if let cacheDir { configuration.cacheDirectory = cacheDir }
        configuration.storageClass = storageClass
        configuration.idleTimeout = try Self.duration(idleTimeout, "--idle-timeout").flatMap { $0 == .zero ? nil : $0 }
        configuration.startTimeout = try Self.duration(startTimeout, "--start-timeout") ?? .seconds(300)
        var options = OperatorService.Options()
        options.workers = workers
        options.leaseName = leaseName
        if !noLeaderElect {
            let duration = try Self.duration(leaseDuration, "--lease-duration") ?? .seconds(15)
            let deadline = try Self.duration(renewDeadline, "--renew-deadline") ?? .seconds(10)
            guard deadline < duration else { throw CLIError("--renew-deadline must be shorter than --lease-duration") }
            let name = identity ?? ProcessInfo.processInfo.hostName
            options.election = LeaseElection.Configuration(
                identity: name, leaseDuration: duration, renewDeadline: deadline, retryPeriod: min(.seconds(2), deadline / 4))
        }
        let client = try KubeClient(connection: connection, logger: Logger(label: "ope.kube"))
        let service = OperatorService(client: client, configuration: configuration, options: options, logger: logger)
        var services: [any ServiceLifecycle.Service] = [service]
        if healthPort > 0 {
            let router = Router()
            router.get("/healthz") { _, _ in "ok" }
            router.get("/readyz") { _, _ -> Response in
                service.isReady
                    ? Response(status: .ok, body: .init(byteBuffer: .init(string: "ok")))
                    : Response(status: .serviceUnavailable, body: .init(byteBuffer: .init(string: "caches not synced yet")))
            }
            router.get("/metrics") { _, _ -> String in OPEMetrics.exposition() }
            services.append(Application(router: router, configuration: .init(address: .hostname(healthHost, port: healthPort)), logger: logger))
        }
        logger.info(
            "ope operator starting",
            metadata: [
                "namespace": "\(configuration.namespace)", "server": "\(connection.server)",
                "leader-election": "\(options.election.map { "lease \(leaseName) as \($0.identity)" } ?? "off")",
            ])
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        try await client.shutdown()
    }

    static func duration(_ text: String, _ option: String) throws -> Duration? {
        guard let duration = DurationText.parse(text) else { throw CLIError("\(option) \(text): expected a duration such as 30s, 5m or 1h") }
        return duration
    }
}
