import ArgumentParser

/// The `ope` command: one binary for the server, its administration and its tools.
@main
struct OPECommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ope",
        abstract: "OPE: group programming exercises in a shared JupyterLab, guided by a bot.",
        subcommands: [ServeCommand.self, UserCommand.self, ModuleCommand.self, PlanCommand.self, ExportCommand.self, KubeCommand.self, BenchCommand.self, LoadTestCommand.self, DebugCommand.self]
    )
}
