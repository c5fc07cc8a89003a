import Foundation

extension Process {
    /// Signals a child must be able to receive: stop requests and the ones kernels are interrupted
    /// and told things with.
    static let childSignals: [Int32] = [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM]

    /// Starts the process with stop and interrupt signals unblocked.
    ///
    /// Foundation spawns the child on the calling thread, and the child inherits that thread's
    /// signal mask. Swift concurrency and NIO threads block most signals, so a child started from
    /// them would never receive SIGTERM (no graceful stop) or SIGINT (JupyterLab interrupts
    /// kernels with it). Those few are unblocked on this thread just around the spawn. SIGCHLD
    /// stays blocked: delivered here, it would be lost to Foundation, which learns from it that
    /// its children exited (and a lost one means a `Process` that never ends).
    public func runWithSignalsUnblocked() throws {
        var unblock = sigset_t()
        var previous = sigset_t()
        sigemptyset(&unblock)
        for signal in Self.childSignals { sigaddset(&unblock, signal) }
        pthread_sigmask(SIG_UNBLOCK, &unblock, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        try run()
    }
}
