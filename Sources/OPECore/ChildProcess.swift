import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A long-running program this process started (a workspace's JupyterLab, MariaDB): started with
/// ``Spawn`` rather than Foundation's `Process` (whose `run()` can crash a process holding many
/// descriptors; see ``Spawn``), leading a process group of its own, its end noticed on a thread of
/// its own.
public final class ChildProcess: Sendable {
    private struct State {
        var status: Int32?
        var waiters: [CheckedContinuation<Int32, Never>] = []
        var onExit: (@Sendable (_ pid: pid_t, _ status: Int32) -> Void)?
    }

    /// Its process id, which is also its process group's.
    public let pid: pid_t
    /// The program's path and arguments, for messages.
    public let executable: String
    public let arguments: [String]
    private let state = Mutex(State())

    /// Starts `executable` (a path) with `arguments`. `environment` is its whole environment
    /// (this process's own when nil); standard input is /dev/null unless `input` is given, and
    /// output and error go to the given descriptors (which the caller keeps and closes), or to
    /// /dev/null. `onExit` is called once, on the waiting thread, with its pid and exit status (or
    /// the number of the signal that ended it), before anyone waiting for its end resumes.
    public init(
        _ executable: String, arguments: [String], environment: [String: String]? = nil, directory: String? = nil, input: Int32? = nil,
        output: Int32? = nil, error: Int32? = nil, onExit: (@Sendable (_ pid: pid_t, _ status: Int32) -> Void)? = nil
    ) throws {
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard null >= 0 else { throw CommandError("cannot open /dev/null: errno \(errno)") }
        defer { close(null) }
        self.executable = executable
        self.arguments = arguments
        pid = try Spawn.start(
            executable, arguments: arguments, environment: environment ?? ProcessInfo.processInfo.environment, directory: directory,
            input: input ?? null, output: output ?? null, error: error ?? null)
        state.withLock { $0.onExit = onExit }
        let thread = Thread { [self, pid] in
            var status: Int32 = 0
            var waited: pid_t
            repeat { waited = waitpid(pid, &status, 0) } while waited == -1 && errno == EINTR
            // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift does not import.
            let signal = status & 0x7f
            self.exited(waited == pid ? (signal == 0 ? (status >> 8) & 0xff : signal) : -1)
        }
        thread.name = "ope.child-wait"
        thread.start()
    }

    private func exited(_ status: Int32) {
        let (waiters, handler) = state.withLock { state in
            state.status = status
            defer {
                state.waiters = []
                state.onExit = nil
            }
            return (state.waiters, state.onExit)
        }
        // The report first: whoever waited for the end finds it made.
        handler?(pid, status)
        for waiter in waiters { waiter.resume(returning: status) }
    }

    /// Whether it has not ended yet.
    public var isRunning: Bool { state.withLock { $0.status == nil } }

    /// Its exit status (or the number of the signal that ended it) once it has ended.
    public var exitStatus: Int32? { state.withLock { $0.status } }

    /// Waits for it to end; returns its exit status.
    public func waitForExit() async -> Int32 {
        await withCheckedContinuation { continuation in
            let status: Int32? = state.withLock { state in
                if state.status == nil { state.waiters.append(continuation) }
                return state.status
            }
            if let status { continuation.resume(returning: status) }
        }
    }

    /// Waits up to `bound` for it to end; returns whether it did.
    public func waitForExit(within bound: Duration) async -> Bool {
        let deadline = ContinuousClock.now + bound
        while isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return !isRunning
    }

    /// Blocks the calling thread until it ends or `bound` passes, for code that cannot await (a
    /// benchmark's clean-up); returns whether it ended.
    @discardableResult
    public func blockUntilExit(within bound: Duration) -> Bool {
        let deadline = ContinuousClock.now + bound
        while isRunning, ContinuousClock.now < deadline { usleep(10_000) }
        return !isRunning
    }

    /// Sends `signal` to it alone, unless it has ended (its pid may be someone else's by then).
    public func signal(_ signal: Int32) {
        state.withLock { if $0.status == nil { kill(pid, signal) } }
    }

    /// Ends its process group: SIGTERM, then, after `grace`, SIGKILL to whatever of the group is
    /// left, the child or what it started (a kernel that ignored SIGTERM). `alongside` is called
    /// with the SIGTERM, for processes the group does not hold (a sandbox's other sessions).
    /// Nothing is sent if it had ended before: its group may be gone and its id someone else's.
    /// (While any member lives, the group's id cannot be given to another process.)
    public func terminateGroup(grace: Duration, alongside: () -> Void = {}) async {
        let signalled = state.withLock { state in
            if state.status == nil { kill(-pid, SIGTERM) }
            return state.status == nil
        }
        guard signalled else { return }
        alongside()
        _ = await waitForExit(within: grace)
        kill(-pid, SIGKILL)
    }
}
