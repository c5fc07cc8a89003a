import NIOCore
import NIOPosix

/// Where password hashing runs: scrypt takes tens of milliseconds of CPU and 16 MiB per hash, and
/// on the Swift concurrency threads a burst of sign-ins (a class arriving at once) would keep every
/// other request waiting — `/healthz` went from 8 ms to over a second under 16 sign-ins. It runs on
/// a pool of its own, one thread per core, so requests that need no hashing are still answered
/// while sign-ins queue for a hashing thread.
enum PasswordWork {
    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: System.coreCount)
        pool.start()
        return pool
    }()

    /// Runs `work` on a hashing thread and returns its result.
    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(work)
    }
}
