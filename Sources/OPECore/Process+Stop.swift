import Foundation

extension Process {
    /// Ends the process group this process leads (Foundation starts every child as the leader of a
    /// group of its own): SIGTERM, then SIGKILL to the group if it still runs after `grace`.
    /// `alongside` is called with the SIGTERM, for processes the group does not hold (a sandbox's
    /// other sessions). Nothing is sent once the process has exited: its pid may belong to
    /// someone else by then.
    public func terminateGroup(grace: Duration, alongside: () -> Void = {}) async {
        guard isRunning else { return }
        let group = -processIdentifier
        kill(group, SIGTERM)
        alongside()
        _ = await waitForExit(within: grace)
        if isRunning { kill(group, SIGKILL) }
    }

    /// Waits up to `bound` for the process to exit (Foundation reports it); returns whether it did.
    public func waitForExit(within bound: Duration) async -> Bool {
        let deadline = ContinuousClock.now + bound
        while isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return !isRunning
    }
}
