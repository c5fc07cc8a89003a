import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import OPETestSupport
import OPEWorkspaces
import ServiceLifecycle
import Synchronization
import Testing

@testable import OPEGateway

/// The proxy's own keep-alive HTTP/1.1 client, against a real server on a loopback port: every
/// answer names the client's port, so the tests see which connection carried it.
@Suite struct UpstreamHTTPTests {
    /// Knows which connection a request came on.
    struct PeerContext: RequestContext {
        var coreContext: CoreRequestContextStorage
        let port: Int
        init(source: ApplicationRequestContextSource) {
            coreContext = .init(source: source)
            port = source.channel.remoteAddress?.port ?? -1
        }
    }

    static let bigSize = 1 << 20
    /// The `Host` of each request to `/upgrade`.
    static let upgradeHosts = Mutex<[String]>([])
    /// Connections are kept per event loop: these tests use one.
    static let loop = MultiThreadedEventLoopGroup.singleton.next()

    static func serve(_ body: @Sendable (Workspace) async throws -> Void) async throws {
        let router = Router(context: PeerContext.self)
        router.get("peer") { _, context in peer(context) }
        router.on("peer", method: .head) { _, context in peer(context) }
        router.get("big") { _, context in
            var headers = HTTPFields()
            headers[HTTPField.Name("X-Peer")!] = peer(context)
            // No length: chunked, streamed to the proxy piece by piece.
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody { writer in
                    for index in 0..<(bigSize / 16_384) { try await writer.write(ByteBuffer(repeating: UInt8(index % 251), count: 16_384)) }
                    try await writer.finish(nil)
                })
        }
        router.put("echo") { request, _ in
            var count = 0
            var sum = 0
            for try await chunk in request.body {
                count += chunk.readableBytes
                sum = chunk.readableBytesView.reduce(sum) { ($0 &+ Int($1)) % 1_000_003 }
            }
            return "\(count) \(sum)"
        }
        router.get("upgrade") { request, _ -> Response in
            upgradeHosts.withLock { $0.append(request.head.authority ?? "") }
            return Response(status: .notFound)
        }
        router.get("close") { _, context in
            Response(status: .ok, headers: [.connection: "close"], body: ResponseBody(byteBuffer: ByteBuffer(string: peer(context))))
        }
        let (ports, port) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.yield(channel.localAddress?.port ?? 0) }, logger: Logger(label: "upstream")
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "upstream"))).run() }
            var iterator = ports.makeAsyncIterator()
            let bound = await iterator.next() ?? 0
            try await body(Workspace(id: "w", session: "s", url: "http://127.0.0.1:\(bound)/", token: "t", directory: ""))
            group.cancelAll()
        }
    }

    static func peer(_ context: PeerContext) -> String { "\(context.port)" }

    static func get(_ upstream: UpstreamHTTP, _ path: String, method: HTTPMethod = .GET, on workspace: Workspace) async throws -> (
        head: HTTPResponseHead, body: ByteBuffer
    ) {
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: ["Host": "127.0.0.1"])
        let response = try await upstream.send(head, body: .none, to: workspace, on: Self.loop)
        return (response.head, try await response.collect(upTo: 4 << 20))
    }

    /// A WebSocket to a workspace on TCP (a pod) names it as its HTTP requests do, not "localhost".
    @Test func aWebSocketUpgradeNamesTheWorkspacesHost() async throws {
        try await Self.serve { workspace in
            await #expect(throws: (any Error).self) {
                try await UpstreamWebSocket.connect(to: workspace, path: "/upgrade", maxFrameSize: 1 << 16, on: Self.loop)
            }
            let port = try #require(URL(string: workspace.url)?.port)
            #expect(Self.upgradeHosts.withLock { $0 } == ["127.0.0.1:\(port)"])
        }
    }

    @Test func connectionsAreKeptAndEachAnswerArrivesWhole() async throws {
        let upstream = UpstreamHTTP()
        try await Self.serve { workspace in
            let first = try await Self.get(upstream, "/peer", on: workspace)
            let second = try await Self.get(upstream, "/peer", on: workspace)
            #expect(first.head.status == .ok)
            #expect(String(buffer: first.body) == String(buffer: second.body), "the second request did not reuse the kept connection")

            // A long answer of unknown length streams, byte for byte.
            let big = try await Self.get(upstream, "/big", on: workspace)
            #expect(big.body.readableBytes == Self.bigSize)
            #expect(big.body.getInteger(at: 16_384 * 7, as: UInt8.self) == 7)
            #expect(big.body.getInteger(at: Self.bigSize - 1, as: UInt8.self) == UInt8((Self.bigSize / 16_384 - 1) % 251))

            // HEAD: the head only, and the connection goes on.
            let head = try await Self.get(upstream, "/peer", method: .HEAD, on: workspace)
            #expect(head.head.status == .ok && head.body.readableBytes == 0)
            #expect(try await Self.get(upstream, "/peer", on: workspace).body.readableBytes > 0)

            // An upload of unknown length goes chunked, whole.
            let chunks = (0..<40).map { ByteBuffer(repeating: UInt8($0), count: 50_000) }
            let expected = chunks.reduce(0) { sum, chunk in chunk.readableBytesView.reduce(sum) { ($0 &+ Int($1)) % 1_000_003 } }
            let put = HTTPRequestHead(version: .http1_1, method: .PUT, uri: "/echo", headers: ["Host": "127.0.0.1", "Transfer-Encoding": "chunked"])
            let (sent, sending) = AsyncStream.makeStream(of: ByteBuffer.self)
            for chunk in chunks { sending.yield(chunk) }
            sending.finish()
            let body = Hummingbird.RequestBody(asyncSequence: sent)
            let echoed = try await upstream.send(put, body: .stream(body), to: workspace, on: Self.loop).collect(upTo: 1024)
            #expect(String(buffer: echoed) == "\(2_000_000) \(expected)")
        }
    }

    @Test func aClosingAnswerOrAnAbandonedStreamIsNotKept() async throws {
        let upstream = UpstreamHTTP()
        try await Self.serve { workspace in
            let closing = String(buffer: try await Self.get(upstream, "/close", on: workspace).body)
            let after = String(buffer: try await Self.get(upstream, "/peer", on: workspace).body)
            #expect(closing != after, "a connection the server closed was used again")

            // A reader that stops halfway: that connection cannot carry the next answer.
            let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/big", headers: ["Host": "127.0.0.1"])
            let response = try await upstream.send(head, body: .none, to: workspace, on: Self.loop)
            let streamedOn = response.head.headers.first(name: "X-Peer")
            guard case .stream(let chunks) = response.body else {
                Issue.record("a long answer of unknown length did not stream")
                return
            }
            var iterator = chunks.makeAsyncIterator()
            #expect(try await iterator.next() != nil)
            _ = consume iterator
            let next = String(buffer: try await Self.get(upstream, "/peer", on: workspace).body)
            #expect(next != streamedOn)
        }
    }

    /// Answers each request as kept alive, then closes the connection once the answer is written:
    /// a workspace that closes a kept connection, deterministically.
    final class AnswerThenClose: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data) else { return }
            let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["Content-Length": "2"])
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "ok")))), promise: nil)
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in loopBound.value.close(promise: nil) }
        }
    }

    @Test func aKeptConnectionTheWorkspaceClosesLeavesThePool() async throws {
        let upstream = UpstreamHTTP()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(AnswerThenClose())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        let workspace = Workspace(id: "w", session: "s", url: "http://127.0.0.1:\(server.localAddress?.port ?? 0)/", token: "t", directory: "")
        for _ in 0..<2 {
            // Each answer hands its connection back; the server then closes it, and the pool must
            // not keep it (an ended workspace's connections would otherwise stay for good).
            #expect(String(buffer: try await Self.get(upstream, "/", on: workspace).body) == "ok")
            try await waitUntil("the closed connection to leave the pool") { try upstream.keptCount(to: workspace, on: Self.loop) == 0 }
        }
    }
}
