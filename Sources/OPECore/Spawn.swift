import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Starts a program with `posix_spawn`: every program the platform runs (``ChildProcess``, and
/// through it ``CommandRunner``'s task tests, bot runs and git).
///
/// Why not Foundation's `Process`: on Linux its `run()` lists `/proc/self/fd` to close every
/// other descriptor in the child, and reads each entry's whole 256-byte name field past the end
/// of glibc's directory buffer (swift-corelibs-foundation #5472, unfixed in this toolchain). With
/// enough descriptors open (a server with thousands of sockets; a test process running many
/// servers) the read runs into an unmapped page and the process crashes in `memcpy`. Here the
/// child closes them itself (`closefrom`, glibc 2.34), starts in a process group of its own,
/// with no signal blocked and every signal at its default.
public enum Spawn {
    /// Starts `executable` with `arguments` (its `argv[0]` is `executable`), `environment` as its
    /// whole environment, in `directory`, with the given descriptors as standard input, output
    /// and error. Returns its process id, which is also its process group's.
    public static func start(
        _ executable: String, arguments: [String], environment: [String: String], directory: String?, input: Int32, output: Int32,
        error: Int32
    ) throws -> pid_t {
        guard let closeFrom = closeFromAction, let changeDirectory = changeDirectoryAction else {
            throw CommandError("this C library cannot start programs safely (posix_spawn_file_actions_addclosefrom_np needs glibc 2.34)")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, error, 2)
        if let directory { _ = directory.withCString { changeDirectory(&actions, $0) } }
        _ = closeFrom(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Swift's and NIO's threads block most signals, and a child inherits the spawning thread's
        // mask: without this a program could never be stopped with SIGTERM or interrupted.
        var none = sigset_t()
        sigemptyset(&none)
        var handled = sigset_t()
        sigemptyset(&handled)
        for signal in Int32(1)..<32 where signal != SIGKILL && signal != SIGSTOP { sigaddset(&handled, signal) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &handled)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard status == 0 else { throw CommandError("cannot start \(executable): \(String(cString: strerror(status)))") }
        return pid
    }

    /// A pipe whose ends are not inherited by programs started later (close-on-exec): a child
    /// gets the end it is given as its standard input, output or error, and no other.
    public static func pipe() throws -> (read: Int32, write: Int32) {
        var ends: [Int32] = [0, 0]
        guard Glibc.pipe(&ends) == 0 else { throw CommandError("cannot make a pipe: errno \(errno)") }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        return (ends[0], ends[1])
    }

    /// An open, already unlinked temporary file holding `input`, for a program's standard input.
    public static func inputFile(_ input: String) throws -> Int32 {
        let path = NSTemporaryDirectory() + "ope-input-\(UUID().uuidString)"
        let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw CommandError("cannot write a program's input to \(path): errno \(errno)") }
        unlink(path)  // the open descriptor keeps it readable
        let bytes = Array(input.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                close(descriptor)
                throw CommandError("cannot write a program's input: errno \(errno)")
            }
            written += count
        }
        lseek(descriptor, 0, SEEK_SET)
        return descriptor
    }

    private typealias FileAction = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias PathAction = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    /// glibc's GNU extensions, which Swift's Glibc module does not declare.
    private static let closeFromAction: FileAction? = symbol("posix_spawn_file_actions_addclosefrom_np")
    private static let changeDirectoryAction: PathAction? = symbol("posix_spawn_file_actions_addchdir_np")

    private static func symbol<T>(_ name: String) -> T? {
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), name).map { unsafeBitCast($0, to: T.self) }
    }
}
