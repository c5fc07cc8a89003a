import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOPosix
import OPEWorkspaces
import Synchronization

/// The proxy's HTTP connections to workspaces: keep-alive HTTP/1.1 over each JupyterLab's unix
/// socket (local workspaces) or TCP (a workspace URL with a host and port), one request at a time
/// on each connection. The proxy keeps connections per event loop and sends each request on the
/// loop its browser's connection is on, so one thread carries both sides of it.
///
/// Written by hand for the proxy's hot path instead of AsyncHTTPClient. Here a request costs one
/// hop to its connection's event loop and one back, because a small answer arrives whole with its
/// head. The client added a per-request deadline scheduled and cancelled across threads, its
/// pool's and body stream's own hops, and its state machines: about a fifth of the proxy's CPU.
final class UpstreamHTTP: Sendable {
    static let shared = UpstreamHTTP()

    /// Answers of known length up to this size arrive whole, with their head; larger ones and
    /// ones of unknown length stream, as fast as the browser takes them.
    static let wholeAnswer = 64 * 1024
    /// A request the workspace sends nothing back on for this long has failed; a connection idle
    /// this long is closed.
    static let silence = TimeAmount.seconds(300)
    /// Idle connections kept per workspace.
    static let idleLimit = 32

    /// What the proxy sends with a request.
    enum RequestBody: Sendable {
        case none
        case whole(ByteBuffer)
        /// Streamed as it comes (an upload too large to hold), chunked if its length is unknown.
        case stream(Hummingbird.RequestBody)
    }

    /// A workspace's answer. A whole body's connection is already free for the next request.
    struct Response: Sendable {
        var head: HTTPResponseHead
        var body: Body

        enum Body: Sendable {
            case whole(ByteBuffer)
            case stream(Stream)
        }

        /// The whole body, if it is no longer than `limit`.
        func collect(upTo limit: Int) async throws -> ByteBuffer {
            switch body {
            case .whole(let buffer):
                guard buffer.readableBytes <= limit else { throw Failure.tooLarge(limit) }
                return buffer
            case .stream(let stream):
                var whole = ByteBuffer()
                for try await var chunk in stream {
                    guard whole.readableBytes + chunk.readableBytes <= limit else { throw Failure.tooLarge(limit) }
                    whole.writeBuffer(&chunk)
                }
                return whole
            }
        }
    }

    typealias Stream = NIOThrowingAsyncSequenceProducer<
        ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, Demand
    >

    enum Failure: Error, CustomStringConvertible {
        case unsupported(String)
        /// The connection closed or failed; `answered` if part of the answer had come.
        case closed(answered: Bool)
        case silent
        case tooLarge(Int)

        var description: String {
            switch self {
            case .unsupported(let url): "cannot reach \(url): only http and unix sockets"
            case .closed(let answered): answered ? "the workspace closed the connection while answering" : "the workspace closed the connection"
            case .silent: "the workspace sent nothing for \(UpstreamHTTP.silence.nanoseconds / 1_000_000_000) s"
            case .tooLarge(let limit): "the answer is larger than \(limit) bytes"
            }
        }
    }

    /// Where a workspace listens.
    enum Address: Hashable, Sendable {
        case unix(String)
        case tcp(host: String, port: Int)

        init(_ workspace: Workspace) throws {
            if let socket = workspace.socketPath {
                self = .unix(socket)
                return
            }
            guard let url = URL(string: workspace.origin), url.scheme == "http", let host = url.host else {
                throw Failure.unsupported(workspace.origin)
            }
            self = .tcp(host: host, port: url.port ?? 80)
        }

        /// The `Host` header for it: a unix socket has no host name of its own, and JupyterLab
        /// refuses a request without one.
        var hostHeader: String {
            switch self {
            case .unix: "localhost"
            case .tcp(let host, let port): port == 80 ? host : "\(host):\(port)"
            }
        }

        /// Connects `bootstrap` to it; `initializer` sets the new channel up on its event loop.
        func connect<Output: Sendable>(
            _ bootstrap: ClientBootstrap, initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Output>
        ) async throws -> Output {
            switch self {
            case .unix(let path): try await bootstrap.connect(unixDomainSocketPath: path, channelInitializer: initializer)
            case .tcp(let host, let port): try await bootstrap.connect(host: host, port: port, channelInitializer: initializer)
            }
        }
    }

    /// Kept connections by workspace and event loop.
    fileprivate struct Key: Hashable {
        var address: Address
        var loop: ObjectIdentifier
    }
    private let idle = Mutex<[Key: [Connection]]>([:])

    /// Sends `head` (and `body`) to `workspace` over a connection on `loop` (the browser's own
    /// connection's) and waits for the answer's head. The `Host` header is the workspace's.
    ///
    /// A request on a kept connection that the workspace had closed meanwhile is sent once more
    /// on a new one, if nothing of the answer came and the body can be sent again.
    func send(_ head: HTTPRequestHead, body: RequestBody, to workspace: Workspace, on loop: any EventLoop) async throws -> Response {
        let key = Key(address: try Address(workspace), loop: ObjectIdentifier(loop))
        var head = head
        head.headers.replaceOrAdd(name: "Host", value: key.address.hostHeader)
        var retried = false
        while true {
            let (connection, reused) = try await acquire(key, on: loop)
            do {
                return try await connection.exchange(head, body: body)
            } catch Failure.closed(answered: false) where reused && !retried {
                if case .stream = body { throw Failure.closed(answered: false) }
                retried = true
            }
        }
    }

    private func acquire(_ key: Key, on loop: any EventLoop) async throws -> (Connection, reused: Bool) {
        while let kept = idle.withLock({ $0[key]?.popLast() }) {
            if kept.channel.isActive { return (kept, true) }
        }
        return (try await connect(key, on: loop), false)
    }

    private func release(_ connection: Connection) {
        let kept = idle.withLock { idle -> Bool in
            guard idle[connection.key, default: []].count < Self.idleLimit else { return false }
            idle[connection.key, default: []].append(connection)
            return true
        }
        if !kept { connection.channel.close(promise: nil) }
    }

    /// A kept connection the workspace closed (an idle timeout, the workspace stopped) leaves the
    /// pool at once: otherwise the connections of ended workspaces would stay in it for good.
    private func forget(_ connection: Connection) {
        idle.withLock { idle in
            idle[connection.key]?.removeAll { $0.channel === connection.channel }
            if idle[connection.key]?.isEmpty == true { idle[connection.key] = nil }
        }
    }

    /// Kept connections to `workspace` on `loop` (for tests).
    func keptCount(to workspace: Workspace, on loop: any EventLoop) throws -> Int {
        let key = Key(address: try Address(workspace), loop: ObjectIdentifier(loop))
        return idle.withLock { $0[key]?.count ?? 0 }
    }

    private func connect(_ key: Key, on loop: any EventLoop) async throws -> Connection {
        let bootstrap = ClientBootstrap(group: loop).connectTimeout(.seconds(10))
        return try await key.address.connect(bootstrap) { [weak self] channel in
            channel.eventLoop.makeCompletedFuture {
                let handler = ExchangeHandler()
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                try channel.pipeline.syncOperations.addHandlers([IdleStateHandler(readTimeout: Self.silence), handler])
                let connection = Connection(key: key, channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
                handler.demand = Demand(channel: channel, handler: connection.handler)
                handler.onIdle = { self?.release(connection) }
                handler.onClose = { self?.forget(connection) }
                return connection
            }
        }
    }

    /// One kept connection.
    struct Connection: Sendable {
        fileprivate let key: Key
        let channel: any Channel
        let handler: NIOLoopBound<ExchangeHandler>

        func exchange(_ head: HTTPRequestHead, body: RequestBody) async throws -> Response {
            let promise = channel.eventLoop.makePromise(of: Response.self)
            let handler = self.handler
            channel.eventLoop.execute {
                switch body {
                case .none: handler.value.start(promise, head: head, body: nil, ends: true)
                case .whole(let buffer): handler.value.start(promise, head: head, body: buffer, ends: true)
                case .stream: handler.value.start(promise, head: head, body: nil, ends: false)
                }
            }
            if case .stream(let chunks) = body {
                do {
                    for try await chunk in chunks { try await channel.writeAndFlush(HTTPClientRequestPart.body(.byteBuffer(chunk))) }
                    try await channel.writeAndFlush(HTTPClientRequestPart.end(nil))
                } catch {
                    channel.close(promise: nil)
                    throw error
                }
            }
            return try await promise.futureResult.get()
        }
    }

    /// Asks the connection for more of a streamed answer, or closes it when nobody reads on.
    struct Demand: NIOAsyncSequenceProducerDelegate {
        let channel: any Channel
        let handler: NIOLoopBound<ExchangeHandler>

        func produceMore() { channel.eventLoop.execute { handler.value.produceMore() } }
        func didTerminate() { channel.eventLoop.execute { handler.value.readerGone() } }
    }

    /// One exchange at a time on its connection, on the connection's event loop: sends the
    /// request, answers with the head (and a small body whole), streams the rest with the
    /// reader's back-pressure, and hands the connection back when the answer has ended.
    final class ExchangeHandler: ChannelDuplexHandler {
        typealias InboundIn = HTTPClientResponsePart
        typealias OutboundIn = HTTPClientRequestPart
        typealias OutboundOut = HTTPClientRequestPart

        private enum State {
            case idle
            case waiting(EventLoopPromise<Response>)
            case buffering(HTTPResponseHead, ByteBuffer, EventLoopPromise<Response>)
            case streaming(Stream.Source)
            case closed
        }
        private var state = State.idle
        private var context: ChannelHandlerContext?
        private var keepAlive = true
        private var readerWantsMore = true
        private var heldRead = false
        var demand: Demand?
        var onIdle: (() -> Void)?
        var onClose: (() -> Void)?

        func handlerAdded(context: ChannelHandlerContext) { self.context = context }
        func handlerRemoved(context: ChannelHandlerContext) {
            // They hold this handler: let go of them with the connection.
            self.context = nil
            demand = nil
            onIdle = nil
            onClose = nil
        }

        func start(_ promise: EventLoopPromise<Response>, head: HTTPRequestHead, body: ByteBuffer?, ends: Bool) {
            guard case .idle = state, let context, context.channel.isActive else {
                promise.fail(Failure.closed(answered: false))
                return
            }
            state = .waiting(promise)
            keepAlive = head.isKeepAlive
            readerWantsMore = true
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            if let body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
            if ends { context.write(wrapOutboundOut(.end(nil)), promise: nil) }
            context.flush()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                // 100 Continue and other interim answers: the real one follows.
                guard case .waiting(let promise) = state, head.status.code >= 200 else { return }
                keepAlive = keepAlive && head.isKeepAlive
                if let length = head.headers.first(name: "content-length").flatMap(Int.init), length <= UpstreamHTTP.wholeAnswer {
                    state = .buffering(head, context.channel.allocator.buffer(capacity: length), promise)
                } else if let demand {
                    let made = Stream.makeSequence(
                        backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8), finishOnDeinit: true, delegate: demand)
                    state = .streaming(made.source)
                    promise.succeed(Response(head: head, body: .stream(made.sequence)))
                }
            case .body(let chunk):
                switch state {
                case .buffering(let head, var buffer, let promise):
                    state = .idle  // the buffer is not shared while it grows
                    buffer.writeImmutableBuffer(chunk)
                    state = .buffering(head, buffer, promise)
                case .streaming(let source):
                    switch source.yield(chunk) {
                    case .produceMore: readerWantsMore = true
                    case .stopProducing: readerWantsMore = false
                    case .dropped: readerGone()
                    }
                default: break
                }
            case .end:
                switch state {
                case .buffering(let head, let buffer, let promise):
                    state = .idle
                    ended(context: context)
                    promise.succeed(Response(head: head, body: .whole(buffer)))
                case .streaming(let source):
                    state = .idle
                    ended(context: context)
                    source.finish()
                default: break
                }
            }
        }

        private func ended(context: ChannelHandlerContext) {
            if keepAlive { onIdle?() } else { context.close(promise: nil) }
        }

        func read(context: ChannelHandlerContext) {
            // A streamed answer is read only as fast as its reader takes it.
            if case .streaming = state, !readerWantsMore {
                heldRead = true
            } else {
                context.read()
            }
        }

        func produceMore() {
            readerWantsMore = true
            if heldRead, let context {
                heldRead = false
                context.read()
            }
        }

        /// The streamed answer's reader went away before its end: the connection cannot be kept.
        func readerGone() {
            guard case .streaming = state else { return }
            state = .closed
            context?.close(promise: nil)
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let event = event as? IdleStateHandler.IdleStateEvent, event == .read {
                fail(Failure.silent)
                context.close(promise: nil)
            } else {
                context.fireUserInboundEventTriggered(event)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            fail(nil)
            onClose?()
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            fail(nil)
            context.close(promise: nil)
        }

        private func fail(_ reason: Failure?) {
            switch state {
            case .waiting(let promise): promise.fail(reason ?? Failure.closed(answered: false))
            case .buffering(_, _, let promise): promise.fail(reason ?? Failure.closed(answered: true))
            case .streaming(let source): source.finish(reason ?? Failure.closed(answered: true))
            case .idle, .closed: break
            }
            state = .closed
        }
    }
}
