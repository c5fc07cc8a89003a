import OPECore

/// A small, fast, reproducible random number generator (SplitMix64).
///
/// Plans and experiments draw from one of these so that a seed replays the same choices: the
/// same prompt variants, the same role shuffles, the same condition order.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Hashable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    /// A seed derived from text (a session id), stable across runs and machines (FNV-1a).
    public static func seed(_ text: String) -> UInt64 { StableHash.fnv1a(text) }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
