import Synchronization

/// Open connections per peer address, shared by every connection of one server.
final class ConnectionCounter: Sendable {
    let limit: Int
    private let counts = Mutex<[String: Int]>([:])

    init(limit: Int) {
        self.limit = limit
    }

    /// Counts a new connection from `address`, or says no when the address already holds `limit`.
    func open(_ address: String) -> Bool {
        counts.withLock { counts in
            let open = counts[address, default: 0]
            guard open < limit else { return false }
            counts[address] = open + 1
            return true
        }
    }

    /// A counted connection from `address` closed.
    func close(_ address: String) {
        counts.withLock { counts in
            let open = counts[address, default: 0] - 1
            counts[address] = open > 0 ? open : nil
        }
    }

    /// How many connections `address` holds now.
    func count(_ address: String) -> Int {
        counts.withLock { $0[address, default: 0] }
    }
}
