import NIOCore
import NIOPosix
import Testing

@testable import OPEGateway

/// The workspace origin's connections run their tasks on their socket's event loop: every step
/// of such a task, and its child tasks, run on that loop's thread, and a task without the
/// preference does not.
@Suite struct EventLoopTaskExecutorTests {
    @Test func aTaskPreferringALoopRunsEveryStepOnIt() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loop = group.next()
        let other = group.next()
        let steps = await withTaskExecutorPreference(EventLoopTaskExecutor(loop)) {
            var steps: [Bool] = [loop.inEventLoop]
            // A suspension that resumes from another thread (a future completed on another loop).
            try? await other.submit { 42 }.get()
            steps.append(loop.inEventLoop)
            await Task.yield()
            steps.append(loop.inEventLoop)
            let children = await withTaskGroup(of: Bool.self) { children in
                for _ in 0..<4 { children.addTask { loop.inEventLoop } }
                return await children.reduce(into: [Bool]()) { $0.append($1) }
            }
            return steps + children
        }
        #expect(steps == Array(repeating: true, count: 7))
        #expect(!loop.inEventLoop)
        try await group.shutdownGracefully()
    }
}
