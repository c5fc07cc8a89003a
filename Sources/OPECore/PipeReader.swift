import Foundation
import Synchronization

/// Reads a pipe to its end on a thread of its own, with plain blocking reads, keeping the last
/// `limit` bytes.
///
/// A Dispatch readability handler is not safe here: a pipe closed while its source is still being
/// cancelled crashes the whole process in `_dispatch_event_loop_drain`. The thread holds the file
/// handle until the end of the pipe, so nothing closes it under the read. If a grandchild keeps
/// the pipe open after the program exited, the thread waits for it; callers take what has come
/// so far and do not wait for the end (``waitForEnd(upTo:)`` is bounded).
public final class PipeReader: Sendable {
    private let state: Mutex<(data: Data, ended: Bool)>
    private let limit: Int

    /// Starts reading `handle` now.
    public init(_ handle: FileHandle, limit: Int = 64 * 1024) {
        self.limit = limit
        state = Mutex((Data(), false))
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                state.withLock { state in
                    state.data.append(chunk)
                    if state.data.count > limit { state.data = state.data.suffix(limit) }
                }
            }
            state.withLock { $0.ended = true }
        }
    }

    /// What has been read so far.
    public var data: Data { state.withLock { $0.data } }
    public var text: String { String(decoding: data, as: UTF8.self) }
    /// Whether the pipe reached its end (every writer closed it).
    public var ended: Bool { state.withLock { $0.ended } }

    /// Waits until the pipe's end or for `bound` at most, whichever comes first.
    public func waitForEnd(upTo bound: Duration) async {
        let deadline = ContinuousClock.now + bound
        while !ended, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}
