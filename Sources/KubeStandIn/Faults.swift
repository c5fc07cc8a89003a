/// The failures tests ask the stand-in for.
struct Faults: Sendable {
    /// Answer the next requests with these errors (429 with Retry-After, 500, 503), one each.
    var failures: [StatusError] = []
    /// Answer the next this-many conditional writes (with a resourceVersion) with 409 Conflict.
    var conflicts = 0
    /// Crash once the write count reaches this.
    var crashAfterWrites: Int?
    /// While set, every connection is cut: the server has crashed and not come back.
    var crashed = false
}

extension ObjectStore {
    /// Answers the next `count` requests with `code` (429 TooManyRequests with `Retry-After`, 500, 503) and a Status.
    public func failNextRequests(_ count: Int, code: Int, retryAfterSeconds: Int = 1) {
        let reason =
            switch code {
            case 429: "TooManyRequests"
            case 503: "ServiceUnavailable"
            case 504: "Timeout"
            default: "InternalError"
            }
        let message = code == 429 ? "Too many requests, please try again later." : "Internal error occurred: injected by the stand-in's fault hook"
        faults.failures += Array(
            repeating: StatusError(code: code, reason: reason, message: message, retryAfter: code == 429 ? retryAfterSeconds : nil), count: count)
    }

    /// Answers the next `count` updates that carry a resourceVersion with 409 Conflict, as if someone had written first.
    public func forceConflicts(_ count: Int) { faults.conflicts += count }

    /// Crashes after the `count`-th write from now: that write is stored (as in etcd) but its
    /// response is cut off, and every connection is cut until ``restart()``.
    public func crash(afterWrites count: Int) { faults.crashAfterWrites = writes + count }

    /// Crashes now: open watches end and every request's connection is cut until ``restart()``.
    public func crash() {
        faults.crashed = true
        dropWatches()
    }

    /// Comes back after a crash with every stored object (the real server's state lives in etcd).
    public func restart() { faults.crashed = false }

    public var isCrashed: Bool { faults.crashed }

    /// Ends every open watch, as a restarting API server or a broken connection does.
    public func dropWatches() {
        for id in watchers.keys { endWatch(id) }
    }

    /// Forgets the history up to now: a watch or continue token from before gets 410 Expired.
    public func compact() {
        compactedThrough = revision
        history.removeAll()
    }

    /// Sends every watch that allows bookmarks a bookmark at the current resource version.
    public func sendBookmarks() {
        for id in watchers.keys { bookmark(id) }
    }

    /// How many watches are open (tests wait for a client's watch to be in place).
    public var openWatches: Int { watchers.count }

    /// The injected failure for this request, if one is due.
    func takeFailure() -> StatusError? {
        faults.failures.isEmpty ? nil : faults.failures.removeFirst()
    }

    func takeConflict() -> Bool {
        guard faults.conflicts > 0 else { return false }
        faults.conflicts -= 1
        return true
    }
}
