// Payloads of the events about the lobby and the modules.

/// `lobby.joined`, `lobby.left`, `lobby.gave_up`: whose queue (the actor is the participant).
public struct LobbyPayload: EventPayload {
    public static let eventTypes: [EventType] = [.lobbyJoined, .lobbyLeft, .lobbyGaveUp]
    public var module: String

    public init(module: String) { self.module = module }
}

/// `module.matching_changed`: a module's matching rules after the change.
public struct MatchingChangedPayload: EventPayload {
    public static let eventTypes: [EventType] = [.moduleMatchingChanged]
    public var module: String
    public var open: Bool
    public var mode: MatchingPolicy.Mode

    public init(module: String, open: Bool, mode: MatchingPolicy.Mode) {
        self.module = module
        self.open = open
        self.mode = mode
    }
}

/// `module.groups_uploaded`: a module's fixed groups, members by group name.
public struct GroupsUploadedPayload: EventPayload {
    public static let eventTypes: [EventType] = [.moduleGroupsUploaded]
    public var module: String
    public var groups: [String: [String]]

    public init(module: String, groups: [String: [String]]) {
        self.module = module
        self.groups = groups
    }
}

/// `modules.synced`: what a sync of the module repositories found.
public struct ModulesSyncedPayload: EventPayload {
    public static let eventTypes: [EventType] = [.modulesSynced]

    /// One repository and the commit it is at.
    public struct Repository: Codable, Sendable, Hashable {
        public var name: String
        /// Nil (written as `null`) when the repository could not be read.
        public var commit: String?

        public init(name: String, commit: String?) {
            self.name = name
            self.commit = commit
        }

        // Written by hand for `commit`: the log has always held an explicit null there.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(commit, forKey: .commit)
        }
    }

    /// The ids of the modules loaded.
    public var modules: [String]
    /// How many module files had problems.
    public var problems: Int
    public var repositories: [Repository]

    public init(modules: [String], problems: Int, repositories: [Repository]) {
        self.modules = modules
        self.problems = problems
        self.repositories = repositories
    }
}
