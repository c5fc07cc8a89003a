import ArgumentParser
import Foundation
import OPECLI
import OPECore
import OPEModules

struct ModuleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "module", abstract: "Check and fetch exercise modules.", subcommands: [Validate.self, Sync.self]
    )

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check module files and report every problem as FILE:LINE:COLUMN: FIELD: MESSAGE.",
            discussion: "Each PATH is a module.yaml, a module folder or a folder of modules. Exits 1 if anything is wrong."
        )
        @Argument(help: "Paths to check.") var paths: [String]

        func run() async throws {
            let report = ModuleLoader().load(paths: paths)
            for module in report.modules {
                print("ok \(module.id): \(module.title) (\(module.kit), \(module.tasks.count) task\(module.tasks.count == 1 ? "" : "s")) in \(module.folder)")
            }
            for error in report.errors { printError(error.description) }
            if !report.errors.isEmpty {
                throw CLIError("\(report.errors.count) problem\(report.errors.count == 1 ? "" : "s") found")
            }
        }
    }

    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Clone or update the module repositories listed in the config file, then validate them.")
        @Option(help: "Config file listing the repositories.") var config: String = "ope.yaml"
        @OptionGroup var data: DataOptions

        func run() async throws {
            let repositories: RepositoryConfig
            do {
                repositories = try RepositoryConfig.load(file: config)
            } catch {
                throw CLIError(error.description)
            }
            guard !repositories.repositories.isEmpty else { throw CLIError("\(config) lists no repositories") }
            let service = RepositorySyncService(root: URL(fileURLWithPath: data.data).standardizedFileURL.path + "/repositories")
            var failures = 0
            var report = ModuleLoadReport()
            for repository in repositories.repositories {
                let outcome = await service.sync(repository)
                if let commit = outcome.commit {
                    print("synced \(repository.name) at \(commit)")
                    report.merge(ModuleLoader().load(path: service.modulesFolder(of: repository)))
                } else {
                    failures += 1
                    printError("error: \(outcome.error ?? "unknown error")")
                }
            }
            for module in report.modules { print("ok \(module.id): \(module.title)") }
            for error in report.errors { printError(error.description) }
            if failures > 0 || !report.errors.isEmpty {
                throw CLIError("\(failures) repositor\(failures == 1 ? "y" : "ies") failed, \(report.errors.count) module problem(s)")
            }
        }
    }
}
