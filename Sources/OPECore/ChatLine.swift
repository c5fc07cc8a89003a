/// One line of a team's conversation: a member's chat message or a bot's, as the chat log file
/// and an external bot's chat context show it.
public struct ChatLine: Sendable, Hashable {
    /// Who said it: the member, or the bot's name in the chat.
    public var speaker: String
    public var text: String
    /// Whether a bot said it.
    public var byBot: Bool

    public init(speaker: String, text: String, byBot: Bool) {
        self.speaker = speaker
        self.text = text
        self.byBot = byBot
    }
}

extension Event {
    /// The line a `chat.message` or `bot.message` adds to the conversation; nil for other events.
    /// A bot that gave no name is `bot`.
    public var chatLine: ChatLine? {
        if let chat = decode(ChatPayload.self) { return ChatLine(speaker: actor ?? "?", text: chat.text, byBot: false) }
        if let said = decode(BotMessagePayload.self) { return ChatLine(speaker: said.name ?? "bot", text: said.text, byBot: true) }
        return nil
    }
}
