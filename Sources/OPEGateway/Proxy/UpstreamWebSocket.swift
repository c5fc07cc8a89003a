import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import OPEWorkspaces

/// The proxy's WebSocket connection to a workspace, over its unix socket (local workspaces) or
/// TCP (a URL with a host and port), frame by frame.
///
/// The relay does what a WebSocket client must: masks what it sends, answers pings, and puts
/// fragmented messages back together before they go on to the browser.
struct UpstreamWebSocket {
    typealias Channel = NIOAsyncChannel<WebSocketFrame, WebSocketFrame>

    enum Failure: Error, CustomStringConvertible {
        case notUpgraded
        case messageTooLarge(Int)
        var description: String {
            switch self {
            case .notUpgraded: "the workspace refused the WebSocket"
            case .messageTooLarge(let limit): "the workspace sent a message over \(limit >> 20) MiB"
            }
        }
    }

    private enum Upgrade: Sendable {
        case websocket(Channel)
        case notUpgraded
    }

    /// Opens a WebSocket to `path` on `workspace` with JupyterLab's token (and `headers`: who is
    /// calling), on `loop`.
    static func connect(
        to workspace: Workspace, path: String, headers extra: [(name: String, value: String)] = [], maxFrameSize: Int, on loop: any EventLoop
    ) async throws -> Channel {
        let bootstrap = ClientBootstrap(group: loop)
            .channelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .connectTimeout(.seconds(10))
        let address = try UpstreamHTTP.Address(workspace)
        let initializer: @Sendable (any NIOCore.Channel) -> EventLoopFuture<EventLoopFuture<Upgrade>> = { channel in
            channel.eventLoop.makeCompletedFuture {
                let upgrader = NIOTypedWebSocketClientUpgrader<Upgrade>(maxFrameSize: maxFrameSize) { channel, _ in
                    channel.eventLoop.makeCompletedFuture { .websocket(try Channel(wrappingChannelSynchronously: channel)) }
                }
                var headers = HTTPHeaders()
                // The workspace's own, as the HTTP requests to it carry (a pod's name and port,
                // not "localhost").
                headers.add(name: "Host", value: address.hostHeader)
                headers.add(name: "Authorization", value: "token \(workspace.token)")
                headers.add(name: "Content-Length", value: "0")
                for header in extra { headers.add(name: header.name, value: header.value) }
                let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
                let configuration = NIOTypedHTTPClientUpgradeConfiguration<Upgrade>(
                    upgradeRequestHead: head, upgraders: [upgrader],
                    notUpgradingCompletionHandler: { channel in channel.eventLoop.makeCompletedFuture { .notUpgraded } }
                )
                return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(
                    configuration: .init(upgradeConfiguration: configuration)
                )
            }
        }
        let upgrade = try await address.connect(bootstrap, initializer: initializer)
        switch try await upgrade.get() {
        case .websocket(let channel): return channel
        case .notUpgraded: throw Failure.notUpgraded
        }
    }

    /// A client frame: fin, masked.
    static func frame(_ opcode: WebSocketOpcode, _ data: ByteBuffer) -> WebSocketFrame {
        WebSocketFrame(fin: true, opcode: opcode, maskKey: .random(), data: data)
    }

    /// Puts a workspace's fragmented messages back together.
    struct Assembler {
        let limit: Int
        private var opcode: WebSocketOpcode?
        private var buffer = ByteBuffer()

        init(limit: Int) { self.limit = limit }

        /// The whole message once `frame` completes one; nil while it is still in pieces.
        mutating func add(_ frame: WebSocketFrame) throws -> (opcode: WebSocketOpcode, data: ByteBuffer)? {
            var data = frame.unmaskedData
            if frame.opcode != .continuation {
                if frame.fin { return (frame.opcode, data) }
                opcode = frame.opcode
                buffer.clear()
            }
            guard let started = opcode else { return nil }  // a stray continuation: nothing to add it to
            guard buffer.readableBytes + data.readableBytes <= limit else { throw Failure.messageTooLarge(limit) }
            buffer.writeBuffer(&data)
            guard frame.fin else { return nil }
            opcode = nil
            return (started, buffer)
        }
    }
}
