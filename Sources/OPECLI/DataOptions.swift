import ArgumentParser

/// Options shared by every command that works on a data dir.
public struct DataOptions: ParsableArguments, Sendable {
    /// Folder holding OPE's database and workspaces.
    @Option(name: .long, help: "Folder holding OPE's database and workspaces.")
    public var data: String = ".ope-data"

    /// The defaults; ArgumentParser fills the options in when it parses.
    public init() {}
}
