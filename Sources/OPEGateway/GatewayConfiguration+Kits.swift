import OPECore
import OPEWorkspaces

extension GatewayConfiguration {
    /// Gives sql-kit sessions a database of their own on `server` (started when the first such
    /// session needs it), drops it when the session ends, and stops the server at shutdown.
    public mutating func useDatabases(_ server: MariaDBServer) {
        let previousEnvironment = kitEnvironment
        let previousCleanup = kitCleanup
        let previousShutdown = kitShutdown
        kitEnvironment = { module, session in
            var environment = try await previousEnvironment(module, session)
            if module.kit == .sql { environment.merge(try await server.provision(session: session).environment) { _, new in new } }
            return environment
        }
        kitCleanup = { module, session in
            await previousCleanup(module, session)
            if module.kit == .sql { try? await server.drop(session: session) }
        }
        kitShutdown = {
            await previousShutdown()
            await server.stop()
        }
    }
}
