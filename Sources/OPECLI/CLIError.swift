/// A failure the CLI reports in one line (ArgumentParser prints it as `Error: ...` and exits 1).
public struct CLIError: Error, CustomStringConvertible {
    /// The line printed after `Error: `.
    public var description: String

    /// A failure with this one-line description.
    public init(_ description: String) { self.description = description }
}
