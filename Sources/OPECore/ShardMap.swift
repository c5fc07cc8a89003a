/// Where things live in a cluster of runtime cores, worked out from names alone, so that any edge
/// routes any request without asking anyone.
///
/// - A module's lobby lives on its *home* core: a stable hash of the module id, modulo the number
///   of cores. Stable means the same in every process and release (Swift's `hashValue` is seeded
///   per process, so it is not used).
/// - A team lives where its lobby formed it, and its session id says so: `s<core>-<random>`
///   (`s1-k3m9x2p7qa` lives on core 1). The all-in-one server's ids (`s-…`) name no core.
public struct ShardMap: Sendable, Hashable, CustomStringConvertible {
    /// How many cores there are; at least 1.
    public let count: Int

    public init(count: Int) {
        precondition(count >= 1, "a cluster has at least one core")
        self.count = count
    }

    /// The core a module's lobby (and so its teams) lives on.
    public func home(ofModule id: String) -> Int {
        Int(StableHash.fnv1a(id) % UInt64(count))
    }

    /// The core a session lives on, read from its id; nil for an id that names no core (or one
    /// beyond this map's cores).
    public func shard(ofSession id: String) -> Int? {
        guard let core = Self.core(inSessionID: id), core < count else { return nil }
        return core
    }

    /// The core a workspace id names: a session's (`s<core>-…`) or a warm pool's (`p<core>-…`).
    public func shard(ofWorkspace id: String) -> Int? {
        guard id.hasPrefix("s") || id.hasPrefix("p"), let core = Self.core(inID: id), core < count else { return nil }
        return core
    }

    /// The core named in a session id (`s<core>-…`), whatever the cluster's size.
    public static func core(inSessionID id: String) -> Int? {
        id.hasPrefix("s") ? core(inID: id) : nil
    }

    /// The digits between an id's first letter and its first dash.
    static func core(inID id: String) -> Int? {
        guard let dash = id.firstIndex(of: "-") else { return nil }
        let digits = id[id.index(after: id.startIndex)..<dash]
        guard !digits.isEmpty, digits.count <= 4, digits.allSatisfy(\.isASCII), let core = Int(digits) else { return nil }
        return core
    }

    /// How a session id made on `core` begins.
    public static func sessionPrefix(core: Int?) -> String {
        core.map { "s\($0)-" } ?? "s-"
    }

    /// How the id of a warm pool's workspace started on `core` begins (its URL path names it
    /// before it has a session, so the id must say where it runs).
    public static func poolPrefix(core: Int?) -> String {
        core.map { "p\($0)-" } ?? "p-"
    }

    public var description: String { "\(count) core\(count == 1 ? "" : "s")" }
}

/// One core's place in a cluster: its index and the map it is part of.
public struct ShardPlace: Sendable, Hashable, CustomStringConvertible {
    public let index: Int
    public let map: ShardMap

    public init(index: Int, of map: ShardMap) {
        precondition((0..<map.count).contains(index), "core \(index) is not one of \(map)")
        self.index = index
        self.map = map
    }

    /// Whether this core is the home of `module`'s lobby.
    public func owns(module: String) -> Bool { map.home(ofModule: module) == index }

    public var description: String { "core \(index) of \(map.count)" }
}
