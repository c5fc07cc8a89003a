import Foundation
import Hummingbird
import Logging
import OPECLI
import OPECluster
import OPECore
import OPEGateway
import OPEModules
import OPERuntime
import OPEStore
import OPEWorkspaces

/// `ope serve --role core` and `--role edge`: the same platform cut in two, over gRPC.
extension ServeCommand {
    /// Refuses role options that do not go together, before anything starts.
    func checkRoleOptions() throws {
        switch role {
        case .all:
            guard shard == nil, shards == nil, cores == nil else {
                throw CLIError("--shard, --shards and --cores are for --role core or --role edge; the default (--role all) runs everything here")
            }
        case .core:
            guard let shards, shards >= 1, shards <= 1000 else { throw CLIError("--role core needs --shards N: how many cores the cluster has (1 to 1000)") }
            guard let shard, (0..<shards).contains(shard) else { throw CLIError("--role core needs --shard K, from 0 to \(shards - 1)") }
            guard cores == nil else { throw CLIError("--cores is for --role edge; a core listens on --cluster-port") }
            guard (1...65535).contains(clusterPort), clusterPort != port else { throw CLIError("--cluster-port must be a free port other than --port") }
        case .edge:
            guard cores != nil else { throw CLIError("--role edge needs --cores HOST:PORT,HOST:PORT (every core, in core order)") }
            guard shard == nil, shards == nil else { throw CLIError("an edge reaches every core: --shard and --shards are for --role core") }
        }
    }

    /// A core: the runtime of the modules whose home it is and the teams they form, its gRPC
    /// server for the edges, and `/healthz` and `/metrics` on `--port`.
    func runCore(_ configuration: GatewayConfiguration, store: Store, credentials: String, summary: String, logger: Logger) async throws {
        guard let shard, let shards else { return }
        let token = try clusterToken()
        var runtimeConfiguration = configuration.runtime
        runtimeConfiguration.shard = ShardPlace(index: shard, of: ShardMap(count: shards))
        var logger = logger
        logger[metadataKey: "core"] = "\(shard)"
        let runtime = try await Runtime(runtimeConfiguration, store: store, logger: logger)
        let server = CoreServer(
            runtime: runtime, configuration: .init(host: host, port: clusterPort, token: token), accounts: shard == 0 ? store : nil, logger: logger)
        let homes = await runtime.catalog.modules.map(\.id).filter { runtimeConfiguration.shard?.owns(module: $0) ?? false }
        let (host, clusterPort) = (self.host, self.clusterPort)
        let app = buildCoreApplication(
            host: host, port: port, metricsToken: configuration.metricsToken ?? ProcessInfo.processInfo.environment["OPE_METRICS_TOKEN"],
            services: runtime.services + [server], logger: logger
        ) { boundPort in
            var text =
                "\nOPE core \(shard) of \(shards) is running: edges reach it at \(host):\(clusterPort) (gRPC); health at http://\(host):\(boundPort)/healthz\n"
            text += "Workspaces: \(summary)\n"
            text += "Lobbies here: \(homes.isEmpty ? "none (no module's home is this core)" : homes.joined(separator: ", "))\n"
            printNow(text + (shard == 0 ? credentials : "Accounts: on core 0.\n"))
        }
        do {
            try await app.runService()
        } catch {
            throw CLIError("the core stopped: \(error)")
        }
    }

    /// The cluster token, from `--cluster-token-file` or `$OPE_CLUSTER_TOKEN`.
    func clusterToken() throws -> String {
        do {
            return try ClusterToken.read(file: clusterTokenFile)
        } catch {
            throw CLIError(error.description)
        }
    }
}

extension ServeCommand {
    /// An edge: the pages, the API, team rooms and the workspace proxy, over every core's runtime
    /// and core 0's accounts. It keeps nothing that matters: another edge serves the same people.
    func runEdge(logger: Logger) async throws {
        let token = try clusterToken()
        let addresses: [ClusterAddress]
        do {
            addresses = try ClusterAddress.parseList(cores ?? "")
        } catch {
            throw CLIError("--cores: \(error)")
        }
        let remotes = try addresses.map { try RemoteRuntime(configuration: .init(host: $0.host, port: $0.port, token: token)) }
        let accounts = try RemoteAccounts(
            configuration: .init(host: addresses[0].host, port: addresses[0].port, token: token), logger: Logger(label: "ope.accounts"))
        let cluster = ClusterRuntime(cores: remotes)
        var configuration = GatewayConfiguration(host: host, port: port, dataDirectory: "", publicURL: publicURL)
        configuration.connections = try connectionLimits()
        configuration.metricsToken = metricsToken ?? ProcessInfo.processInfo.environment["OPE_METRICS_TOKEN"]
        if workspaces == .local, !sameOriginWorkspaces {
            let chosen = try workspacePort ?? (port == 0 ? LoopbackPort.free() : port + 1)
            guard (1...65535).contains(chosen), chosen != port else { throw CLIError("--workspace-port must be a free port other than --port") }
            configuration.workspacePort = chosen
            configuration.workspaceURL = workspaceURL
        }
        let parts = GatewayParts(
            runtime: cluster, accounts: accounts, workspaces: workspaces == .local ? cluster : nil, services: remotes + [accounts])
        let (host, publicURL, workspaceOrigin) = (self.host, self.publicURL, configuration.workspaceOrigin)
        let coreList = addresses.map(\.description).joined(separator: ", ")
        let app = try await buildEdgeApplication(configuration, parts: parts, logger: logger) { boundPort in
            var text = "\nOPE edge is running at \(publicURL ?? "http://\(host):\(boundPort)")   (cores: \(coreList); stop with Ctrl-C)\n"
            if let workspaceOrigin { text += "Workspaces are served at \(workspaceOrigin) (their own origin; both must be reachable)\n" }
            text += "Accounts are core 0's: sign in with the accounts it printed when it first started.\n"
            printNow(text)
        }
        do {
            try await app.runService()
        } catch {
            let text = "\(error)"
            if text.contains("Address already in use") || text.contains("errno: 98") {
                throw CLIError("port \(port) on \(host) is already in use; stop what uses it or pass --port / --workspace-port")
            }
            throw CLIError("the edge stopped: \(text)")
        }
    }
}
