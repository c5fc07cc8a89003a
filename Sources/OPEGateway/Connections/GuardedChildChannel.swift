import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// A server's child channel with OPE's connection guards around Hummingbird's own: the
/// ``ConnectionGate`` first in the pipeline, and after the HTTP request decoder the
/// ``RequestHeadGuard`` and (where WebSocket upgrades are checked) the ``UpgradeRefusalHandler``.
struct GuardedChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let limits: ConnectionLimits
    let counter: ConnectionCounter?
    let upgradeCheck: UpgradeRefusalHandler.Check?
    /// Runs each connection's task on its socket's event loop (see ``EventLoopTaskExecutor``).
    var onEventLoop = false

    /// How much each connection reads at once: from 1 KiB (NIO's default starts at 2 KiB), growing
    /// for large requests and frames and shrinking again. Each connection keeps its last read
    /// buffer for the next read, so with 10,000 room sockets (whose frames are small JSON) the
    /// default held about 20 MiB of mostly empty buffers.
    static var receiveBuffers: AdaptiveRecvByteBufferAllocator { AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 1024, maximum: 65536) }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            let gate = ConnectionGate(counter: counter, exemptLoopback: limits.exemptLoopback, grace: limits.shutdownGrace, logger: logger)
            try channel.pipeline.syncOperations.addHandler(gate, position: .first)
            try channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: Self.receiveBuffers)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        let limits = self.limits
        let upgradeCheck = self.upgradeCheck
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.context(handlerType: ByteToMessageHandler<HTTPRequestDecoder>.self).handler
            var handlers: [any ChannelHandler] = [RequestHeadGuard(timeout: limits.headerTimeout, logger: logger)]
            if let upgradeCheck { handlers.append(UpgradeRefusalHandler(check: upgradeCheck, logger: logger)) }
            try pipeline.addHandlers(handlers, position: .after(decoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        // No preference (nil) leaves the task where it is: on the concurrency pool.
        let executor = onEventLoop ? EventLoopTaskExecutor(value.channel.eventLoop) : nil
        await withTaskExecutorPreference(executor) { await base.handle(value: value, logger: logger) }
    }
}
