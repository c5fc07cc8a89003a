/// A failure the CLI reports in one line (ArgumentParser prints it as `Error: ...` and exits 1).
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
