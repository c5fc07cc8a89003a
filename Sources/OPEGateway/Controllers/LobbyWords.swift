import Foundation
import OPECore
import OPERuntime

/// What the lobby and the session pages say about waiting and teams, in one place, so the page,
/// its script and the JSON API use the same words.
enum LobbyWords {
    /// A duration as people say it: "5 minutes", "1 minute 30 seconds", "45 seconds".
    static func spoken(_ interval: TimeInterval) -> String {
        let total = max(0, Int(interval.rounded()))
        let minutes = total / 60
        let seconds = total % 60
        func unit(_ value: Int, _ name: String) -> String { "\(value) \(name)\(value == 1 ? "" : "s")" }
        switch (minutes, seconds) {
        case (0, _): return unit(seconds, "second")
        case (_, 0): return unit(minutes, "minute")
        default: return unit(minutes, "minute") + " " + unit(seconds, "second")
        }
    }

    /// How long one may wait and what happens then, before it happens.
    static func waitLimit(_ waiting: SessionManager.Waiting) -> String {
        "You can wait up to \(spoken(waiting.giveUpAt.timeIntervalSince(waiting.since))). If no team has formed by then, "
            + "you leave the queue and can join again."
    }

    /// How a team forms for someone waiting: at once when enough are there, or alone after the settle time.
    static func teamForming(_ waiting: SessionManager.Waiting) -> String {
        let settle = spoken(waiting.settleAt.timeIntervalSince(waiting.since))
        let group = waiting.group
        if group.min <= 1, group.target > 1 {
            return "A team starts as soon as \(group.target) people are waiting. If nobody else is waiting after \(settle), "
                + "you start on your own, and people who join later can join your team."
        }
        if group.target <= 1 { return "You start on your own as soon as a place is free." }
        return "A team starts as soon as \(group.target) people are waiting, or \(group.min) after \(settle)."
    }

    /// The lobby gave up.
    static let gaveUp = "Nobody else joined in time, so you left the queue. Join again when you are ready, or pick another exercise."

    /// Said to someone placed in a team of one.
    static func alone(lateJoin: Duration?) -> String {
        guard let lateJoin, lateJoin > .zero else { return "Nobody else was waiting, so you are working on your own." }
        return "Nobody else was waiting, so you are working on your own for now. Anyone who joins this exercise in the next "
            + "\(spoken(lateJoin.timeInterval)) joins your team."
    }
}
