import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import Metrics
import NIOCore
import NIOWebSocket
import OPECore
import OPERuntime

/// The team room: one WebSocket per participant at `GET /api/sessions/{id}/ws` (see `docs/protocol.md`).
struct RoomController {
    /// Chat and history go through the runtime's commands.
    let runtime: any RuntimeAPI
    let hub: RoomHub
    /// What the upgrade's check found (the session), for the upgrade and the socket's start.
    let handoff: UpgradeHandoff
    /// Closes the socket when the sign-in or token it was opened with is revoked.
    let live: LiveConnections
    let allowedOrigins: Set<String>
    /// Stamps chat messages and refills the rate limits.
    let clock: any PlatformClock
    /// Longest chat message, in characters.
    static let maxChatLength = 4000
    /// Largest frame read at all; larger ones close the connection (1009).
    static let maxFrameSize = 64 * 1024
    /// Room sockets closed because their client sent a frame over ``maxFrameSize``.
    static let frameTooLarge = Counter(label: "ope_room_sockets_closed_total", dimensions: [("reason", "frame_too_large")])

    /// A frame from a client. Read with JSONSerialization, which is several times faster than
    /// JSONDecoder on Linux for these small objects.
    struct Inbound {
        var type: String
        var text: String?
        var clientId: String?
        var active: Bool?

        init?(json: String) {
            guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], let type = object["type"] as? String else {
                return nil
            }
            self.type = type
            text = object["text"] as? String
            clientId = object["clientId"] as? String
            active = object["active"] as? Bool
        }
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.ws("sessions/:id/ws", shouldUpgrade: shouldUpgrade) { inbound, outbound, context in
            try await run(inbound: inbound, outbound: outbound, context: context)
        }
    }

    /// Only members and staff, only from our own pages (or non-browser clients without Origin).
    @Sendable func shouldUpgrade(request: Request, context: AppRequestContext) async throws -> RouterShouldUpgrade {
        let identity = try context.requireIdentity()
        if let origin = request.headers[.origin], !CSRFMiddleware(allowedOrigins: allowedOrigins).isSameSite(origin: origin, request: request) {
            throw APIError(.forbidden, "cross-origin WebSocket from \(origin) refused")
        }
        let id = try context.parameters.require("id")
        // An upgrade is decided twice (see UpgradeRefusalHandler): the second time, the session the
        // first found moments ago stands, instead of asking the runtime again (on an edge, a call
        // to the core for every socket).
        var found = context.isUpgradeCheck ? nil : handoff.session(id, connection: context.connection)
        if found == nil {
            found = try await runtime.session(id)
            if let found { handoff.keep(found, connection: context.connection) }
        }
        guard let session = found else { throw APIError(.notFound, "no session '\(id)'") }
        guard session.admits(identity.user) else {
            throw APIError(.forbidden, "only members of session \(id) and instructors may join its room")
        }
        if let after = request.uri.queryParameters["after"], Int64(String(after)) == nil {
            throw APIError(.badRequest, "after must be an event id (a number)")
        }
        // A plain GET (no upgrade asked for, or one refused before the upgrade) gets no empty 200.
        guard request.headers[.upgrade]?.lowercased() == "websocket" else {
            throw APIError(.upgradeRequired, "the team room is a WebSocket: connect with Upgrade: websocket", headers: [.upgrade: "websocket"])
        }
        return .upgrade([:])
    }

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, context: WebSocketRouterContext<AppRequestContext>) async throws {
        guard let identity = context.requestContext.identity, let id = context.requestContext.parameters.get("id") else { return }
        let user = identity.user.username
        let after = context.request.uri.queryParameters["after"].flatMap { Int64(String($0)) } ?? 0
        var logger = context.logger
        logger[metadataKey: "session"] = "\(id)"
        logger[metadataKey: "user"] = "\(user)"

        // Register first, then read history: live events that arrive meanwhile wait in the outbox
        // and are skipped if history already covered them. No gap, no duplicate.
        let (connection, first) = hub.connect(user: user, session: id)
        let registration = live.register(identity.credential) { connection.signOut() }
        defer { live.unregister(registration) }
        // What happens once per socket (the session looked up, the room opened, history replayed)
        // goes deep into the runtime and the store, so it runs in a short task of its own.
        let socket = context.requestContext.connection
        let opening = await Self.briefly { [self] in
            await open(connection, session: id, user: user, first: first, after: after, socket: socket, outbound: outbound)
        }
        var failure = opening.failure
        if opening.found, failure == nil {
            do {
                try await pump(connection, session: id, replayedUpTo: opening.lastSent, inbound: inbound, outbound: outbound, user: user, logger: logger)
            } catch {
                failure = error
            }
        }
        if hub.disconnect(connection), opening.isMember {
            try? await runtime.disconnected(user: user, session: id)
        }
        if opening.opened { await runtime.closeRoom(id) }
        if let failure {
            if let refusal = failure as? RuntimeError, case .unavailable = refusal.kind {
                // The room's core went away: the page hears why and reconnects with ?after= later.
                logger.notice("room closed: its core cannot be reached", metadata: ["error": "\(refusal.message)"])
                try? await outbound.write(.text(RoomMessage.error(code: "unavailable", message: refusal.message, retryAfterMs: 5000).json()))
                try? await outbound.close(.unexpectedServerError, reason: "the room is not reachable now; reconnect")
                return
            }
            throw failure
        }
    }

    /// How far a socket's opening got, for what its end must undo.
    private struct Opening: Sendable {
        var found = false
        var isMember = false
        var opened = false
        var lastSent: Int64 = 0
        var failure: (any Error)?
    }

    /// Once per socket: the session (as the upgrade found it a moment ago, so live events from
    /// here on are in the outbox), the room opened, and the welcome and history sent.
    private func open(
        _ connection: RoomHub.Connection, session id: String, user: String, first: Bool, after: Int64, socket: any Channel,
        outbound: WebSocketOutboundWriter
    ) async -> Opening {
        var opening = Opening()
        do {
            var admitted = handoff.take(session: id, connection: socket)
            if admitted == nil { admitted = try await runtime.session(id) }
            guard let session = admitted else { return opening }
            opening.found = true
            opening.isMember = session.member(user) != nil
            // The room's events reach this process from here on (in a cluster, the core is asked to send them).
            try await runtime.openRoom(id)
            opening.opened = true
            if first, opening.isMember { try await runtime.connected(user: user, session: id) }
            let welcome = RoomMessage.welcome(session: id, user: user, members: session.members.map(\.user), roles: session.roleMap, phase: session.phase)
            try await outbound.write(.text(welcome.json()))
            opening.lastSent = after
            try await runtime.history(session: id, after: after) { page in
                for event in page {
                    try await outbound.write(.text(hub.texts.text(of: event)))
                    opening.lastSent = event.id
                }
            }
            try await outbound.write(.text(RoomMessage.synced(lastID: opening.lastSent).json()))
        } catch {
            opening.failure = error
        }
        return opening
    }

    /// For the socket's life: the client's frames to the room (in a child task), the outbox to
    /// the client (in this one: a task per socket fewer).
    private func pump(
        _ connection: RoomHub.Connection, session id: String, replayedUpTo: Int64, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
        user: String, logger: Logger
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // However the client's side ends (closed, too large, a reset that throws), the
                // outbox ends with it, and so does the loop below.
                defer { connection.outbox.finish() }
                if try await receive(inbound: inbound, connection: connection, session: id, user: user, logger: logger) == .tooLarge {
                    Self.frameTooLarge.increment()
                    try? await outbound.close(.messageTooLarge, reason: "frames are limited to \(Self.maxFrameSize / 1024) KiB")
                }
            }
            for await item in connection.stream {
                if let eventID = item.eventID, eventID <= replayedUpTo { continue }
                try await outbound.write(.text(item.text))
            }
            // The outbox ended: the client left, the sign-in was revoked, the client was too slow,
            // or the room is closing.
            if connection.wasSignedOut {
                logger.info("room socket closed: its sign-in or token was revoked")
                try? await outbound.close(.unknown(RoomHub.signedOutCloseCode), reason: "signed out")
            } else {
                try? await outbound.close(.goingAway, reason: "too far behind; reconnect with ?after= to catch up")
            }
            group.cancelAll()
        }
    }

    /// Runs `body` in a child task of its own and returns what it returns. A task keeps the stack
    /// memory of its deepest moment until it ends (Swift's task allocator reuses its slabs and
    /// never frees them), so one-off deep work (opening a room, recording a chat message) done
    /// in a socket's long-lived task would be paid for the socket's whole life: with 10,000
    /// sockets, tens of MiB.
    static func briefly<T: Sendable>(_ body: @escaping @Sendable () async -> T) async -> T {
        await withTaskGroup(of: T.self) { group in
            group.addTask(operation: body)
            // One task added: there is exactly one result.
            return await group.next()!
        }
    }

    /// Why a client's side of the room ended.
    enum Ending { case closed, tooLarge }

    private func receive(inbound: WebSocketInboundStream, connection: RoomHub.Connection, session id: String, user: String, logger: Logger) async throws
        -> Ending
    {
        var chatBucket = TokenBucket(capacity: 10, rate: 2)
        var anyBucket = TokenBucket(capacity: 40, rate: 20)
        for try await message in inbound.messages(maxSize: Self.maxFrameSize) {
            guard case .text(let text) = message else {
                connection.send(RoomMessage.error(code: "bad_message", message: "send JSON text frames").json())
                continue
            }
            // `messages(maxSize:)` checks only messages in several frames; one big frame is ours to refuse.
            guard text.utf8.count <= Self.maxFrameSize else {
                logger.notice("room frame over the limit", metadata: ["bytes": "\(text.utf8.count)"])
                return .tooLarge
            }
            if let wait = anyBucket.take(now: clock.now) {
                connection.send(Self.rateLimited(wait).json())
                continue
            }
            guard let frame = Inbound(json: text) else {
                connection.send(RoomMessage.error(code: "bad_message", message: "expected a JSON object with a \"type\"").json())
                continue
            }
            switch frame.type {
            case "chat":
                if let wait = chatBucket.take(now: clock.now) {
                    connection.send(Self.rateLimited(wait).json())
                    continue
                }
                await Self.briefly { [self] in await chat(frame, connection: connection, session: id, user: user, logger: logger) }
            case "typing":
                let active = frame.active ?? true
                hub.broadcast(.typing(user: user, active: active), in: id, except: connection)
                await runtime.typing(TypingNote(session: id, user: user, active: active))
            case "heartbeat":
                connection.send(RoomMessage.heartbeat(time: clock.now).json())
            default:
                connection.send(RoomMessage.error(code: "unknown_type", message: "unknown message type '\(frame.type)'").json())
            }
        }
        return .closed
    }

    private func chat(_ frame: Inbound, connection: RoomHub.Connection, session id: String, user: String, logger: Logger) async {
        let text = (frame.text ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let clientId = frame.clientId ?? ""
        guard !text.isEmpty else {
            connection.send(RoomMessage.error(code: "bad_message", message: "a chat message needs some text").json())
            return
        }
        guard text.count <= Self.maxChatLength else {
            connection.send(RoomMessage.error(code: "too_large", message: "chat messages are limited to \(Self.maxChatLength) characters").json())
            return
        }
        guard clientId.count <= 100 else {
            connection.send(RoomMessage.error(code: "bad_message", message: "clientId is limited to 100 characters").json())
            return
        }
        do {
            let event = try await runtime.chat(text, clientID: clientId, session: id, by: user)
            connection.send(RoomMessage.ack(id: event.id, clientId: clientId).json())
        } catch let refusal as RuntimeError {
            switch refusal.kind {
            case .unavailable(let seconds), .busy(let seconds):
                // Not saved now (in a cluster: the room's core is away or full); the page sends it again.
                connection.send(RoomMessage.error(code: "not_saved", message: refusal.message, retryAfterMs: seconds * 1000).json())
            default:
                // An ended session is a record: its room can be read, not written to.
                connection.send(RoomMessage.error(code: "session_over", message: refusal.message).json())
            }
        } catch {
            logger.error("chat message not recorded", metadata: ["error": "\(error)"])
            connection.send(RoomMessage.error(code: "not_saved", message: "the message could not be saved; send it again").json())
        }
    }

    static func rateLimited(_ wait: Duration) -> RoomMessage {
        .error(code: "rate_limited", message: "too many messages; slow down", retryAfterMs: Int(wait.milliseconds))
    }
}
