import Logging
import Metrics
import NIOCore

/// The first handler of every connection to either HTTP server, below the HTTP codec: it turns
/// away connections over the per-address limit and, once a shutdown has begun, closes whatever
/// is still open when the grace period ends (a stalled upload, a WebSocket that never answers
/// the close, a client that sent half a request head).
///
/// Written by hand because Hummingbird's `MaximumAvailableConnections` counts all connections
/// together (one client can use them all up) and its graceful shutdown waits for every
/// connection to close by itself, however long that takes.
final class ConnectionGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    static let refused = Counter(label: "ope_http_connections_closed_total", dimensions: [("reason", "address_limit")])
    static let cutAtShutdown = Counter(label: "ope_http_connections_closed_total", dimensions: [("reason", "shutdown_grace")])

    private let counter: ConnectionCounter?
    private let exemptLoopback: Bool
    private let grace: TimeAmount
    private let logger: Logger
    private var started = false
    /// The address this connection is counted under, until it closes.
    private var counted: String?
    private var forcedClose: Scheduled<Void>?

    init(counter: ConnectionCounter?, exemptLoopback: Bool, grace: Duration, logger: Logger) {
        self.counter = counter
        self.exemptLoopback = exemptLoopback
        self.grace = TimeAmount(grace)
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { _ = admit(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        guard admit(context) else { return }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let counted {
            counter?.close(counted)
            self.counted = nil
        }
        forcedClose?.cancel()
        forcedClose = nil
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, forcedClose == nil {
            // Hummingbird closes idle HTTP connections now and the WebSocket layer starts its close
            // handshake; anything still open when the grace period is over is cut.
            forcedClose = context.eventLoop.assumeIsolated().scheduleTask(in: grace) { [logger] in
                guard context.channel.isActive else { return }
                Self.cutAtShutdown.increment()
                logger.debug(
                    "connection still open at the end of the shutdown grace period: closed",
                    metadata: ["peer": "\(context.channel.remoteAddress?.description ?? "?")"])
                context.close(promise: nil)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Counts the connection once; false (and the connection closed) when its address is at the limit.
    private func admit(_ context: ChannelHandlerContext) -> Bool {
        guard !started else { return true }
        started = true
        guard let counter, let address = context.channel.remoteAddress?.ipAddress else { return true }
        if exemptLoopback, SystemController.isLoopback(address) { return true }
        guard counter.open(address) else {
            Self.refused.increment()
            logger.debug("connection refused: the address holds the most connections allowed", metadata: ["peer": "\(address)", "limit": "\(counter.limit)"])
            RequestHeadGuard.shut(context)
            return false
        }
        counted = address
        return true
    }
}

@available(*, unavailable)
extension ConnectionGate: Sendable {}
