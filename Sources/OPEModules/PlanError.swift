/// Everything wrong with a bot plan, each problem with its file and line. Plans are checked as a
/// whole so an author sees every problem at once instead of one per attempt.
public struct PlanError: Error, Sendable, Hashable, CustomStringConvertible {
    public var problems: [ModuleError]

    public init(_ problems: [ModuleError]) {
        self.problems = problems
    }

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
