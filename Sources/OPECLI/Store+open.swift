import OPEStore

extension Store {
    /// Opens the data dir for a CLI command, turning storage problems into a one-line error.
    public static func open(_ options: DataOptions) throws -> Store {
        do {
            return try Store(dataDirectory: options.data)
        } catch {
            throw CLIError("\(error)")
        }
    }
}
