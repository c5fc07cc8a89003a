import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OPECore
import OPEStore

/// One call to an external bot: the request for a room event and what its answer means.
struct ExternalBotClient: Sendable {
    /// What the bot answered, in OPE's terms.
    struct Reply: Sendable {
        var messages: [String] = []
        var commands: [String] = []
    }

    enum Failure: Error, CustomStringConvertible {
        /// Worth retrying as long as it takes: the endpoint is down, slow or overloaded.
        case transient(String)
        /// The endpoint answered, but not in a usable way; retried a few times, then given up.
        case permanent(String)

        var description: String {
            switch self {
            case .transient(let text), .permanent(let text): text
            }
        }
    }

    let bot: ExternalBot
    let client: HTTPClient

    /// Whether `event` needs a call at all (a chat-completions persona answers chat only).
    func needsCall(_ event: Event) -> Bool {
        guard case .chatCompletions(_, _, _, _, let respondToAll) = bot.kind else { return true }
        guard let text = event.decode(ChatPayload.self)?.text else { return false }
        return respondToAll || text.lowercased().contains(bot.name.lowercased())
    }

    /// Delivers `event`; `context` is the session's recent chat, oldest first (chat-completions only).
    func deliver(_ event: Event, session: String, module: String, condition: String?, context: [Event]) async throws(Failure) -> Reply {
        var request = HTTPClientRequest(url: bot.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Idempotency-Key", value: "\(session):\(event.id)")
        let body: [String: JSONValue]
        switch bot.kind {
        case .webhook:
            var fields: [String: JSONValue] = [
                "idempotencyKey": .string("\(session):\(event.id)"), "session": .string(session), "module": .string(module),
                "event": Self.json(event),
            ]
            if let condition { fields["condition"] = .string(condition) }
            body = fields
        case .chatCompletions(let model, let systemPrompt, _, let keyVariable, _):
            if let keyVariable {
                guard let key = ProcessInfo.processInfo.environment[keyVariable], !key.isEmpty else {
                    throw .permanent("the API key variable \(keyVariable) is not set")
                }
                request.headers.add(name: "Authorization", value: "Bearer \(key)")
            }
            var messages: [JSONValue] = [.object(["role": "system", "content": .string(systemPrompt)])]
            for message in context {
                guard let line = message.chatLine else { continue }
                if line.byBot, message.actor == ExternalBotService.actor {
                    messages.append(.object(["role": "assistant", "content": .string(line.text)]))
                } else {
                    messages.append(.object(["role": "user", "content": .string("\(line.speaker): \(line.text)")]))
                }
            }
            body = ["model": .string(model), "messages": .array(messages)]
        }
        request.body = .bytes(ByteBuffer(string: JSONValue.jsonText(object: body)))
        let response: HTTPClientResponse
        let data: ByteBuffer
        do {
            response = try await client.execute(request, timeout: .nanoseconds(bot.timeout.nanoseconds))
            data = try await response.body.collect(upTo: 1 << 20)
        } catch {
            throw .transient("no answer: \(error)")
        }
        let status = Int(response.status.code)
        if status == 429 || status >= 500 { throw .transient("answered \(status)") }
        guard (200..<300).contains(status) else { throw .permanent("answered \(status): \(String(buffer: data).prefix(200))") }
        if data.readableBytes == 0 { return Reply() }
        guard let object = try? JSONSerialization.jsonObject(with: Data(data.readableBytesView)) as? [String: Any] else {
            throw .permanent("answered with something that is not a JSON object: \(String(buffer: data).prefix(200))")
        }
        switch bot.kind {
        case .webhook:
            var reply = Reply()
            if let messages = object["messages"] {
                guard let list = messages as? [String] else { throw .permanent("\"messages\" must be a list of texts") }
                reply.messages = list.filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
            }
            if let commands = object["commands"] {
                guard let list = commands as? [String] else { throw .permanent("\"commands\" must be a list of texts") }
                reply.commands = list
            }
            return reply
        case .chatCompletions:
            guard let choices = object["choices"] as? [[String: Any]], let message = choices.first?["message"] as? [String: Any],
                let content = message["content"] as? String
            else { throw .permanent("the answer has no choices[0].message.content") }
            let text = content.trimmingCharacters(in: .whitespacesAndNewlines)
            return Reply(messages: text.isEmpty ? [] : [String(text.prefix(4000))])
        }
    }

    static func json(_ event: Event) -> JSONValue {
        var fields: [String: JSONValue] = [
            "id": .number(Double(event.id)), "type": .string(event.type.rawValue), "time": .string(EventExporter.timestamp(event.time)),
            "payload": .object(event.payload),
        ]
        if let actor = event.actor { fields["actor"] = .string(actor) }
        return .object(fields)
    }
}
