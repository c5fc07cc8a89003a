import Foundation

/// The rules that slow password guessing down without letting anyone lock a person out (pure:
/// time comes in, a wait comes out; ``LoginThrottle`` keeps one and feeds it the clock).
///
/// Three counts of failures within ``window``, each free up to a number and then answered with a
/// wait that doubles with every further failure, up to a cap — a delay, never a lock:
/// - **this username from this address**: 5 free. A guesser is slowed at once; nobody else is.
/// - **this address, any username**: 100 free. A class behind one NAT mistyping passwords does
///   not stop itself; one address trying many accounts is slowed.
/// - **this username, from addresses it never signed in from**: 20 free. Guessing one account
///   from many addresses is slowed, but not from an address (and so a device) where the person
///   signed in successfully in the last ``knownFor``: five wrong passwords from elsewhere cannot
///   lock the instructor out of their own computer.
public struct SignInThrottle: Sendable {
    /// A count of failures: free up to `free`, then a wait doubling from 1 s up to `cap` seconds.
    public struct Rule: Sendable {
        public var free: Int
        public var cap: TimeInterval
        public init(free: Int, cap: TimeInterval) {
            self.free = free
            self.cap = cap
        }
    }

    public var window: TimeInterval = 900
    public var knownFor: TimeInterval = 30 * 86_400
    public var pair = Rule(free: 5, cap: 300)
    public var address = Rule(free: 100, cap: 300)
    public var user = Rule(free: 20, cap: 900)

    private var pairFailures: [String: [Date]] = [:]
    private var addressFailures: [String: [Date]] = [:]
    private var userFailures: [String: [Date]] = [:]
    /// Addresses each username signed in from, with when.
    private var known: [String: [String: Date]] = [:]

    public init() {}

    /// How long someone must wait before trying `username` from `address` (nil: now).
    public mutating func wait(username: String, address: String?, now: Date) -> TimeInterval? {
        prune(now: now)
        let place = address ?? "?"
        var waits = [Self.wait(after: pairFailures[username + "\u{0}" + place] ?? [], rule: pair, now: now)]
        if address != nil { waits.append(Self.wait(after: addressFailures[place] ?? [], rule: self.address, now: now)) }
        if !isKnown(place, for: username, now: now) { waits.append(Self.wait(after: userFailures[username] ?? [], rule: user, now: now)) }
        let longest = waits.compactMap { $0 }.max()
        return longest.flatMap { $0 > 0 ? $0 : nil }
    }

    public mutating func failed(username: String, address: String?, now: Date) {
        let place = address ?? "?"
        pairFailures[username + "\u{0}" + place, default: []].append(now)
        if address != nil { addressFailures[place, default: []].append(now) }
        if !isKnown(place, for: username, now: now) { userFailures[username, default: []].append(now) }
    }

    /// A success forgives this username's failures from this address and makes the address known.
    public mutating func succeeded(username: String, address: String?, now: Date) {
        let place = address ?? "?"
        pairFailures[username + "\u{0}" + place] = nil
        known[username, default: [:]][place] = now
    }

    private func isKnown(_ place: String, for username: String, now: Date) -> Bool {
        known[username]?[place].map { now.timeIntervalSince($0) < knownFor } ?? false
    }

    /// Free for `rule.free` failures; then 1 s after the last failure, doubling with each more.
    static func wait(after failures: [Date], rule: Rule, now: Date) -> TimeInterval? {
        guard failures.count >= rule.free, let last = failures.last else { return nil }
        let delay = min(rule.cap, pow(2, Double(failures.count - rule.free)))
        return delay - now.timeIntervalSince(last)
    }

    /// Forgets failures older than the window (and known addresses past their time), so memory
    /// stays bounded by what happened lately.
    private mutating func prune(now: Date) {
        let cutoff = now.addingTimeInterval(-window)
        for table in [\Self.pairFailures, \Self.addressFailures, \Self.userFailures] as [WritableKeyPath<Self, [String: [Date]]>] {
            self[keyPath: table] = self[keyPath: table].compactMapValues { dates in
                let recent = dates.filter { $0 > cutoff }
                return recent.isEmpty ? nil : recent
            }
        }
        let knownCutoff = now.addingTimeInterval(-knownFor)
        known = known.compactMapValues { places in
            let recent = places.filter { $0.value > knownCutoff }
            return recent.isEmpty ? nil : recent
        }
    }
}
