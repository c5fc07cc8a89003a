import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1

/// Asks, before NIO's upgrade handler sees it, whether a WebSocket upgrade request would be
/// accepted. A refused one goes on without its `Upgrade` header, so it is served as the plain GET
/// it then is, by the same routes, and their refusal reaches the client as `docs/protocol.md`
/// says: 401, 403, 404 (or 410, 429, 503) with a JSON body and the usual headers.
///
/// Why by hand: hummingbird-websocket answers every refused upgrade with a bare 400 and drops the
/// route's own answer (`HTTP1WebSocketUpgradeChannel.writeFailedUpgrade`), with no way to change
/// that from outside. The price is that an accepted upgrade is decided twice (here and by the
/// upgrade handler); the second time is cheap (the workspace proxy remembers whom it let in).
final class UpgradeRefusalHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    /// Whether the router would upgrade this request (answer 200 to it).
    typealias Check = @Sendable (HTTPRequest, any Channel, Logger) async -> Bool

    /// Most body bytes held while the check runs (an upgrade request has no body).
    static let maxHeldBytes = 64 * 1024

    private enum State {
        case waiting
        case checking(held: [HTTPServerRequestPart], bytes: Int)
        case done
    }

    private let check: Check
    private let logger: Logger
    private var state = State.waiting
    private var removed = false

    init(check: @escaping Check, logger: Logger) {
        self.check = check
        self.logger = logger
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        removed = true
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch state {
        case .waiting:
            guard case .head(let head) = part, Self.isWebSocketUpgrade(head) else {
                // Not an upgrade: nothing for this handler to do on this connection.
                state = .done
                context.fireChannelRead(data)
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                return
            }
            state = .checking(held: [part], bytes: 0)
            let promise = context.eventLoop.makePromise(of: Bool.self)
            let request = Self.request(head)
            let channel = context.channel
            promise.completeWithTask { [check, logger] in await check(request, channel, logger) }
            promise.futureResult.assumeIsolated().whenSuccess { [self] accepted in
                decided(accepted: accepted, context: context)
            }
        case .checking(var held, var bytes):
            if case .body(let buffer) = part { bytes += buffer.readableBytes }
            guard bytes <= Self.maxHeldBytes else {
                state = .done
                context.close(promise: nil)
                return
            }
            held.append(part)
            state = .checking(held: held, bytes: bytes)
        case .done:
            context.fireChannelRead(data)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .checking = state { return }
        context.fireChannelReadComplete()
    }

    private func decided(accepted: Bool, context: ChannelHandlerContext) {
        guard !removed, case .checking(var held, _) = state else { return }
        state = .done
        if !accepted, case .head(var head) = held[0] {
            head.headers.remove(name: "upgrade")
            held[0] = .head(head)
        }
        for part in held { context.fireChannelRead(wrapInboundOut(part)) }
        context.fireChannelReadComplete()
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    static func isWebSocketUpgrade(_ head: HTTPRequestHead) -> Bool {
        head.headers["upgrade"].contains { $0.lowercased() == "websocket" }
    }

    /// The request as Hummingbird's router sees it (the `Host` header becomes the authority).
    /// By hand: the library that converts NIO's request heads (NIOHTTPTypesHTTP1) is not one of
    /// this package's dependencies.
    static func request(_ head: HTTPRequestHead) -> HTTPRequest {
        var fields = HTTPFields()
        for (name, value) in head.headers where name.lowercased() != "host" {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        return HTTPRequest(
            method: HTTPRequest.Method(head.method.rawValue) ?? .get, scheme: nil, authority: head.headers.first(name: "host"), path: head.uri,
            headerFields: fields
        )
    }
}

@available(*, unavailable)
extension UpgradeRefusalHandler: Sendable {}
