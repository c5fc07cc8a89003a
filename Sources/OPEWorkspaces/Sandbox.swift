import Foundation
import OPECore
import Synchronization

/// Runs participant code — a workspace's JupyterLab with its kernels and terminals, a task test
/// run — each in a sandbox of its own (see `docs/security.md`):
///
/// - **its own account** when OPE runs as root: a user id from ``UIDPool`` per workspace and per
///   test run, so it can neither signal nor trace the server or another team;
/// - **its own view** (bubblewrap): the team's folder at `/home/team`, the Python environment and
///   the system read-only, a private `/tmp` and `/run/ope` (JupyterLab's socket), its own `/proc`
///   (no other process is visible) and no network unless the module allows it; the data dir,
///   other teams' folders, the modules' hidden tests and the server's environment are not there;
/// - **limits** the kernel enforces: a control group for memory, processes and CPU, rlimits for
///   open files (and processes per account), a quota'd volume for the team's folder.
///
/// Everything it starts inherits all of that. ``release(_:)`` ends every process of a sandbox
/// (by its control group, its account or, as a last resort, the `OPE_WORKSPACE` marker).
public final class Sandbox: Sendable {
    public struct Configuration: Sendable {
        /// A short folder for sockets and generated files (a unix socket path must fit 107 bytes).
        public var runtimeRoot: String
        public var uids: ClosedRange<UInt32>

        public init(runtimeRoot: String, uids: ClosedRange<UInt32> = UIDPool.defaultRange) {
            self.runtimeRoot = runtimeRoot
            self.uids = uids
        }
    }

    /// What to run in a sandbox.
    public struct Spec: Sendable {
        /// Names the sandbox: its control group, account holder and runtime folder.
        public var id: String
        /// The program and its arguments, as seen inside (see ``view(id:home:)``).
        public var command: [String]
        /// The team's folder on the host, the sandbox's home and working directory.
        public var home: String
        /// Test runs get a copy of the team's files that they may read but not change.
        public var homeWritable: Bool
        /// Run as the account of this running sandbox (a bot's command in the team's folder)
        /// instead of one of its own; the folder then keeps its owner.
        public var shareAccountWith: String?
        /// Variables the program gets, on top of the sandbox's own few (`HOME`, `PATH`, …);
        /// nothing else of the server's environment crosses.
        public var environment: [String: String]
        /// Host folders visible read-only at the same path (the virtualenv, Python's prefix).
        public var readOnly: [String]
        /// The sql kit's MariaDB socket on the host, shown as `/run/mysqld/mysqld.sock`.
        public var databaseSocket: String?
        public var limits: WorkspaceLimits

        public init(
            id: String, command: [String], home: String, homeWritable: Bool = true, shareAccountWith: String? = nil, environment: [String: String] = [:],
            readOnly: [String] = [], databaseSocket: String? = nil, limits: WorkspaceLimits
        ) {
            self.id = id
            self.command = command
            self.home = home
            self.homeWritable = homeWritable
            self.shareAccountWith = shareAccountWith
            self.environment = environment
            self.readOnly = readOnly
            self.databaseSocket = databaseSocket
            self.limits = limits
        }
    }

    /// Where things are, as the sandboxed program sees them and as the host does.
    public struct View: Sendable, Hashable {
        /// The team's folder inside.
        public var home: String
        /// The private runtime folder inside (JupyterLab's socket goes here).
        public var runtime: String
        /// The same runtime folder on the host (where the proxy finds the socket).
        public var runtimeOnHost: String
        /// The MariaDB socket inside.
        public var databaseSocket: String?
    }

    /// How to start a prepared sandbox.
    public struct Launch: Sendable {
        public var executable: String
        public var arguments: [String]
        public var environment: [String: String]
        /// The account it runs as (nil: the server's own).
        public var uid: UInt32?
    }

    public let configuration: Configuration
    /// nil when the sandbox is off (`--no-sandbox`): programs run as the server's user, in its view.
    public let host: SandboxHost?
    private let uids: Mutex<UIDPool>
    /// Open lock files of the ids this server holds, by id: the kernel drops the locks when the
    /// server ends, however it ends, so a crashed server's ids become free again.
    private let claims = Mutex<[UInt32: Int32]>([:])

    /// The sandbox this machine allows; throws if bubblewrap cannot make one (see ``SandboxHost``).
    public static func make(_ configuration: Configuration, tag: String) async throws -> Sandbox {
        Sandbox(configuration, host: try await SandboxHost.probe(tag: tag))
    }

    /// No sandbox: only for a machine nobody else uses; the server says so loudly at start.
    public static func off(_ configuration: Configuration) -> Sandbox { Sandbox(configuration, host: nil) }

    init(_ configuration: Configuration, host: SandboxHost?) {
        self.configuration = configuration
        self.host = host
        self.uids = Mutex(UIDPool(range: configuration.uids, reserved: Self.accountsIn(configuration.uids)))
    }

    public var isOn: Bool { host != nil }

    /// A short tag from a path, for the runtime folder and control group names of one server.
    public static func tag(for dataDirectory: String) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in dataDirectory.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return String(hash, radix: 16)
    }

    /// Where a server with `tag` keeps its sandboxes' sockets: `/run` when root (only root may
    /// write there), the temporary folder otherwise. Both short enough for socket paths.
    public static func defaultRuntimeRoot(tag: String) -> String {
        if geteuid() == 0, access("/run", W_OK) == 0 { return "/run/ope-" + tag }
        return NSTemporaryDirectory() + "ope-run-" + tag
    }

    // MARK: Sandboxes

    public func view(id: String, home: String) -> View {
        let runtime = configuration.runtimeRoot + "/" + id + "/run"
        guard isOn else { return View(home: home, runtime: runtime, runtimeOnHost: runtime, databaseSocket: nil) }
        return View(home: Self.home, runtime: "/run/ope", runtimeOnHost: runtime, databaseSocket: "/run/mysqld/mysqld.sock")
    }

    /// Makes sandbox `spec.id` ready (account, control group with the limits, runtime folder,
    /// ownership of the team's folder) and returns how to start its program.
    public func prepare(_ spec: Spec) throws -> Launch {
        let fileManager = FileManager.default
        let folder = configuration.runtimeRoot + "/" + spec.id
        let view = view(id: spec.id, home: spec.home)
        // Sandboxes may pass through the runtime root to their own folder, not list it.
        try fileManager.createDirectory(atPath: configuration.runtimeRoot, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
        try? fileManager.removeItem(atPath: folder)
        try fileManager.createDirectory(atPath: view.runtimeOnHost, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        chmod(folder, 0o711)

        var environment: [String: String] = [
            "HOME": view.home, "USER": Self.account, "LOGNAME": Self.account, "SHELL": "/bin/bash", "LANG": "C.UTF-8", "TMPDIR": "/tmp",
            "PATH": "/usr/local/bin:/usr/bin:/bin",
        ]
        environment.merge(spec.environment) { _, given in given }
        environment[WorkspaceProcesses.variable] = spec.id
        guard let host else {
            environment["TMPDIR"] = NSTemporaryDirectory()
            return Launch(executable: spec.command[0], arguments: Array(spec.command.dropFirst()), environment: environment, uid: nil)
        }

        var uid: UInt32? = nil
        let shared = spec.shareAccountWith.flatMap { other in uids.withLock { $0.uid(of: other) } }
        if let shared {
            uid = shared
        } else if host.isRoot {
            guard let taken = uids.withLock({ $0.take(for: spec.id, claim: claim) }) else {
                throw WorkspaceError("no free account for a sandbox (\(configuration.uids.count) in use)")
            }
            // Whatever an earlier holder of this id left (a server killed mid-run) goes first.
            Self.killAll(uid: taken)
            uid = taken
        }
        let owner = uid ?? geteuid()
        if spec.homeWritable, shared == nil { try Self.chown(spec.home, to: owner) }
        Foundation.chown(view.runtimeOnHost, owner, owner)
        let passwd = folder + "/passwd", group = folder + "/group"
        try
            "root:x:0:0:root:/root:/usr/sbin/nologin\n\(Self.account):x:\(owner):\(owner):OPE team:\(Self.home):/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
            .write(toFile: passwd, atomically: true, encoding: .utf8)
        try "root:x:0:\n\(Self.account):x:\(owner):\nnogroup:x:65534:\n".write(toFile: group, atomically: true, encoding: .utf8)

        var launcher: [String] = []
        if let cgroups = host.cgroups {
            launcher += try cgroups.create(spec.id, limits: spec.limits)
        }
        launcher.append("--")
        if let prlimit = host.prlimit {
            launcher += [prlimit, "--nofile=\(spec.limits.openFiles):\(spec.limits.openFiles)", "--core=0:0"]
            // Processes per account: only meaningful when the account is the sandbox's alone.
            if uid != nil { launcher.append("--nproc=\(spec.limits.processes):\(spec.limits.processes)") }
            // Without a memory control group, a per-process cap is the best the kernel offers.
            if host.cgroups == nil { launcher.append("--data=\(spec.limits.memoryBytes):\(spec.limits.memoryBytes)") }
            launcher.append("--")
        }
        launcher.append(host.bwrap)
        launcher += bubblewrapArguments(spec, view: view, passwd: passwd, group: group, privileged: uid != nil)
        // As root, bubblewrap makes the namespaces and mounts (it can read every folder it binds,
        // e.g. a Python under /root), and the account changes inside, before the program runs.
        if let uid, let setpriv = host.setpriv {
            launcher += [setpriv, "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--"]
        }
        launcher += spec.command
        // The database socket is where clients look by default (`mariadb` in a terminal works).
        if spec.databaseSocket != nil, let inside = view.databaseSocket {
            environment["OPE_DB_SOCKET"] = inside
            if let database = DatabaseCredentials(environment: environment) { environment["DATABASE_URL"] = database.url(socket: inside) }
        }
        // The shell joins the control groups, then becomes the sandbox: nothing runs outside them.
        return Launch(executable: "/bin/sh", arguments: ["-c", Self.joinScript, "ope-sandbox"] + launcher, environment: environment, uid: uid)
    }

    /// Gives `folder` (files seeded into a warm workspace's folder) to sandbox `id`'s account.
    public func handOver(_ folder: String, to id: String) throws {
        guard let uid = uids.withLock({ $0.uid(of: id) }) else { return }
        try Self.chown(folder, to: uid)
    }

    /// Every process of sandbox `id` (its control group, its account, or its marker).
    public func processes(of id: String) -> [Int32] {
        if let cgroups = host?.cgroups { return cgroups.processes(of: id) }
        if let uid = uids.withLock({ $0.uid(of: id) }) { return Self.pids(uid: uid) }
        return WorkspaceProcesses.pids(of: id)
    }

    /// Sends `signal` to every process of sandbox `id`.
    public func signal(_ id: String, _ signal: Int32) {
        for pid in processes(of: id) { kill(pid, signal) }
    }

    /// What sandbox `id` ran into (memory kills, the process limit); zero without control groups.
    public func counters(of id: String) -> CgroupHierarchy.Counters {
        host?.cgroups?.counters(of: id) ?? .init()
    }

    /// Changes the limits of a running sandbox (a warm workspace handed to a module).
    public func apply(_ limits: WorkspaceLimits, to id: String) throws {
        try host?.cgroups?.apply(limits, to: id)
    }

    /// Ends every process of sandbox `id`, removes its control group and runtime folder and gives
    /// its account back. Returns how many processes were still there.
    @discardableResult
    public func release(_ id: String) -> Int {
        var killed = 0
        if let cgroups = host?.cgroups { killed += cgroups.remove(id) }
        if let uid = uids.withLock({ $0.give(back: id) }) {
            killed += Self.killAll(uid: uid)
            if let lock = claims.withLock({ $0.removeValue(forKey: uid) }) { close(lock) }
        }
        killed += WorkspaceProcesses.killAll(of: id)
        try? FileManager.default.removeItem(atPath: configuration.runtimeRoot + "/" + id)
        return killed
    }

    /// The server stops and every sandbox has been released: its control groups and runtime
    /// folder go too.
    public func shutDown() {
        host?.cgroups?.removeEmptyBase()
        try? FileManager.default.removeItem(atPath: configuration.runtimeRoot)
    }

    /// Sandboxes left by an earlier run of this server (it was killed): their processes end.
    public func removeLeftovers() -> [String] {
        let removed = host?.cgroups?.removeLeftovers() ?? []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: configuration.runtimeRoot)) ?? [] {
            try? FileManager.default.removeItem(atPath: configuration.runtimeRoot + "/" + name)
        }
        return removed
    }

    // MARK: Helpers

    /// Locks `uid` for this server machine-wide (`/run/ope-accounts/<uid>.lock`); false if another
    /// server holds it.
    private func claim(_ uid: UInt32) -> Bool {
        let folder = "/run/ope-accounts"
        mkdir(folder, 0o700)
        let lock = open(folder + "/\(uid).lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { return false }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            close(lock)
            return false
        }
        claims.withLock { $0[uid] = lock }
        return true
    }

    /// The account's name and home inside every sandbox.
    public static let account = "team"
    public static let home = "/home/team"

    /// `sh -c` script: writes its own pid to each file before `--`, then execs the rest.
    static let joinScript = "while [ \"$1\" != \"--\" ]; do echo $$ > \"$1\" || exit 125; shift; done; shift; exec \"$@\""

    /// - Parameter privileged: bubblewrap runs as root (the account changes inside); otherwise it
    ///   runs as the server's user in a user namespace of its own, which may make no further ones.
    func bubblewrapArguments(_ spec: Spec, view: View, passwd: String, group: String, privileged: Bool) -> [String] {
        // Every namespace but the user one, which as root would leave no other account to change to.
        // No --new-session: Foundation then misses the sandbox's exit (it is the server's child). Its
        // standard input is /dev/null, and the server runs without a terminal in a class.
        var arguments = ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "workspace"]
        arguments += privileged ? ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"] : ["--unshare-user", "--disable-userns"]
        if !spec.limits.network { arguments.append("--unshare-net") }
        // The system, read-only; the merged-/usr links as the host has them.
        arguments += ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc", "--ro-bind", passwd, "/etc/passwd", "--ro-bind", group, "/etc/group"]
        for top in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: top) {
                arguments += ["--symlink", target, top]
            } else if FileManager.default.fileExists(atPath: top) {
                arguments += ["--ro-bind", top, top]
            }
        }
        arguments += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", "\(spec.limits.memoryBytes)", "--tmpfs", "/tmp"]
        // Folders bubblewrap makes on the way to a mount point are root's alone (0700) unless
        // made first, open to the sandbox's account.
        var made: Set<String> = ["/", "/tmp", "/proc", "/dev"]
        func bind(_ option: String, _ source: String, _ target: String) {
            var parent = (target as NSString).deletingLastPathComponent
            var missing: [String] = []
            while !made.contains(parent), !parent.hasPrefix("/usr/"), !parent.hasPrefix("/etc/"), parent != "/usr", parent != "/etc" {
                missing.append(parent)
                made.insert(parent)
                parent = (parent as NSString).deletingLastPathComponent
            }
            for folder in missing.reversed() { arguments += ["--perms", "0755", "--dir", folder] }
            arguments += [option, source, target]
        }
        for path in spec.readOnly where FileManager.default.fileExists(atPath: path) { bind("--ro-bind", path, path) }
        bind(spec.homeWritable ? "--bind" : "--ro-bind", spec.home, view.home)
        bind("--bind", view.runtimeOnHost, view.runtime)
        if let socket = spec.databaseSocket, let inside = view.databaseSocket {
            bind("--ro-bind", (socket as NSString).deletingLastPathComponent, (inside as NSString).deletingLastPathComponent)
        }
        arguments += ["--chdir", view.home, "--"]
        return arguments
    }

    /// Hands the team's folder to the sandbox's account (it may have had another id last time).
    static func chown(_ folder: String, to uid: UInt32) throws {
        // A session that took a warm workspace reaches its folder through a link: walk the folder itself.
        let folder = URL(fileURLWithPath: folder).resolvingSymlinksInPath().path
        guard Foundation.chown(folder, uid, uid) == 0 else {
            throw WorkspaceError("cannot hand \(folder) to the workspace's account: \(String(cString: strerror(errno)))")
        }
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return }
        for case let path as String in walker { lchown(folder + "/" + path, uid, uid) }
    }

    /// Live processes whose real user is `uid` (zombies are dead already; their parent reaps them).
    static func pids(uid: UInt32) -> [Int32] {
        let prefix = "Uid:\t\(uid)\t"
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
            guard let pid = Int32(entry), let status = ProcFile.text("/proc/\(entry)/status") else { return nil }
            let lines = status.split(whereSeparator: \.isNewline)
            return lines.contains { $0.hasPrefix(prefix) } && !lines.contains { $0.hasPrefix("State:\tZ") } ? pid : nil
        }
    }

    @discardableResult
    static func killAll(uid: UInt32) -> Int {
        WorkspaceProcesses.killUntilGone { pids(uid: uid) }
    }

    /// Ids in `range` that real accounts use, from `/etc/passwd`.
    static func accountsIn(_ range: ClosedRange<UInt32>) -> Set<UInt32> {
        let text = (try? String(contentsOfFile: "/etc/passwd", encoding: .utf8)) ?? ""
        return Set(
            text.split(whereSeparator: \.isNewline).compactMap { line in
                let fields = line.split(separator: ":", omittingEmptySubsequences: false)
                return fields.count > 2 ? UInt32(fields[2]).flatMap { range.contains($0) ? $0 : nil } : nil
            })
    }
}
