import HTTPTypes
import Hummingbird
import OPECore
import OPEModules
import OPERuntime

/// The exercises on offer.
struct ModulesController {
    let runtime: any RuntimeAPI

    /// A module as the list of exercises shows it.
    struct Summary: Encodable, Sendable {
        var id: String
        var title: String
        var description: String?
        var kit: String
        var group: GroupSize
        var roles: [String]
        var mode: String
        var open: Bool
        var tasks: [TaskSummary]

        init(_ module: Module) {
            id = module.id
            title = module.title
            description = module.description
            kit = module.kit.rawValue
            group = module.group
            roles = module.roles
            mode = module.matching.mode.rawValue
            open = module.matching.open
            tasks = module.tasks.map(TaskSummary.init)
        }
    }

    struct TaskSummary: Encodable, Sendable {
        var id: String
        var title: String
        var timeLimitSeconds: Int?

        init(_ task: ModuleTask) {
            id = task.id
            title = task.title
            timeLimitSeconds = task.timeLimit.map(DurationText.seconds)
        }
    }

    /// One module with its instructions, for the session page.
    struct Detail: Encodable, Sendable {
        var summary: Summary
        var tasks: [TaskDetail]

        func encode(to encoder: any Encoder) throws {
            try summary.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(tasks, forKey: .tasks)
        }

        enum Key: String, CodingKey { case tasks }
    }

    struct TaskDetail: Encodable, Sendable {
        var id: String
        var title: String
        var instructions: String
        var starterFiles: [String]
        var hasTests: Bool
        var timeLimitSeconds: Int?
    }

    struct Problem: Encodable, Sendable {
        var file: String
        var line: Int?
        var column: Int?
        var field: String
        var message: String
        var text: String
    }

    struct SyncResponse: Encodable, Sendable {
        struct RepositoryStatus: Encodable, Sendable {
            var name: String
            var url: String
            var ref: String
            var commit: String?
            var error: String?
        }
        var modules: [Summary]
        var problems: [Problem]
        var repositories: [RepositoryStatus]
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("modules", use: list)
        group.get("modules/problems", use: problems)
        group.post("modules/sync", use: sync)
        group.get("modules/:id", use: detail)
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> JSONResponse<[Summary]> {
        _ = try context.requireIdentity()
        var summaries: [Summary] = []
        for module in try await runtime.modules() { summaries.append(try await summary(module)) }
        return JSONResponse(value: summaries)
    }

    /// The summary with the matching rules in force (an instructor may have changed the YAML's).
    func summary(_ module: Module) async throws -> Summary {
        var summary = Summary(module)
        if let matching = try await runtime.matching(of: module.id) {
            summary.mode = matching.mode.rawValue
            summary.open = matching.open
        }
        return summary
    }

    @Sendable func detail(request: Request, context: AppRequestContext) async throws -> JSONResponse<Detail> {
        _ = try context.requireIdentity()
        let id = try context.parameters.require("id")
        guard let module = try await runtime.module(id: id) else { throw APIError(.notFound, "no module '\(id)'") }
        let tasks = module.tasks.map {
            TaskDetail(
                id: $0.id, title: $0.title, instructions: $0.instructions, starterFiles: $0.starterFiles, hasTests: $0.test != nil,
                timeLimitSeconds: $0.timeLimit.map(DurationText.seconds)
            )
        }
        return JSONResponse(value: Detail(summary: try await summary(module), tasks: tasks))
    }

    @Sendable func problems(request: Request, context: AppRequestContext) async throws -> JSONResponse<[Problem]> {
        _ = try context.requireStaff()
        return JSONResponse(value: try await runtime.moduleProblems().map(Self.problem))
    }

    @Sendable func sync(request: Request, context: AppRequestContext) async throws -> JSONResponse<SyncResponse> {
        let identity = try context.requireStaff()
        let sync = try await runtime.syncModules(by: identity.user.username)
        let repositories = sync.repositories.map {
            SyncResponse.RepositoryStatus(name: $0.repository.name, url: $0.repository.url, ref: $0.repository.ref, commit: $0.commit, error: $0.error)
        }
        return JSONResponse(value: SyncResponse(modules: sync.modules.map(Summary.init), problems: sync.problems.map(Self.problem), repositories: repositories))
    }

    static func problem(_ error: ModuleError) -> Problem {
        Problem(file: error.file, line: error.line, column: error.column, field: error.field, message: error.message, text: error.description)
    }
}
