import Foundation

extension Process {
    /// Starts the process with no signals blocked.
    ///
    /// Foundation spawns the child on the calling thread, and the child inherits that thread's
    /// signal mask. Swift concurrency and NIO threads block most signals, so a child started from
    /// them would never receive SIGTERM (no graceful stop) or SIGINT (JupyterLab interrupts
    /// kernels with it). Unblocking on this thread just around the spawn gives the child a clean
    /// mask; signals the server handles are ignored or read elsewhere, so nothing is lost here.
    public func runWithSignalsUnblocked() throws {
        var empty = sigset_t()
        var previous = sigset_t()
        sigemptyset(&empty)
        pthread_sigmask(SIG_SETMASK, &empty, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        try run()
    }
}
