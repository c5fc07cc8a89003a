import Foundation
import OPEStore
import Synchronization

/// What an edge remembers of the directory's positive answers for one kind of credential (a
/// sign-in cookie's or an API token's), by the hash of the secret: the answers to the two
/// questions every request asks, so that most requests need no round trip to the directory core.
///
/// It decides nothing about time itself: every call says what time it is (the ``RemoteAccounts``
/// clock), so tests move time on instead of waiting. A revocation drops what it covers, and
/// every drop moves the cache to a new generation: an answer fetched before the drop is not
/// stored after it (it may be the very answer the revocation made wrong).
final class CredentialCache<Value: Sendable>: Sendable {
    /// One remembered answer: the value, whose it is, and when the directory gave it.
    struct Entry: Sendable {
        var value: Value
        var username: String
        var fetched: Date
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var generation: UInt64 = 0
    }

    private let state = Mutex(State())
    /// Which kind of credential the hashes are of (what a revocation must cover to drop one).
    let kind: Credential.Kind
    /// How many answers it holds at most; past that, the ones too old to use are dropped, and if
    /// that is not enough, all of them (a cache of a few seconds refills in a few seconds).
    let capacity: Int

    init(kind: Credential.Kind, capacity: Int) {
        self.kind = kind
        self.capacity = capacity
    }

    /// The answer remembered for `hash`, and the generation to hand back to ``store(_:username:for:fetched:generation:oldest:)``.
    func lookup(_ hash: String) -> (entry: Entry?, generation: UInt64) {
        state.withLock { ($0.entries[hash], $0.generation) }
    }

    /// Remembers an answer fetched at `fetched`, unless a drop happened since `generation` was read.
    /// Past ``capacity``, answers fetched before `oldest` go first.
    func store(_ value: Value, username: String, for hash: String, fetched: Date, generation: UInt64, oldest: Date) {
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.entries[hash] == nil, state.entries.count >= capacity {
                state.entries = state.entries.filter { $0.value.fetched >= oldest }
                if state.entries.count >= capacity { state.entries.removeAll() }
            }
            state.entries[hash] = Entry(value: value, username: username, fetched: fetched)
        }
    }

    /// Forgets the answer for `hash` (the directory now says there is none).
    func forget(_ hash: String) {
        state.withLock { state in
            state.entries[hash] = nil
            state.generation &+= 1
        }
    }

    /// Drops every answer `revocation` covers.
    func drop(_ revocation: Revocation) {
        state.withLock { state in
            state.entries = state.entries.filter { hash, entry in
                !revocation.covers(Credential(kind: kind, username: entry.username, hash: hash))
            }
            state.generation &+= 1
        }
    }

    /// Drops everything (revocations may have been missed).
    func clear() {
        state.withLock { state in
            state.entries.removeAll()
            state.generation &+= 1
        }
    }
}
