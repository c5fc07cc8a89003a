import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Reads what a child process writes into a pipe, on a thread of its own, into memory (the last
/// `limit` bytes).
///
/// Why not `FileHandle.readabilityHandler`: on Linux it installs a libdispatch read source on the
/// descriptor, and tearing that source down races the descriptor's close. Under load (tests
/// spawning many programs while servers open sockets) that ended in crashes in libdispatch, and
/// in NIO finding a socket it had just opened closed under it (EBADF from getsockname): a
/// descriptor number closed twice. Here one thread owns its own duplicate of the read end and is
/// the only one ever to close it, exactly once, when the pipe ends or the reader is abandoned.
public final class PipeReader: Sendable {
    private struct State {
        var data = Data()
        var done = false
        /// After this, the thread stops at its next quiet moment (a grandchild that left the
        /// process group can hold the pipe open for ever).
        var abandonAt: ContinuousClock.Instant?
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    let limit: Int

    /// Starts reading from a duplicate of `descriptor`; the caller keeps (and closes) its own.
    public init(duplicating descriptor: Int32, limit: Int = 64 * 1024) throws {
        self.limit = limit
        let own = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
        guard own >= 0 else { throw CommandError("cannot duplicate a pipe's descriptor: errno \(errno)") }
        let thread = Thread { [self] in self.read(own) }
        thread.name = "ope.pipe-reader"
        thread.start()
    }

    private func read(_ descriptor: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        while true {
            let ready = poll(&poller, 1, 100)
            if ready < 0, errno == EINTR { continue }
            if ready == 0 {
                // Quiet: stop if the program is over and the time to drain has passed.
                let abandon = state.withLock { $0.abandonAt.map { ContinuousClock.now >= $0 } ?? false }
                if abandon { break }
                continue
            }
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR || errno == EAGAIN { continue }
            guard count > 0 else { break }  // end of the pipe (or an error: nothing more to read)
            state.withLock { state in
                state.data.append(contentsOf: buffer[0..<count])
                if state.data.count > limit { state.data = state.data.suffix(limit) }
            }
        }
        close(descriptor)
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.done = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// What has been read so far (the last `limit` bytes).
    public var data: Data { state.withLock { $0.data } }

    /// Stops reading at the next quiet moment (no data for 100 ms) even if the pipe stays open.
    public func abandon() {
        state.withLock { $0.abandonAt = $0.abandonAt ?? ContinuousClock.now }
    }

    /// What was read, once the pipe ended or `grace` has passed with nothing more coming.
    public func finish(grace: Duration = .milliseconds(500)) async -> Data {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.done { return true }
                state.abandonAt = ContinuousClock.now + grace
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
        return state.withLock { $0.data }
    }
}
