import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore

extension HTTPServerBuilder {
    /// HTTP/1.1 with WebSocket upgrades, as `http1WebSocketUpgrade(webSocketRouter:)`, plus OPE's
    /// connection guards (``ConnectionLimits``): a request-head timeout, a read timeout (Hummingbird's
    /// idle timeout), a per-address connection limit, a bounded shutdown, answers to requests that
    /// cannot be parsed, and refused upgrades answered by the routes in JSON. What a refused
    /// upgrade's check found is dropped from `handoff`: no socket will start to take it.
    static func guarded(
        webSocketRouter: Router<AppRequestContext>, maxFrameSize: Int, limits: ConnectionLimits, handoff: UpgradeHandoff? = nil, onEventLoop: Bool = false
    ) -> HTTPServerBuilder {
        let webSocketResponder = webSocketRouter.buildResponder()
        let counter = limits.perAddress.map { ConnectionCounter(limit: $0) }
        let check: UpgradeRefusalHandler.Check = { head, channel, logger in
            var context = AppRequestContext(source: .init(channel: channel, logger: logger))
            context.isUpgradeCheck = true
            let request = Request(head: head, body: .init(buffer: ByteBuffer()))
            let response = try? await webSocketResponder.respond(to: request, context: context)
            guard response?.status == .ok else {
                handoff?.forget(connection: context.connection)
                return false
            }
            return true
        }
        let configuration = HTTP1WebSocketUpgradeChannel.Configuration(
            http1: .init(idleTimeout: TimeAmount(limits.readTimeout)), ws: .init(maxFrameSize: maxFrameSize)
        )
        return HTTPServerBuilder { responder in
            GuardedChildChannel(
                base: HTTP1WebSocketUpgradeChannel(responder: responder, webSocketResponder: webSocketResponder, configuration: configuration),
                limits: limits, counter: counter, upgradeCheck: check, onEventLoop: onEventLoop
            )
        }
    }
}
