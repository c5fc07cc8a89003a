import OPEWorkspaces
import Testing

@testable import OPERuntime

/// Requests waiting for a workspace's start (`WorkspaceService.open`): the wait is registered by the
/// service before it lets anything else in, so a start that ends before the waiting task runs
/// still answers it (it used to be missed, and the request got a 503 after its whole wait).
@Suite struct StartWaitersTests {
    let workspace = Workspace(id: "s-1", session: "s-1", url: "http://127.0.0.1:1/w/s-1/", token: "t", directory: "/tmp/s-1")

    @Test func aStartThatEndsBeforeTheWaitBeginsStillAnswersIt() async {
        let waiters = StartWaiters()
        let ticket = waiters.register("s-1")
        waiters.finish("s-1", with: workspace)
        #expect(await waiters.wait(ticket) == workspace)
    }

    @Test func aWaitGetsTheStartThatEndsWhileItWaits() async {
        let waiters = StartWaiters()
        let ticket = waiters.register("s-1")
        let waiting = Task { await waiters.wait(ticket) }
        waiters.finish("s-1", with: workspace)
        #expect(await waiting.value == workspace)
    }

    @Test func onlyItsOwnSessionsStartAnswersAWaitAndACancelledOneGetsNothing() async {
        let waiters = StartWaiters()
        let ticket = waiters.register("s-1")
        waiters.finish("s-2", with: Workspace(id: "s-2", session: "s-2", url: "http://127.0.0.1:1/w/s-2/", token: "t", directory: "/tmp/s-2"))
        let waiting = Task { await waiters.wait(ticket) }
        waiting.cancel()
        #expect(await waiting.value == nil)
        // A failed start answers nil as well.
        let failed = waiters.register("s-3")
        waiters.finish("s-3", with: nil)
        #expect(await waiters.wait(failed) == nil)
    }
}
