import ArgumentParser

/// The `ope-bench` command: OPE's benchmarks, load test and test tools, built apart from the product binary `ope`.
@main
struct OPEBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ope-bench",
        abstract: "Measure OPE on this machine and drive it in tests: benchmarks, the load test, debug tools.",
        subcommands: [
            EventsBench.self, ProxyBench.self, ActivityBench.self, LoadTestCommand.self, ClusterStreamBench.self, OperatorBench.self, DebugCommand.self,
            LoadGenerator.self, TableCommand.self,
        ]
    )
}
