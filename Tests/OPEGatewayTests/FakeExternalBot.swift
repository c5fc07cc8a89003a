import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// A webhook bot on a loopback port that misbehaves on command: it answers 500, hangs, or answers
/// garbage until told otherwise, and records what it accepted. Like any endpoint that honours
/// `Idempotency-Key`, it accepts each key once: a delivery it accepted before (OPE retries one
/// whose answer did not come within its timeout, as on a busy machine) gets the same answer and is
/// counted in ``redeliveries``.
actor FakeExternalBot {
    enum Mode: Sendable {
        case working
        case failing
        case hanging
        /// Chat messages get garbage; other events are accepted.
        case garbageForChat
        /// Chat messages are accepted, but the first answer for each comes after 2 s (past the
        /// test modules' 1 s timeout); other events are answered at once.
        case slowForChat
    }

    struct Accepted: Sendable, Equatable {
        var key: String
        var eventID: Int
        var type: String
    }

    var mode: Mode
    private(set) var accepted: [Accepted] = []
    /// The answers given, by idempotency key.
    private var answers: [String: (HTTPResponse.Status, String)] = [:]
    /// Deliveries of a key already accepted.
    private(set) var redeliveries = 0
    /// Bodies of chat-completions calls (JSON text, with the Authorization header added).
    private(set) var completions: [String] = []
    private(set) var requests = 0

    init(mode: Mode) { self.mode = mode }

    func set(_ mode: Mode) { self.mode = mode }

    func complete(_ body: [String: Any], authorization: String?) -> String {
        var body = body
        body["authorization"] = authorization ?? ""
        completions.append(String(decoding: (try? JSONSerialization.data(withJSONObject: body)) ?? Data(), as: UTF8.self))
        let last = ((body["messages"] as? [[String: Any]])?.last?["content"] as? String) ?? ""
        let answer = "You asked: \(last)".replacingOccurrences(of: "\"", with: "'")
        return #"{"id": "c1", "choices": [{"index": 0, "message": {"role": "assistant", "content": "\#(answer)"}}]}"#
    }

    /// How long to hold the answer to a delivery of `type` first seen now.
    func delay(key: String, type: String) -> Duration {
        mode == .slowForChat && type == "chat.message" && answers[key] == nil ? .seconds(2) : .zero
    }

    /// Handles one delivery: the status and body to answer with (nil: never answer in time).
    func handle(key: String, body: [String: Any]) -> (HTTPResponse.Status, String)? {
        requests += 1
        let event = body["event"] as? [String: Any] ?? [:]
        let type = event["type"] as? String ?? ""
        switch mode {
        case .failing: return (.internalServerError, "down for maintenance")
        case .hanging: return nil
        case .garbageForChat where type == "chat.message": return (.ok, "<html>not json</html>")
        default: break
        }
        if let answer = answers[key] {
            redeliveries += 1
            return answer
        }
        accepted.append(Accepted(key: key, eventID: event["id"] as? Int ?? -1, type: type))
        var answer = (HTTPResponse.Status.ok, "{}")
        if type == "chat.message", let text = (event["payload"] as? [String: Any])?["text"] as? String {
            answer.1 = #"{"messages": ["echo: \#(text)"]}"#
        }
        answers[key] = answer
        return answer
    }

    /// Serves the fake on a free port until the body returns; the body gets the webhook URL.
    static func serve<T: Sendable>(mode: Mode, _ body: @Sendable (FakeExternalBot, String) async throws -> T) async throws -> T {
        let bot = FakeExternalBot(mode: mode)
        let router = Router()
        router.post("hook") { request, context -> Response in
            let data = try await request.body.collect(upTo: 1 << 20)
            let object = (try? JSONSerialization.jsonObject(with: Data(data.readableBytesView)) as? [String: Any]) ?? [:]
            let key = request.headers[HTTPField.Name("Idempotency-Key")!] ?? ""
            let delay = await bot.delay(key: key, type: (object["event"] as? [String: Any])?["type"] as? String ?? "")
            guard let (status, text) = await bot.handle(key: key, body: object) else {
                try await Task.sleep(for: .seconds(30))
                return Response(status: .ok)
            }
            // Accepted already: only the answer is late.
            if delay > .zero { try await Task.sleep(for: delay) }
            return Response(status: status, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        router.post("v1/chat/completions") { request, context -> Response in
            let data = try await request.body.collect(upTo: 1 << 20)
            let object = (try? JSONSerialization.jsonObject(with: Data(data.readableBytesView)) as? [String: Any]) ?? [:]
            let text = await bot.complete(object, authorization: request.headers[.authorization])
            return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        let (ports, port) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.yield(channel.localAddress?.port ?? 0) }, logger: Logger(label: "fake-bot")
        )
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "fake-bot"))).run()
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            let bound = await iterator.next() ?? 0
            let result = try await body(bot, "http://127.0.0.1:\(bound)/hook")
            group.cancelAll()
            return result
        }
    }
}
