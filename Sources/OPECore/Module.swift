/// One exercise: ordered tasks worked on by a group in a shared workspace, guided by a bot plan.
///
/// Modules are read from `module.yaml` files by `OPEModules.ModuleParser`; see `docs/modules.md`.
public struct Module: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    public var title: String
    /// Markdown shown in the list of exercises.
    public var description: String?
    public var kit: LanguageKit
    public var group: GroupSize
    /// Team roles in rotation order, e.g. driver, navigator, researcher.
    public var roles: [String]
    /// The role a participant gets when joining a running session.
    public var lateJoinRole: String
    /// Whether the workspace keeps everyone but the driver (the first role) from editing and running code.
    public var roleEnforcement = RoleEnforcement.off
    public var matching: MatchingPolicy
    /// Rotate roles on this timer, if set.
    public var rotationInterval: Duration?
    /// Bot plan file or Bazaar plan folder, relative to ``folder``.
    public var plan: String?
    /// The plan read from ``plan`` and checked against this module (set by `ModuleLoader`).
    public var botPlan: BotPlan?
    public var externalBot: ExternalBot?
    public var experiment: Experiment?
    public var tasks: [ModuleTask]
    /// What the module's workspaces may use, over the kit's defaults and the server's (`limits:`).
    public var limits = WorkspaceLimits.Changes()
    /// Absolute path of the module folder the module was read from.
    public var folder: String

    public init(
        id: String, title: String, description: String? = nil, kit: LanguageKit, group: GroupSize = .default,
        roles: [String] = Module.defaultRoles, lateJoinRole: String? = nil, matching: MatchingPolicy = MatchingPolicy(),
        rotationInterval: Duration? = nil, plan: String? = nil, tasks: [ModuleTask], folder: String
    ) {
        self.id = id
        self.title = title
        self.description = description
        self.kit = kit
        self.group = group
        self.roles = roles
        self.lateJoinRole = lateJoinRole ?? roles.last ?? "researcher"
        self.matching = matching
        self.rotationInterval = rotationInterval
        self.plan = plan
        self.tasks = tasks
        self.folder = folder
    }

    public static let defaultRoles = ["driver", "navigator", "researcher"]

    public func task(id: String) -> ModuleTask? { tasks.first { $0.id == id } }

    /// The limits its workspaces run with: the kit's defaults, then the server's changes, then the module's.
    public func workspaceLimits(server: WorkspaceLimits.Changes = .init()) -> WorkspaceLimits {
        WorkspaceLimits.defaults(for: kit).applying(server).applying(limits)
    }

    /// Whether any of its sessions can have a plan bot: its own plan, or an experiment condition's.
    public var hasBotPlan: Bool { botPlan != nil || (experiment?.conditions.contains { $0.plan != nil } ?? false) }

    /// The bot a session in `condition` gets: the condition's plan and external bot, else the module's.
    public func bot(condition name: String?) -> (plan: BotPlan?, externalBot: ExternalBot?) {
        guard let name, let condition = experiment?.conditions.first(where: { $0.name == name }) else { return (botPlan, externalBot) }
        return (condition.plan ?? botPlan, condition.noExternalBot ? nil : condition.externalBot ?? externalBot)
    }
}

/// The tool set a module's workspace provides.
/// What the team roles allow in the shared workspace (`roles: {enforce: ...}` in `module.yaml`).
public enum RoleEnforcement: String, Sendable, Hashable, Codable, CaseIterable {
    /// Everyone may edit and run code; the roles are a convention the team keeps.
    case off
    /// Only the driver's edits reach the shared documents, and only the driver runs code; the
    /// others watch live and are told why they cannot type.
    case driverEdits = "driver-edits"
}

public enum LanguageKit: String, Sendable, Hashable, Codable, CaseIterable {
    case python
    case sql
    case spark
}

/// How many participants a group has: it forms at `target`, may form smaller (down to `min`)
/// after the settle time, and takes late joiners up to `max`.
public struct GroupSize: Sendable, Hashable, Codable {
    public var min: Int
    public var target: Int
    public var max: Int

    public init(min: Int, target: Int, max: Int) {
        self.min = min
        self.target = target
        self.max = max
    }

    public static let `default` = GroupSize(min: 1, target: 2, max: 3)
    /// The largest group any module may ask for.
    public static let limit = 8
}

/// How participants get into groups for a module.
public struct MatchingPolicy: Sendable, Hashable, Codable {
    public enum Mode: String, Sendable, Hashable, Codable, CaseIterable {
        /// Participants queue in the lobby and are matched first-in-first-out.
        case dynamic
        /// An instructor uploads the groups.
        case `static`
    }

    public var mode: Mode
    /// Whether participants may join right now.
    public var open: Bool
    /// How long the lobby waits before forming a group smaller than the target.
    public var settle: Duration
    /// After this long in the queue a participant is told and leaves it.
    public var giveUp: Duration
    /// A session younger than this and below the maximum size takes late joiners.
    public var lateJoin: Duration

    public init(mode: Mode = .dynamic, open: Bool = true, settle: Duration = .seconds(5), giveUp: Duration = .seconds(300), lateJoin: Duration = .seconds(600))
    {
        self.mode = mode
        self.open = open
        self.settle = settle
        self.giveUp = giveUp
        self.lateJoin = lateJoin
    }
}

/// One step of a module: what to do, the files to start from and the tests that check it.
public struct ModuleTask: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    public var title: String
    /// Markdown instructions.
    public var instructions: String
    /// Files copied into the group's workspace, relative to the module folder.
    public var starterFiles: [String]
    public var test: TaskTest?
    public var timeLimit: Duration?

    public init(id: String, title: String, instructions: String, starterFiles: [String] = [], test: TaskTest? = nil, timeLimit: Duration? = nil) {
        self.id = id
        self.title = title
        self.instructions = instructions
        self.starterFiles = starterFiles
        self.test = test
        self.timeLimit = timeLimit
    }
}

/// How a task is checked: a command run in the workspace folder with the hidden test files copied in.
public struct TaskTest: Sendable, Hashable, Codable {
    /// Shell command; exit status 0 means passed.
    public var command: String
    /// Files copied into the workspace only while the tests run, relative to the module folder.
    public var files: [String]
    public var timeout: Duration

    public init(command: String, files: [String] = [], timeout: Duration = .seconds(60)) {
        self.command = command
        self.files = files
        self.timeout = timeout
    }
}
