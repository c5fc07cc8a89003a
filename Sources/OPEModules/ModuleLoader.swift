import Foundation
import OPECore

/// What loading one or more module folders produced: the valid modules and, separately, every
/// problem found. An invalid module is reported and skipped; the others still load.
public struct ModuleLoadReport: Sendable {
    public var modules: [Module] = []
    public var errors: [ModuleError] = []

    public init(modules: [Module] = [], errors: [ModuleError] = []) {
        self.modules = modules
        self.errors = errors
    }

    /// Adds `other`, reporting a module whose id is already taken instead of replacing it.
    public mutating func merge(_ other: ModuleLoadReport) {
        errors += other.errors
        for module in other.modules {
            if let existing = modules.first(where: { $0.id == module.id }) {
                errors.append(
                    ModuleError(
                        file: module.folder + "/module.yaml", field: "id",
                        message: "module id '\(module.id)' is already used by \(existing.folder)/module.yaml; this copy is skipped"
                    )
                )
            } else {
                modules.append(module)
            }
        }
    }
}

/// Finds and reads modules on disk.
public struct ModuleLoader: Sendable {
    public static let fileName = "module.yaml"
    private let parser: ModuleParser

    /// - Parameter hiddenTestsElsewhere: see ``ModuleParser/hiddenTestsElsewhere``.
    public init(hiddenTestsElsewhere: Bool = false) { parser = ModuleParser(hiddenTestsElsewhere: hiddenTestsElsewhere) }

    /// Loads `path`, which may be a `module.yaml` file, a module folder, or a folder whose
    /// sub-folders are modules.
    public func load(path: String) -> ModuleLoadReport {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return ModuleLoadReport(errors: [ModuleError(file: path, message: "no such file or folder")])
        }
        if !isDirectory.boolValue {
            guard URL(fileURLWithPath: path).lastPathComponent == Self.fileName else {
                return ModuleLoadReport(errors: [ModuleError(file: path, message: "expected a \(Self.fileName) file or a folder")])
            }
            return loadModule(folder: URL(fileURLWithPath: path).deletingLastPathComponent().path)
        }
        if FileManager.default.fileExists(atPath: path + "/" + Self.fileName) {
            return loadModule(folder: path)
        }
        let children: [String]
        do {
            children = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        } catch {
            return ModuleLoadReport(errors: [ModuleError(file: path, message: "cannot list the folder: \(error.localizedDescription)")])
        }
        var report = ModuleLoadReport()
        for child in children where !child.hasPrefix(".") {
            let folder = path + "/" + child
            if FileManager.default.fileExists(atPath: folder + "/" + Self.fileName) {
                report.merge(loadModule(folder: folder))
            }
        }
        return report
    }

    /// Loads several paths; module ids must be unique across all of them.
    public func load(paths: [String]) -> ModuleLoadReport {
        var report = ModuleLoadReport()
        for path in paths { report.merge(load(path: path)) }
        return report
    }

    private func loadModule(folder: String) -> ModuleLoadReport {
        do {
            return try withPlans(parser.parse(folder: folder))
        } catch {
            return ModuleLoadReport(errors: [error])
        }
    }

    /// Reads the module's bot plans (its own and each condition's) and checks them against it.
    private func withPlans(_ module: Module) -> ModuleLoadReport {
        var module = module
        var problems: [ModuleError] = []
        let loader = PlanLoader()
        func plan(_ path: String) -> BotPlan? {
            do throws(PlanError) {
                return try loader.bind(loader.load(path: module.folder + "/" + path), to: module)
            } catch {
                problems += error.problems
                return nil
            }
        }
        if let path = module.plan { module.botPlan = plan(path) }
        if var experiment = module.experiment {
            for index in experiment.conditions.indices {
                if let path = experiment.conditions[index].planPath { experiment.conditions[index].plan = plan(path) }
            }
            module.experiment = experiment
        }
        guard problems.isEmpty else { return ModuleLoadReport(errors: problems) }
        return ModuleLoadReport(modules: [module])
    }
}
