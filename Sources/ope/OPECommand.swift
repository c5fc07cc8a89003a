import ArgumentParser

/// The `ope` command: the server and its administration (benchmarks and test tools are `ope-bench`).
@main
struct OPECommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ope",
        abstract: "OPE: group programming exercises in a shared JupyterLab, guided by a bot.",
        subcommands: [
            ServeCommand.self, UserCommand.self, ModuleCommand.self, PlanCommand.self, ExportCommand.self, KubeCommand.self, OperatorCommand.self,
            GradeCommand.self,
        ]
    )
}
