import Foundation

// Payloads of the events of the plan bots and the external bots.

/// `bot.step`: the plan's progress.
public enum BotStepPayload: EventPayload {
    public static let eventTypes: [EventType] = [.botStep]

    /// The bot started its plan.
    case launched(plan: String)
    case stage(String)
    case step(stage: String, step: String)
    /// The plan has nothing more to do.
    case finished

    enum CodingKeys: String, CodingKey { case kind, plan, stage, step }
    enum Kind: String, Codable { case launched, stage, step, finished }

    // By hand: the log holds one flat object with a `kind`, not Swift's nested form of an enum.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(Kind.self, forKey: .kind) {
        case .launched: self = .launched(plan: try container.decode(String.self, forKey: .plan))
        case .stage: self = .stage(try container.decode(String.self, forKey: .stage))
        case .step: self = .step(stage: try container.decode(String.self, forKey: .stage), step: try container.decode(String.self, forKey: .step))
        case .finished: self = .finished
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .launched(let plan):
            try container.encode(Kind.launched, forKey: .kind)
            try container.encode(plan, forKey: .plan)
        case .stage(let stage):
            try container.encode(Kind.stage, forKey: .kind)
            try container.encode(stage, forKey: .stage)
        case .step(let stage, let step):
            try container.encode(Kind.step, forKey: .kind)
            try container.encode(stage, forKey: .stage)
            try container.encode(step, forKey: .step)
        case .finished:
            try container.encode(Kind.finished, forKey: .kind)
        }
    }
}

/// `bot.message`: what a bot said in the team's chat (Markdown).
public struct BotMessagePayload: EventPayload {
    public static let eventTypes: [EventType] = [.botMessage]
    public var text: String
    /// The name the bot goes by in the chat.
    public var name: String?
    /// The plan's prompt the text came from (plan bots).
    public var prompt: String?
    /// The event it answers (external bots).
    public var replyTo: Int64?

    public init(text: String, name: String?, prompt: String? = nil, replyTo: Int64? = nil) {
        self.text = text
        self.name = name
        self.prompt = prompt
        self.replyTo = replyTo
    }
}

/// `bot.command`: a command for the team's page, e.g. `task run-length`.
public struct BotCommandPayload: EventPayload {
    public static let eventTypes: [EventType] = [.botCommand]
    public var command: String
    /// The event it answers (external bots).
    public var replyTo: Int64?

    public init(command: String, replyTo: Int64? = nil) {
        self.command = command
        self.replyTo = replyTo
    }

    /// The task a `task <id>` command shows, nil for other commands.
    public var task: String? {
        guard command.hasPrefix("task ") else { return nil }
        return String(command.dropFirst("task ".count)).trimmingCharacters(in: .whitespaces)
    }
}

/// `bot.run`: a command the plan ran in the team's folder, and how it went.
public struct BotRunPayload: EventPayload {
    public static let eventTypes: [EventType] = [.botRun]
    public var command: String
    public var status: Int32?
    public var timedOut: Bool?
    /// The end of the output.
    public var output: String?
    /// Why it could not run.
    public var error: String?

    public init(command: String, status: Int32? = nil, timedOut: Bool? = nil, output: String? = nil, error: String? = nil) {
        self.command = command
        self.status = status
        self.timedOut = timedOut
        self.output = output
        self.error = error
    }
}

/// `bot.external`: a message for an outside system (Bazaar's form).
public struct BotExternalPayload: EventPayload {
    public static let eventTypes: [EventType] = [.botExternal]
    public var message: String
    /// Where it was sent, when the plan names a place.
    public var url: String?

    public init(message: String, url: String?) {
        self.message = message
        self.url = url
    }
}

/// `bot.log`: a line the plan writes for researchers.
public struct BotLogPayload: EventPayload {
    public static let eventTypes: [EventType] = [.botLog]
    public var tag: String
    public var details: String

    public init(tag: String, details: String) {
        self.tag = tag
        self.details = details
    }
}

/// `bot.chatlog`: the team's chat written into their folder.
public struct ChatLogPayload: EventPayload {
    public static let eventTypes: [EventType] = [.botChatLog]
    public var messages: Int
    /// The file's name in the team's folder; nil when the session has no folder.
    public var file: String?

    public init(messages: Int, file: String?) {
        self.messages = messages
        self.file = file
    }
}

/// `bot.warning`: something the plan could not do as written.
public struct BotWarningPayload: EventPayload {
    public static let eventTypes: [EventType] = [.botWarning]
    public var message: String

    public init(message: String) { self.message = message }
}

/// `external_bot.unavailable`: the external bot stopped answering.
public struct ExternalBotUnavailablePayload: EventPayload {
    public static let eventTypes: [EventType] = [.externalBotUnavailable]
    /// The bot's name.
    public var bot: String
    public var error: String
    /// How many events wait for it.
    public var waiting: Int

    public init(bot: String, error: String, waiting: Int) {
        self.bot = bot
        self.error = error
        self.waiting = waiting
    }
}

/// `external_bot.recovered`: the external bot answers again.
public struct ExternalBotRecoveredPayload: EventPayload {
    public static let eventTypes: [EventType] = [.externalBotRecovered]
    /// The bot's name.
    public var bot: String

    public init(bot: String) { self.bot = bot }
}

/// `external_bot.gave_up`: an event the external bot refused every time, passed over.
public struct ExternalBotGaveUpPayload: EventPayload {
    public static let eventTypes: [EventType] = [.externalBotGaveUp]
    /// The bot's name.
    public var bot: String
    /// The id of the event given up on.
    public var event: Int64
    public var reason: String
    public var attempts: Int

    public init(bot: String, event: Int64, reason: String, attempts: Int) {
        self.bot = bot
        self.event = event
        self.reason = reason
        self.attempts = attempts
    }
}
