/// A bot outside OPE that a module attaches to its sessions: a webhook that receives the room's
/// events and answers with messages or commands, or an OpenAI-compatible chat-completions
/// endpoint playing a research-assistant persona. See `docs/bot-plans.md`.
public struct ExternalBot: Sendable, Hashable, Codable {
    public enum Kind: Sendable, Hashable, Codable {
        case webhook
        /// `model`, the system prompt, how many recent chat messages to send, the environment
        /// variable holding the API key, and whether it answers every message or only mentions.
        case chatCompletions(model: String, systemPrompt: String, context: Int, apiKeyVariable: String?, respondToAll: Bool)
    }

    /// The sender name its messages show.
    public var name: String
    public var url: String
    public var kind: Kind
    /// Longest wait for one answer.
    public var timeout: Duration
    /// Consecutive failures that open the circuit breaker, and how long it stays open.
    public var breakerFailures: Int
    public var breakerCooldown: Duration

    public init(
        name: String, url: String, kind: Kind, timeout: Duration = .seconds(10), breakerFailures: Int = 5, breakerCooldown: Duration = .seconds(30)
    ) {
        self.name = name
        self.url = url
        self.kind = kind
        self.timeout = timeout
        self.breakerFailures = breakerFailures
        self.breakerCooldown = breakerCooldown
    }
}

/// Named variants of a module's bot, one given to each new session by seeded, balanced
/// randomisation (see `OPEBot.ExperimentAssigner`).
public struct Experiment: Sendable, Hashable, Codable {
    public struct Condition: Sendable, Hashable, Codable {
        public var name: String
        /// Path of the condition's plan, relative to the module folder.
        public var planPath: String?
        /// The plan of this condition (read by `ModuleLoader`); nil keeps the module's plan.
        public var plan: BotPlan?
        /// The external bot of this condition; nil keeps the module's.
        public var externalBot: ExternalBot?
        /// True when the condition runs without the module's external bot.
        public var noExternalBot: Bool

        public init(name: String, planPath: String? = nil, plan: BotPlan? = nil, externalBot: ExternalBot? = nil, noExternalBot: Bool = false) {
            self.name = name
            self.planPath = planPath
            self.plan = plan
            self.externalBot = externalBot
            self.noExternalBot = noExternalBot
        }
    }

    public var seed: UInt64
    public var conditions: [Condition]

    public init(seed: UInt64, conditions: [Condition]) {
        self.seed = seed
        self.conditions = conditions
    }
}
