import Foundation
import OPECore

extension Sandbox {
    /// Runs a shell command in a sandbox of its own over `home` (a task test run, a bot's `run`
    /// step) and ends everything it started when it is done or past `timeout`.
    ///
    /// - Parameters:
    ///   - shareAccountWith: a running sandbox (the team's workspace) whose account the command
    ///     runs as, so that files it writes in the team's folder stay the team's; without one it
    ///     gets an account of its own.
    public func run(
        _ command: String, home: String, homeWritable: Bool, shareAccountWith: String? = nil, environment: [String: String], venv: String?,
        limits: WorkspaceLimits, timeout: Duration
    ) async throws -> CommandRunner.Result {
        let id = (homeWritable ? "b-" : "t-") + UUID().uuidString.prefix(8).lowercased()
        defer { release(id) }
        var environment = environment
        environment["PATH"] = (venv.map { $0 + "/bin:" } ?? "") + "/usr/local/bin:/usr/bin:/bin"
        let launch = try prepare(
            Spec(
                id: id, command: ["/bin/sh", "-c", command], home: home, homeWritable: homeWritable, shareAccountWith: shareAccountWith,
                environment: environment, readOnly: venv.map { [$0] + PythonInstall.prefixes(of: $0) } ?? [],
                databaseSocket: environment[DatabaseCredentials.socketVariable], limits: limits
            )
        )
        return try await CommandRunner().run(
            [launch.executable] + launch.arguments, in: home, environment: launch.environment, inheritEnvironment: false, timeout: timeout
        )
    }
}
