import Foundation
import OPECore
import OPEWorkspaces
import Testing

/// A real MariaDB server (from mariadb-server, which scripts/install-deps.sh installs) in a
/// temporary folder, reached with the `mariadb` client as the groups' workspaces reach it.
@Suite(.serialized) struct MariaDBServerTests {
    /// A fresh folder for one server. Short, under /tmp: the socket's path must stay below ~100
    /// bytes, which a macOS temporary directory would not.
    static func temporaryDirectory() -> String {
        "/tmp/ope-mariadb-" + UUID().uuidString.prefix(8).lowercased()
    }

    /// The `mariadb` client. Its absence fails the test: the sql kit needs MariaDB.
    static var client: String {
        get throws {
            let path = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
            for directory in path + ["/usr/bin", "/usr/local/bin", "/opt/homebrew/bin"] {
                for name in ["mariadb", "mysql"] where FileManager.default.isExecutableFile(atPath: directory + "/" + name) {
                    return directory + "/" + name
                }
            }
            throw MariaDBError("the mariadb client is not installed: run scripts/install-deps.sh (make test does)")
        }
    }

    enum Connection { case tcp, socket }

    /// Runs SQL as a group's user, over TCP unless told otherwise, in `database` (the user's own
    /// by default).
    static func query(
        _ sql: String, as credentials: DatabaseCredentials, password: String? = nil, over connection: Connection = .tcp, database: String? = nil,
        timeout: Duration = .seconds(30)
    ) async throws -> CommandRunner.Result {
        var arguments = [try client, "--no-defaults", "--batch", "--skip-column-names", "--user=\(credentials.user)", "--execute=\(sql)"]
        switch connection {
        case .tcp: arguments += ["--protocol=TCP", "--host=\(credentials.host)", "--port=\(credentials.port)"]
        case .socket: arguments += ["--protocol=SOCKET", "--socket=\(credentials.socket)"]
        }
        arguments.append(database ?? credentials.name)
        // The password through the environment, as it would not show in the process list.
        return try await CommandRunner().run(arguments, environment: ["MYSQL_PWD": password ?? credentials.password], timeout: timeout)
    }

    static func serverPID(in directory: String) -> Int32? {
        (try? String(contentsOfFile: directory + "/mysqld.pid", encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    static func isAlive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }

    @Test func eachSessionGetsItsOwnDatabaseAndUser() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = MariaDBServer(configuration: .init(directory: directory))
        try await server.start()
        #expect(await server.isRunning)
        let port = try #require(await server.port)
        try await server.start()  // a second start changes nothing
        #expect(await server.port == port)

        let alpha = try await server.provision(session: "s-alpha")
        let beta = try await server.provision(session: "s-beta")
        #expect(alpha.name == "ope_s_alpha" && alpha.user == "ope_s_alpha")
        #expect(alpha.host == "127.0.0.1" && alpha.port == port && alpha.socket == directory + "/socket/mysqld.sock")
        #expect(alpha.environment["OPE_DB_NAME"] == "ope_s_alpha")
        #expect(alpha.environment["OPE_DB_PORT"] == String(port))
        #expect(alpha.environment["OPE_DB_PASSWORD"] == alpha.password)
        #expect(alpha.password != beta.password)

        // Each user works in its own database, over TCP and over the socket.
        for (credentials, value) in [(alpha, 1), (beta, 2)] {
            let created = try await Self.query("CREATE TABLE t (x INT); INSERT INTO t VALUES (\(value));", as: credentials)
            #expect(created.succeeded, "\(credentials.user): \(created.output)")
            let socket = try await Self.query("SELECT x FROM t", as: credentials, over: .socket)
            #expect(socket.succeeded && socket.output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(value)", "\(socket.output)")
        }
        // …and cannot reach the other's, nor see it.
        let intrusion = try await Self.query("SELECT x FROM ope_s_beta.t", as: alpha)
        #expect(!intrusion.succeeded)
        #expect(intrusion.output.contains("denied"), "\(intrusion.output)")
        let otherDatabase = try await Self.query("SELECT 1", as: beta, database: "ope_s_alpha")
        #expect(!otherDatabase.succeeded && otherDatabase.output.contains("denied"), "\(otherDatabase.output)")
        let databases = try await Self.query("SHOW DATABASES", as: alpha)
        #expect(!databases.output.contains("ope_s_beta") && !databases.output.contains("mysql\n"), "\(databases.output)")
        let global = try await Self.query("CREATE DATABASE ope_mine", as: alpha)
        #expect(!global.succeeded, "a group may not create databases: \(global.output)")

        // Provisioning again keeps the data and changes the password.
        let again = try await server.provision(session: "s-alpha")
        #expect(again.name == alpha.name && again.password != alpha.password)
        let kept = try await Self.query("SELECT x FROM t", as: again)
        #expect(kept.succeeded && kept.output.contains("1"), "\(kept.output)")
        let oldPassword = try await Self.query("SELECT 1", as: again, password: alpha.password)
        #expect(!oldPassword.succeeded && oldPassword.output.contains("denied"), "\(oldPassword.output)")

        // Dropping removes database and users, and ends their connections: an open transaction
        // (a student's notebook) would otherwise make DROP DATABASE wait for its lock.
        let open = Task { try await Self.query("START TRANSACTION; SELECT x FROM t; SELECT SLEEP(600);", as: again, timeout: .seconds(700)) }
        let visible = ContinuousClock.now + .seconds(120)
        while try await !Self.query("SHOW PROCESSLIST", as: again).output.contains("SLEEP(600)") {
            try #require(ContinuousClock.now < visible, "the open transaction never showed in the process list")
            try await Task.sleep(for: .milliseconds(50))
        }
        let dropStarted = ContinuousClock.now
        try await server.drop(session: "s-alpha")
        // Well before the 600 s the transaction would hold its lock (a busy machine is slow, not that slow).
        #expect(ContinuousClock.now - dropStarted < .seconds(120))
        let ended = try await open.value
        #expect(!ended.succeeded, "the open connection should have been ended: \(ended.output)")
        let afterDrop = try await Self.query("SELECT 1", as: again)
        #expect(!afterDrop.succeeded && afterDrop.output.contains("denied"), "\(afterDrop.output)")
        let fresh = try await server.provision(session: "s-alpha")
        let empty = try await Self.query("SELECT x FROM t", as: fresh)
        #expect(!empty.succeeded && empty.output.contains("doesn't exist"), "\(empty.output)")
        let betaStill = try await Self.query("SELECT x FROM t", as: beta)
        #expect(betaStill.succeeded && betaStill.output.contains("2"), "\(betaStill.output)")
        try await server.drop(session: "s-never-provisioned")

        // Session ids that could not name a database safely are refused.
        for bad in ["", "s-ALPHA", "s_alpha", "s-a;DROP DATABASE mysql", "s-" + String(repeating: "x", count: 70)] {
            await #expect(throws: MariaDBError.self, "\(bad)") { try await server.provision(session: bad) }
        }

        let pid = try #require(Self.serverPID(in: directory))
        await server.stop()
        #expect(await !server.isRunning)
        #expect(!Self.isAlive(pid), "mariadbd \(pid) still runs after stop")
    }

    @Test func dataSurvivesStopRestartCrashAndAnOrphanedServer() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = MariaDBServer(configuration: .init(directory: directory))
        let credentials = try await first.provision(session: "s-keep")  // starts the server itself
        let created = try await Self.query("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('kept');", as: credentials)
        #expect(created.succeeded, "\(created.output)")

        func expectNotes(_ server: MariaDBServer, _ comment: Comment) async throws {
            let credentials = try await server.provision(session: "s-keep")
            let notes = try await Self.query("SELECT body FROM notes", as: credentials)
            #expect(notes.succeeded && notes.output.contains("kept"), "\(comment): \(notes.output)")
        }

        // A clean stop leaves nothing running; a new server object on the directory (the
        // platform restarted) finds the data.
        let pid = try #require(Self.serverPID(in: directory))
        await first.stop()
        #expect(!Self.isAlive(pid), "mariadbd still runs after stop")
        #expect(!FileManager.default.fileExists(atPath: directory + "/socket/mysqld.sock"))
        let second = MariaDBServer(configuration: .init(directory: directory))
        try await expectNotes(second, "after a restart")

        // The server crashes (stale pid and socket files stay): the next start recovers.
        let crashed = try #require(Self.serverPID(in: directory))
        kill(crashed, SIGKILL)
        while await second.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        #expect(FileManager.default.fileExists(atPath: directory + "/mysqld.pid"))
        try await second.start()
        try await expectNotes(second, "after a crash")

        // The platform was killed and left its server running: a new platform takes over the
        // directory, stopping the orphan instead of failing on InnoDB's lock.
        let orphan = try #require(Self.serverPID(in: directory))
        let third = MariaDBServer(configuration: .init(directory: directory))
        try await third.start()
        #expect(!Self.isAlive(orphan), "the orphaned mariadbd \(orphan) still runs")
        #expect(await !second.isRunning)
        try await expectNotes(third, "after taking over an orphan")

        let last = try #require(Self.serverPID(in: directory))
        await third.stop()
        await second.stop()
        #expect(!Self.isAlive(last))
    }

    @Test func aServerThatCannotStartReportsItsErrorLog() async throws {
        let directory = Self.temporaryDirectory()
        let blocked = Self.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: blocked)
        }
        let server = MariaDBServer(configuration: .init(directory: directory))
        try await server.start()
        let port = try #require(await server.port)
        // A second server told to use the first one's port cannot bind it.
        let second = MariaDBServer(configuration: .init(directory: blocked, startTimeout: .seconds(30), port: port))
        do {
            try await second.start()
            Issue.record("a server whose port is taken should not count as started")
        } catch let error as MariaDBError {
            #expect(error.description.contains("mariadbd exited at start"), "\(error)")
            #expect(error.description.contains("Address already in use") || error.description.contains("Bind on TCP/IP port"), "\(error)")
        }
        #expect(await !second.isRunning)
        await second.stop()
        await server.stop()
    }
}
