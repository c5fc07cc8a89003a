/// The unprivileged accounts workspaces run as: one user id per running workspace (and per task
/// test run), taken from a range no real account uses and given back when it stops.
///
/// Pure bookkeeping within one server; ``Sandbox`` claims each id machine-wide with a file lock
/// (so two servers never share one) and kills what an earlier holder left before using it.
public struct UIDPool: Sendable, Hashable {
    public let range: ClosedRange<UInt32>
    /// Ids of real accounts (from `/etc/passwd`) inside the range: never handed out.
    public let reserved: Set<UInt32>
    private(set) var taken: [UInt32: String] = [:]

    public init(range: ClosedRange<UInt32>, reserved: Set<UInt32> = []) {
        self.range = range
        self.reserved = reserved
    }

    /// The lowest free id for `owner` (a workspace or test run id); the same id if it has one.
    /// `claim` is asked before an id is handed out and may refuse it (another server on the
    /// machine holds it).
    public mutating func take(for owner: String, claim: (UInt32) -> Bool = { _ in true }) -> UInt32? {
        if let held = taken.first(where: { $0.value == owner })?.key { return held }
        for uid in range where taken[uid] == nil && !reserved.contains(uid) && claim(uid) {
            taken[uid] = owner
            return uid
        }
        return nil
    }

    /// Gives `owner`'s id back; returns it (nil if it held none).
    @discardableResult
    public mutating func give(back owner: String) -> UInt32? {
        guard let uid = taken.first(where: { $0.value == owner })?.key else { return nil }
        taken[uid] = nil
        return uid
    }

    /// The id `owner` holds, if any.
    public func uid(of owner: String) -> UInt32? { taken.first { $0.value == owner }?.key }

    public var inUse: Int { taken.count }

    /// Default range: high above login accounts (1000–60000), systemd's dynamic users
    /// (61184–65519) and the usual container sub-id ranges (100000 up in steps of 65536).
    public static let defaultRange: ClosedRange<UInt32> = 1_990_000_000...1_990_099_999
}
