import Foundation
import Logging
import Metrics
import NIOCore
import NIOHTTP1

/// Watches a new connection until its first request head has arrived, then leaves the pipeline
/// (Hummingbird's idle timeout covers later requests on the connection).
///
/// Until then nothing else in Hummingbird's WebSocket-capable pipeline is in charge: the upgrade
/// handler waits for a head as long as the client likes, a parse error is passed on to nobody
/// (an unknown method such as `FOO / HTTP/1.1` was left unanswered), and a graceful shutdown
/// waits for the client. So this handler closes the connection when the head is not complete
/// within the header timeout (a slowloris client), answers a request it cannot parse — 501 for
/// a method the HTTP parser does not know, 431 for oversized headers, 400 otherwise — and closes
/// at once when the server shuts down. Written by hand: neither Hummingbird nor NIO has a
/// request-head timeout.
final class RequestHeadGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let timedOut = Counter(label: "ope_http_connections_closed_total", dimensions: [("reason", "header_timeout")])
    static let unparsable = Counter(label: "ope_http_connections_closed_total", dimensions: [("reason", "bad_request")])

    private let timeout: TimeAmount
    private let logger: Logger
    private var deadline: Scheduled<Void>?
    private var finished = false

    init(timeout: Duration, logger: Logger) {
        self.timeout = TimeAmount(timeout)
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        context.fireChannelRead(data)
        if case .head = part, !finished {
            finished = true
            deadline?.cancel()
            deadline = nil
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !finished else { return context.fireErrorCaught(error) }
        finished = true
        deadline?.cancel()
        deadline = nil
        Self.unparsable.increment()
        let (status, message): (HTTPResponseStatus, String) =
            switch error as? HTTPParserError {
            case .invalidMethod?: (.notImplemented, "unknown request method: this server answers GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS")
            case .headerOverflow?: (.requestHeaderFieldsTooLarge, "request headers too large")
            default: (.badRequest, "malformed HTTP request")
            }
        logger.debug("unparsable request answered and closed", metadata: ["peer": "\(context.channel.remoteAddress?.description ?? "?")", "error": "\(error)"])
        let body = (try? JSONEncoder().encode(["error": message])) ?? Data()
        let headers = HTTPHeaders([
            ("Content-Type", "application/json; charset=utf-8"), ("Content-Length", "\(body.count)"), ("Connection", "close"),
            ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"),
        ])
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            Self.shut(context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, !finished {
            // No request has started here: nothing to wait for at shutdown.
            finished = true
            Self.shut(context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func arm(_ context: ChannelHandlerContext) {
        guard deadline == nil, !finished else { return }
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            deadline = nil
            guard !finished else { return }
            finished = true
            Self.timedOut.increment()
            logger.debug(
                "no complete request head within the header timeout: closed", metadata: ["peer": "\(context.channel.remoteAddress?.description ?? "?")"])
            Self.shut(context)
        }
    }

    /// Closes a connection whose first request never came. The upgrade handler further on is
    /// told its input ended first, so it stops waiting the way it does when a client leaves
    /// (hummingbird-websocket logs any other ending of that wait as an error).
    static func shut(_ context: ChannelHandlerContext) {
        context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension RequestHeadGuard: Sendable {}
