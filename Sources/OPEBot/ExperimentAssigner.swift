import OPECore

/// Seeded, balanced randomisation of sessions to experiment conditions (permuted blocks).
///
/// Sessions are numbered in the order they form; each block of `2 × conditions` sessions holds
/// every condition exactly twice, in an order shuffled by the experiment's seed and the block
/// number. So the groups never differ by more than two sessions, the next condition cannot be
/// guessed from the last ones, and the same seed always gives the same sequence.
public enum ExperimentAssigner {
    public static let repeatsPerBlock = 2

    /// The condition of the `index`-th session (0-based) of the module.
    public static func condition(index: Int, of experiment: Experiment) -> String {
        let names = experiment.conditions.map(\.name)
        precondition(!names.isEmpty, "an experiment needs conditions")
        let size = names.count * repeatsPerBlock
        let block = index / size
        var generator = SeededGenerator(seed: experiment.seed ^ (UInt64(block) &* 0x9E37_79B9_7F4A_7C15))
        let order = (0..<size).map { names[$0 % names.count] }.shuffled(using: &generator)
        return order[index % size]
    }
}
