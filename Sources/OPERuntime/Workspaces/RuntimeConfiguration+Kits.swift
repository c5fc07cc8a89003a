import OPECore
import OPEWorkspaces

extension RuntimeConfiguration {
    /// Gives sql-kit sessions a database of their own on `server` (started when the first such
    /// session needs it), and their task tests another one, so that a notebook holding the team's
    /// database open (an open transaction locks the tables the tests recreate) cannot block them.
    /// Both are dropped when the session ends; the server stops at shutdown.
    public mutating func useDatabases(_ server: MariaDBServer) {
        let previousEnvironment = kitEnvironment
        let previousTestEnvironment = kitTestEnvironment
        let previousCleanup = kitCleanup
        let previousShutdown = kitShutdown
        kitEnvironment = { module, session in
            var environment = try await previousEnvironment(module, session)
            if module.kit == .sql { environment.merge(try await server.provision(session: session).environment) { _, new in new } }
            return environment
        }
        kitTestEnvironment = { module, session in
            var environment = try await previousTestEnvironment(module, session)
            if module.kit == .sql { environment.merge(try await server.provision(session: Self.testDatabase(of: session)).environment) { _, new in new } }
            return environment
        }
        kitCleanup = { module, session in
            await previousCleanup(module, session)
            guard module.kit == .sql else { return }
            try? await server.drop(session: session)
            try? await server.drop(session: Self.testDatabase(of: session))
        }
        kitShutdown = {
            await previousShutdown()
            await server.stop()
        }
    }

    /// The name the sql kit's test database is made under: `s-abc` → `ope_s_abc_tests`.
    static func testDatabase(of session: String) -> String { session + "-tests" }
}
