import Foundation
import Logging
import OPECore

/// The MariaDB server behind the `sql` kit: the platform starts it, owns it and gives every
/// session its own database and user on it.
///
/// Everything lives in one directory (``Configuration/directory``): the data dir, the unix socket,
/// the pid file and the logs. The server listens on that socket, through which the platform
/// administers it as the MariaDB account of its own OS user (unix-socket authentication, so there
/// is no admin password to keep), and on a loopback TCP port for the groups' users. It runs as a
/// child process in its own process group and is configured small (64 MiB buffer pool, no
/// performance schema, no binary log), since it only holds exercise data.
public actor MariaDBServer {
    /// Where the server keeps its files and how long it may take.
    public struct Configuration: Sendable {
        /// Holds `data/` (the datadir), `socket/mysqld.sock`, `mysqld.pid`, `error.log` and the output of
        /// the programs it runs, e.g. `<data>/mariadb`. Keep the path short: the socket's path must
        /// fit a unix socket address (about 100 bytes).
        public var directory: String
        /// How long creating the datadir and starting the server may take, each.
        public var startTimeout: Duration
        /// How long the server may take to shut down cleanly before it is killed.
        public var stopTimeout: Duration
        /// The loopback TCP port; `nil` picks a free one at every start.
        public var port: Int?

        public init(directory: String, startTimeout: Duration = .seconds(60), stopTimeout: Duration = .seconds(30), port: Int? = nil) {
            self.directory = directory
            self.startTimeout = startTimeout
            self.stopTimeout = stopTimeout
            self.port = port
        }
    }

    public let configuration: Configuration
    private let logger: Logger
    private var process: ChildProcess?
    private var listeningPort: Int?
    private var starting: Task<Void, any Error>?
    private var provisioning: [String: Task<DatabaseCredentials, any Error>] = [:]

    /// The server's unix socket; it is there while the server runs. It has a folder of its own, so
    /// a workspace's sandbox can be given the socket without the datadir beside it.
    public nonisolated var socketPath: String { configuration.directory + "/socket/mysqld.sock" }
    private nonisolated var dataDirectory: String { configuration.directory + "/data" }
    private nonisolated var pidFile: String { configuration.directory + "/mysqld.pid" }
    private nonisolated var errorLog: String { configuration.directory + "/error.log" }
    private nonisolated var outputFile: String { configuration.directory + "/mariadbd.out" }
    /// The server's own temporary folder. In the shared /tmp its temporary tables (named by pid)
    /// were seen to vanish under it while other servers started ("Error on delete of
    /// '/tmp/#sql-temptable-…'"), failing `mariadb-install-db`.
    private nonisolated var temporaryDirectory: String { configuration.directory + "/tmp" }

    /// Sets the server up; nothing runs before ``start()``.
    public init(configuration: Configuration, logger: Logger = Logger(label: "ope.mariadb")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Whether the server runs and has accepted connections.
    public var isRunning: Bool { listeningPort != nil && process?.isRunning == true }

    /// The TCP port the server listens on, while it runs.
    public var port: Int? { isRunning ? listeningPort : nil }

    // MARK: Starting and stopping

    /// Starts the server and returns once it accepts connections; does nothing if it runs.
    ///
    /// The first start creates the datadir with `mariadb-install-db`. A server left running by an
    /// earlier run of the platform (one that was killed before it could stop it) is stopped first,
    /// and stale pid and socket files are removed. If the server exits or does not answer within
    /// ``Configuration/startTimeout``, the error carries the end of its error log.
    public func start() async throws {
        if isRunning { return }
        if let starting { return try await starting.value }
        let task = Task { try await self.launch() }
        starting = task
        defer { starting = nil }
        try await task.value
    }

    /// Stops the server (cleanly if it can within ``Configuration/stopTimeout``, else by killing
    /// it) and returns once it has exited. The data stays for the next ``start()``.
    public func stop() async {
        _ = try? await starting?.value
        guard let process else { return }
        self.process = nil
        listeningPort = nil
        await Self.terminate(process, within: configuration.stopTimeout)
        logger.info("MariaDB stopped", metadata: ["directory": "\(configuration.directory)"])
    }

    private func launch() async throws {
        let tools = try MariaDBTools.locate()
        guard socketPath.utf8.count < 100 else {
            throw MariaDBError("the MariaDB directory's path is too long for a unix socket (\(socketPath)): use a shorter one")
        }
        try FileManager.default.createDirectory(atPath: configuration.directory, withIntermediateDirectories: true)
        // Workspaces reach the socket as other users: its folder is open to them, the rest is not.
        try FileManager.default.createDirectory(
            atPath: (socketPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755]
        )
        chmod(configuration.directory, 0o711)
        if let process {
            // It exited since (a crash): start a new one.
            self.process = nil
            listeningPort = nil
            await Self.terminate(process, within: .zero)
        }
        try await stopLeftoverServer(tools)
        if !FileManager.default.fileExists(atPath: dataDirectory + "/mysql") {
            try await initializeDataDirectory(tools)
        }
        // A picked port can be taken by someone else before the server binds it: then try another.
        var attempt = 1
        while true {
            let port = try configuration.port ?? LoopbackPort.free()
            do {
                try await spawn(tools, port: port)
                return
            } catch let error as MariaDBError where error.portInUse && configuration.port == nil && attempt < 3 {
                logger.notice("MariaDB port was taken, trying another", metadata: ["port": "\(port)"])
                attempt += 1
            }
        }
    }

    /// Creates the datadir in a temporary folder and moves it into place when complete, so that a
    /// crash halfway leaves no datadir that looks usable.
    private func initializeDataDirectory(_ tools: MariaDBTools) async throws {
        let temporary = dataDirectory + ".new"
        try? FileManager.default.removeItem(atPath: temporary)
        try FileManager.default.createDirectory(atPath: temporaryDirectory, withIntermediateDirectories: true)
        var arguments = [
            "--no-defaults", "--datadir=\(temporary)", "--tmpdir=\(temporaryDirectory)", "--skip-test-db", "--skip-name-resolve",
            // The platform's own OS user administers the server over the socket, without a password.
            "--auth-root-authentication-method=socket", "--auth-root-socket-user=\(Self.osUser)",
        ]
        // mariadbd refuses to run as root unless told to; `--user` is only allowed for root.
        if geteuid() == 0 { arguments.append("--user=root") }
        arguments += Self.serverSizeOptions
        logger.info("creating the MariaDB datadir", metadata: ["directory": "\(dataDirectory)"])
        var result = try await Self.run(tools.installDB, arguments, timeout: configuration.startTimeout)
        if !result.succeeded {
            // Seen in the test suite while other servers were being set up on the machine at the
            // same moment: try once more in a clean folder, keeping the first attempt's log.
            try? (result.output + result.errorOutput).write(toFile: configuration.directory + "/install-first-attempt.log", atomically: true, encoding: .utf8)
            logger.warning("mariadb-install-db failed; trying once more", metadata: ["status": "\(result.statusText)"])
            try? FileManager.default.removeItem(atPath: temporary)
            result = try await Self.run(tools.installDB, arguments, timeout: configuration.startTimeout)
        }
        try? (result.output + result.errorOutput).write(toFile: configuration.directory + "/install.log", atomically: true, encoding: .utf8)
        guard result.succeeded else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw MariaDBError("mariadb-install-db failed (\(result.statusText)):\n\(Self.tail((result.output + result.errorOutput)))")
        }
        try FileManager.default.moveItem(atPath: temporary, toPath: dataDirectory)
    }

    private func spawn(_ tools: MariaDBTools, port: Int) async throws {
        // Only what this start writes to the (appended) error log belongs in an error message.
        let logOffset = (try? FileManager.default.attributesOfItem(atPath: errorLog)[.size] as? UInt64) ?? 0
        _ = FileManager.default.createFile(atPath: outputFile, contents: nil)
        try FileManager.default.createDirectory(atPath: temporaryDirectory, withIntermediateDirectories: true)
        let output = open(outputFile, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard output >= 0 else { throw MariaDBError("cannot write \(outputFile): errno \(errno)") }
        defer { close(output) }

        var arguments = [
            "--no-defaults",  // the machine's my.cnf (e.g. Debian's socket in /run/mysqld) must not apply
            "--datadir=\(dataDirectory)", "--tmpdir=\(temporaryDirectory)", "--socket=\(socketPath)", "--pid-file=\(pidFile)", "--log-error=\(errorLog)",
            "--port=\(port)", "--bind-address=127.0.0.1", "--skip-name-resolve",
            "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
        ]
        if geteuid() == 0 { arguments.append("--user=root") }
        arguments += Self.serverSizeOptions
        // It leads a process group of its own, so it is stopped as a group and is not hit by a
        // Ctrl-C meant for the platform.
        let process = try ChildProcess(tools.server, arguments: arguments, output: output, error: output)
        self.process = process
        logger.info("MariaDB starting", metadata: ["pid": "\(process.pid)", "port": "\(port)"])

        let deadline = ContinuousClock.now + configuration.startTimeout
        while true {
            if !process.isRunning {
                self.process = nil
                throw MariaDBError("mariadbd exited at start (status \(process.exitStatus ?? -1)):\n\(startLog(since: logOffset))")
            }
            // Only ask once the socket file is there: each ping is a process.
            if FileManager.default.fileExists(atPath: socketPath), await ping(tools) { break }
            if ContinuousClock.now >= deadline {
                self.process = nil
                await Self.terminate(process, within: configuration.stopTimeout)
                throw MariaDBError("mariadbd did not accept connections within \(configuration.startTimeout):\n\(startLog(since: logOffset))")
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        listeningPort = port
        logger.info("MariaDB ready", metadata: ["pid": "\(process.pid)", "port": "\(port)", "socket": "\(socketPath)"])
    }

    /// Whether a server answers on the socket. (`mariadb-admin ping` succeeds even when it may not
    /// log in: the server answered.)
    private func ping(_ tools: MariaDBTools) async -> Bool {
        let result = try? await Self.run(
            tools.admin, ["--no-defaults", "--socket=\(socketPath)", "--user=\(Self.osUser)", "--connect-timeout=2", "ping"],
            timeout: .seconds(10)
        )
        return result?.succeeded ?? false
    }

    /// Stops a server that an earlier, killed run of the platform left running on this directory
    /// (it still holds the datadir), and removes the pid and socket files of one that crashed.
    private func stopLeftoverServer(_ tools: MariaDBTools) async throws {
        if let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0,
            kill(pid, 0) == 0, await isOurServer(pid: pid, tools)
        {
            logger.warning("stopping a MariaDB server left running by an earlier run", metadata: ["pid": "\(pid)"])
            kill(pid, SIGTERM)
            let deadline = ContinuousClock.now + configuration.stopTimeout
            while kill(pid, 0) == 0, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
            if kill(pid, 0) == 0 {
                kill(pid, SIGKILL)
                while kill(pid, 0) == 0 { try? await Task.sleep(for: .milliseconds(20)) }
            }
        }
        for file in [pidFile, socketPath, socketPath + ".lock"] where FileManager.default.fileExists(atPath: file) {
            try? FileManager.default.removeItem(atPath: file)
        }
    }

    /// A pid from an old pid file may belong to any process by now; only a server on our datadir
    /// may be stopped.
    private func isOurServer(pid: Int32, _ tools: MariaDBTools) async -> Bool {
        if let commandLine = ProcFile.data("/proc/\(pid)/cmdline") {
            let arguments = commandLine.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return arguments.contains("--datadir=\(dataDirectory)")
        }
        // No /proc (macOS): a server answering on our socket is ours.
        return FileManager.default.fileExists(atPath: socketPath) ? await ping(tools) : false
    }

    private nonisolated func startLog(since offset: UInt64) -> String {
        var text = ""
        if let handle = FileHandle(forReadingAtPath: errorLog) {
            try? handle.seek(toOffset: offset)
            text = String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
            try? handle.close()
        }
        if let output = try? String(contentsOfFile: outputFile, encoding: .utf8), !output.isEmpty { text = output + text }
        return Self.tail(text)
    }

    // MARK: Sessions' databases

    /// Makes sure the session has its database and user, sets a new random password and returns
    /// how to connect. Starts the server if it is not running.
    ///
    /// The database and the user are both named after the session (`s-ab3k9x2m4q` becomes
    /// `ope_s_ab3k9x2m4q`); the user exists for the socket (`@localhost`) and for TCP
    /// (`@127.0.0.1`) and may do anything inside its database, nothing outside. Calling it again
    /// keeps the data; only the password changes, which also ends nothing already connected.
    public func provision(session: String) async throws -> DatabaseCredentials {
        if let running = provisioning[session] { return try await running.value }
        let task = Task { try await self.createDatabase(for: session) }
        provisioning[session] = task
        defer { provisioning[session] = nil }
        return try await task.value
    }

    /// Removes the session's database and users and ends their connections. Does nothing for a
    /// session that has none. Starts the server if it is not running.
    public func drop(session: String) async throws {
        let name = try Self.databaseName(for: session)
        _ = try? await provisioning[session]?.value
        try await start()
        let tools = try MariaDBTools.locate()
        // Users first, so nobody logs in again; then their connections, whose open transactions
        // would make DROP DATABASE wait for their locks.
        try await execute("DROP USER IF EXISTS \(Self.accounts(name));", tools)
        let connections = try await execute(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = \(Self.quoted(name));", tools
        )
        let kills = connections.split(whereSeparator: \.isNewline).compactMap { Int($0) }.map { "KILL CONNECTION \($0);" }
        // A connection may have ended by itself in between: `--force` goes on past that error.
        if !kills.isEmpty { _ = try? await execute(kills.joined(separator: "\n"), tools, force: true) }
        try await execute("DROP DATABASE IF EXISTS \(Self.identifier(name));", tools)
        logger.info("session database dropped", metadata: ["session": "\(session)", "database": "\(name)"])
    }

    private func createDatabase(for session: String) async throws -> DatabaseCredentials {
        let name = try Self.databaseName(for: session)
        try await start()
        let tools = try MariaDBTools.locate()
        let password = Self.randomPassword()
        let identified = "IDENTIFIED BY \(Self.quoted(password))"
        // A limit per user, so that one group's runaway loop cannot take every connection.
        let limits = "WITH MAX_USER_CONNECTIONS 30"
        var sql = "CREATE DATABASE IF NOT EXISTS \(Self.identifier(name)) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\n"
        for host in Self.userHosts {
            let account = "\(Self.quoted(name))@\(Self.quoted(host))"
            sql += "CREATE USER IF NOT EXISTS \(account) \(identified) \(limits);\n"
            sql += "ALTER USER \(account) \(identified) \(limits);\n"
            sql += "GRANT ALL PRIVILEGES ON \(Self.identifier(name)).* TO \(account);\n"
        }
        try await execute(sql, tools)
        guard let port = listeningPort else { throw MariaDBError("MariaDB stopped while the session's database was made") }
        logger.info("session database ready", metadata: ["session": "\(session)", "database": "\(name)"])
        return DatabaseCredentials(name: name, user: name, password: password, port: port, socket: socketPath)
    }

    /// Runs SQL as the administrator over the socket and returns what it printed (tab-separated
    /// rows, no header). The SQL goes to the client's standard input, so no shell ever sees it
    /// and passwords do not show in the process list.
    @discardableResult
    private func execute(_ sql: String, _ tools: MariaDBTools, force: Bool = false) async throws -> String {
        var arguments = [
            "--no-defaults", "--protocol=SOCKET", "--socket=\(socketPath)", "--user=\(Self.osUser)",
            "--batch", "--skip-column-names", "--connect-timeout=10",
        ]
        if force { arguments.append("--force") }
        let result = try await Self.run(tools.client, arguments, input: sql, timeout: .seconds(60))
        guard result.succeeded else {
            throw MariaDBError(
                "MariaDB refused the administration command (\(result.statusText)): \(result.errorOutput.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return result.output
    }

    /// Each group user exists for the socket (`localhost`) and for TCP on loopback; with
    /// `--skip-name-resolve` those are two different accounts.
    static let userHosts = ["localhost", "127.0.0.1"]

    static func accounts(_ user: String) -> String {
        userHosts.map { "\(quoted(user))@\(quoted($0))" }.joined(separator: ", ")
    }

    /// `ope_` and the session id with `-` as `_`. Only lowercase letters, digits and `-` are
    /// accepted (session ids are made of those), which keeps the mapping one-to-one and the name
    /// safe to put in SQL.
    static func databaseName(for session: String) throws -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-")
        guard !session.isEmpty, session.allSatisfy(allowed.contains) else {
            throw MariaDBError("session id \"\(session)\" cannot name a database: only a-z, 0-9 and - are allowed")
        }
        let name = "ope_" + session.replacingOccurrences(of: "-", with: "_")
        // 64 is MariaDB's limit for database names (user names may have 80).
        guard name.count <= 64 else { throw MariaDBError("session id \"\(session)\" is too long to name a database") }
        return name
    }

    /// A database name inside backquotes. Names here come from ``databaseName(for:)``, but quoting
    /// keeps this right for any name.
    static func identifier(_ name: String) -> String {
        "`" + name.replacingOccurrences(of: "`", with: "``") + "`"
    }

    /// A string literal.
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    static func randomPassword() -> String {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<24).map { _ in alphabet.randomElement(using: &generator)! })
    }

    // MARK: Processes

    /// Keeps the server small: it holds exercise data for a few dozen groups, on a machine that
    /// also runs their JupyterLabs.
    static let serverSizeOptions = [
        "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M", "--performance-schema=OFF", "--skip-log-bin",
    ]

    /// The name of the OS user this runs as: the server's administrator, through the socket.
    static var osUser: String {
        if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return ProcessInfo.processInfo.environment["USER"] ?? "root"
    }

    /// Ends a process group: SIGTERM, then SIGKILL once `timeout` has passed; returns once the
    /// process has exited.
    static func terminate(_ process: ChildProcess, within timeout: Duration) async {
        // (mariadbd starts no children that could outlive it.)
        await process.terminateGroup(grace: timeout)
        _ = await process.waitForExit(within: .seconds(5))
    }

    /// Runs one of the MariaDB tools with its output and errors kept apart. Settings for the
    /// client from the environment (MYSQL_HOST, MYSQL_PWD, …) must not apply, so they are left out.
    static func run(_ executable: String, _ arguments: [String], input: String? = nil, timeout: Duration) async throws -> CommandRunner.Result {
        let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MYSQL") && !$0.key.hasPrefix("MARIADB") }
        do {
            return try await CommandRunner().run(
                [executable] + arguments, environment: environment, inheritEnvironment: false, input: input, separateErrorOutput: true, timeout: timeout
            )
        } catch let error as CommandError {
            throw MariaDBError("SQL too long for one administration command (\(error))")
        }
    }

    /// The last lines of a log, for an error message.
    static func tail(_ text: String, lines: Int = 20) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: true).suffix(lines).joined(separator: "\n")
    }
}

/// The MariaDB programs, found in PATH or where Debian and Homebrew put them.
struct MariaDBTools: Sendable {
    var server: String
    var installDB: String
    var client: String
    var admin: String

    static func locate() throws -> MariaDBTools {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        // mariadbd is in /usr/sbin, which is not in every PATH.
        let directories =
            path.split(separator: ":").map(String.init)
            + ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/opt/homebrew/bin", "/opt/homebrew/sbin"]
        func find(_ names: String...) throws -> String {
            // MariaDB's own names first: a `mysqld` may be MySQL's.
            for name in names {
                for directory in directories where FileManager.default.isExecutableFile(atPath: directory + "/" + name) {
                    return directory + "/" + name
                }
            }
            throw MariaDBError("\(names[0]) not found in PATH, /usr/sbin or /usr/bin: install MariaDB (scripts/install-deps.sh installs mariadb-server)")
        }
        return try MariaDBTools(
            server: find("mariadbd", "mysqld"),
            installDB: find("mariadb-install-db", "mysql_install_db"),
            client: find("mariadb", "mysql"),
            admin: find("mariadb-admin", "mysqladmin")
        )
    }
}

/// Why the database server or a session's database could not be set up, in words for the log.
public struct MariaDBError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }

    /// The server could not bind its TCP port (someone took the port that was picked as free).
    var portInUse: Bool {
        description.contains("Address already in use") || description.contains("Can't start server: Bind on TCP/IP port")
    }
}
