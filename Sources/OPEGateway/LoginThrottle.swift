import OPECore

/// Slows down password guessing: too many failed sign-ins for one username, or from one address,
/// refuse further attempts for a while (answered 429 with Retry-After).
actor LoginThrottle {
    private var byUser: [String: FailureWindow] = [:]
    private var byAddress: [String: FailureWindow] = [:]
    private let userLimit: Int
    private let addressLimit: Int
    private let window: Duration
    private let clock = ContinuousClock()

    init(userLimit: Int = 5, addressLimit: Int = 30, window: Duration = .seconds(300)) {
        self.userLimit = userLimit
        self.addressLimit = addressLimit
        self.window = window
    }

    /// How long the caller must wait before trying `username` from `address`, or nil.
    func retryAfter(username: String, address: String?) -> Duration? {
        let now = clock.now
        var waits: [Duration] = []
        if var entry = byUser[username] {
            if let wait = entry.retryAfter(now: now) { waits.append(wait) }
            byUser[username] = entry.isEmpty ? nil : entry
        }
        if let address, var entry = byAddress[address] {
            if let wait = entry.retryAfter(now: now) { waits.append(wait) }
            byAddress[address] = entry.isEmpty ? nil : entry
        }
        return waits.max()
    }

    func recordFailure(username: String, address: String?) {
        let now = clock.now
        byUser[username, default: FailureWindow(limit: userLimit, window: window)].recordFailure(now: now)
        if let address {
            byAddress[address, default: FailureWindow(limit: addressLimit, window: window)].recordFailure(now: now)
        }
    }

    /// A successful sign-in forgives the user's earlier mistakes (not the address's).
    func recordSuccess(username: String) {
        byUser[username] = nil
    }
}
