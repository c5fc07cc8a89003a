import Foundation

/// How a group reaches its own MariaDB database (the `sql` kit): one database and one user per
/// session, made by ``MariaDBServer/provision(session:)``.
///
/// The same user exists for the server's unix socket and for TCP on loopback, with the same
/// password, so a workspace can use whichever it can reach.
public struct DatabaseCredentials: Sendable, Hashable {
    /// The database, e.g. `ope_s_ab3k9x2m4q`.
    public var name: String
    /// The user, with all privileges on ``name`` and on nothing else.
    public var user: String
    public var password: String
    /// Where the server listens for TCP: always loopback.
    public var host: String
    public var port: Int
    /// The server's unix socket.
    public var socket: String

    public init(name: String, user: String, password: String, host: String = "127.0.0.1", port: Int, socket: String) {
        self.name = name
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.socket = socket
    }

    /// The variables a workspace (its kernels, terminals and test runs) gets, as the modules' tests
    /// read them (see `examples/modules/sql-joins/tests/conftest.py`, which prefers the socket
    /// when `OPE_DB_SOCKET` is set).
    public var environment: [String: String] {
        [
            "OPE_DB_NAME": name,
            "OPE_DB_USER": user,
            "OPE_DB_PASSWORD": password,
            "OPE_DB_HOST": host,
            "OPE_DB_PORT": String(port),
            "OPE_DB_SOCKET": socket,
            // JupySQL's `%%sql` cells connect here when no connection is given.
            "DATABASE_URL": url(socket: socket),
        ]
    }

    /// The SQLAlchemy URL (PyMySQL driver) of the database through `socket`.
    public func url(socket: String) -> String {
        var parts = URLComponents()
        parts.scheme = "mysql+pymysql"
        parts.user = user
        parts.password = password
        parts.host = "localhost"
        parts.path = "/" + name
        parts.queryItems = [URLQueryItem(name: "unix_socket", value: socket), URLQueryItem(name: "charset", value: "utf8mb4")]
        return parts.string ?? ""
    }
}

extension DatabaseCredentials {
    /// The variable that carries the socket's path; a sandbox shows the socket at its own path.
    public static let socketVariable = "OPE_DB_SOCKET"

    /// Reads credentials back from ``environment`` (nil if any part is missing).
    public init?(environment: [String: String]) {
        guard let name = environment["OPE_DB_NAME"], let user = environment["OPE_DB_USER"], let password = environment["OPE_DB_PASSWORD"],
            let port = environment["OPE_DB_PORT"].flatMap(Int.init), let socket = environment[Self.socketVariable]
        else { return nil }
        self.init(name: name, user: user, password: password, host: environment["OPE_DB_HOST"] ?? "127.0.0.1", port: port, socket: socket)
    }

    /// Writes `.my.cnf` into the team's folder so that `mariadb` in a terminal (and any client
    /// that reads it) connects to the team's database with no options, and an IPython start-up
    /// file that loads JupySQL, so `%%sql` cells in any notebook run against it (through
    /// `DATABASE_URL`). Only the team sees them.
    public func writeClientDefaults(into folder: String, socket: String) throws {
        let startup = folder + "/.ipython/profile_default/startup"
        try FileManager.default.createDirectory(atPath: startup, withIntermediateDirectories: true)
        let magic = """
            # Written by OPE: `%%sql` cells run SQL on your team's database (JupySQL, see
            # https://jupysql.ploomber.io). The connection comes from $DATABASE_URL.
            try:
                get_ipython().run_line_magic("load_ext", "sql")
                get_ipython().run_line_magic("config", "SqlMagic.displaylimit = 50")
                get_ipython().run_line_magic("config", "SqlMagic.displaycon = False")
            except Exception as error:  # a notebook without SQL still works
                print(f"SQL cells are not available: {error}")

            """
        try magic.write(toFile: startup + "/00-ope-sql.py", atomically: true, encoding: .utf8)
        let text = """
            # Written by OPE: your team's database. `mariadb` in a terminal uses it.
            [client]
            user=\(user)
            password=\(password)
            socket=\(socket)
            database=\(name)

            """
        let file = folder + "/.my.cnf"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o600)
    }
}

extension DatabaseCredentials: CustomStringConvertible {
    /// Everything but the password, so credentials can be logged.
    public var description: String {
        "\(user)@\(host):\(port)/\(name) (socket \(socket))"
    }
}
