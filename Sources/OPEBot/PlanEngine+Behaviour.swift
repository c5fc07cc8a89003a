import Foundation
import OPECore

/// Triggers on how the team works, from the workspace's attributed record: a member silent in the
/// chat, one member making most of the edits, a driver who runs nothing, the same error again and
/// again (`docs/bot-plans.md`).
///
/// `silent` and `driverIdle` are about time passing. Each keeps one `.quiet` timer at the moment
/// its next quiet spell would be long enough, moved on when the spell is broken; so they speak on
/// time without any other traffic, and a waiting engine has one deadline, not a poll.
/// `editShare` and `repeatedError` change only when an edit or a run arrives and are decided then.
extension PlanEngine {
    struct EditBatch: Sendable, Hashable {
        var time: Double
        var user: String
        var updates: Int
    }

    struct ErrorRun: Sendable, Hashable {
        var time: Double
        var cell: String?
    }

    /// `Driver`, `driver` and `DRIVER` are one role; so are `Lead_Driver` and `lead driver`.
    static func roleKey(_ role: String) -> String {
        role.lowercased().replacingOccurrences(of: "_", with: " ").trimmingCharacters(in: .whitespaces)
    }

    /// Whole minutes, or seconds below a minute, for trigger details: `5 min`, `45 s`.
    static func minutes(_ seconds: Double) -> String {
        seconds >= 60 && seconds.truncatingRemainder(dividingBy: 60) == 0 ? "\(Int(seconds / 60)) min" : "\(Int(seconds.rounded())) s"
    }

    /// The present member holding the driver role (the latest to take it, should two hold it).
    public var driver: String? {
        guard let driverRole else { return nil }
        let key = Self.roleKey(driverRole)
        return present.filter { roles[$0].map(Self.roleKey) == key }.max { (roleSince[$0] ?? 0, $1) < (roleSince[$1] ?? 0, $0) }
    }

    // MARK: Inputs

    mutating func edited(user: String, updates: Int) {
        activity()
        guard updates > 0 else { return }
        let windows = plan.triggers.compactMap { trigger -> Double? in
            if case .editShare(_, let window, _) = trigger.event { window } else { nil }
        }
        guard let longest = windows.max() else { return }
        edits.append(EditBatch(time: now, user: user, updates: updates))
        if let keep = edits.firstIndex(where: { $0.time > now - longest }), keep > 0 { edits.removeFirst(keep) }
        guard launchedAt != nil else { return }
        for (index, trigger) in plan.triggers.enumerated() {
            guard case .editShare(let above, let window, let minUpdates) = trigger.event else { continue }
            var counts: [String: Int] = [:]
            for batch in edits.reversed() {
                guard batch.time > now - window else { break }
                counts[batch.user, default: 0] += batch.updates
            }
            let total = counts.values.reduce(0, +)
            // The most updates; between equals, the first name, so the choice is the same every time.
            guard present.count >= 2, total >= minUpdates, let (top, made) = counts.max(by: { ($0.value, $1.key) < ($1.value, $0.key) }),
                Double(made) * 100 > above * Double(total)
            else {
                // Nobody dominates (or too little was edited to tell): the next spell may be named.
                dominantSpoken[index] = nil
                continue
            }
            guard dominantSpoken[index] != top else { continue }
            let share = "\(Int((Double(made) * 100 / Double(total)).rounded()))%"
            if fireTrigger(index, slots: ["[NAME]": top, "[SHARE]": share], detail: "\(top), \(share) of \(total) edits in \(Self.minutes(window))") {
                dominantSpoken[index] = top
            }
        }
    }

    mutating func executed(_ run: Execution) {
        activity()
        // A refused run reached no kernel: the member did not run anything.
        guard run.outcome != "refused" else { return }
        lastRun[run.user] = now
        guard launchedAt != nil else { return }
        for (index, trigger) in plan.triggers.enumerated() {
            guard case .repeatedError(let count, let within, let same) = trigger.event else { continue }
            var runs = errorRuns[index] ?? [:]
            let key: String? = run.outcome == "error" ? run.errorName.map { name in Self.errorKey(name: name, run: run, same: same) } : nil
            // The cell ran clean, or failed differently: its earlier errors are no longer "in a row".
            if run.outcome == "ok" || key != nil {
                for (other, list) in runs where other != key {
                    let kept = list.filter { $0.cell != run.cell }
                    runs[other] = kept.isEmpty ? nil : kept
                }
            }
            if let key, let name = run.errorName {
                var list = runs[key] ?? []
                list.append(ErrorRun(time: now, cell: run.cell))
                if let within { list.removeAll { $0.time <= now - within } }
                if list.count >= count {
                    let error = run.errorValue.map { name + ": " + String($0.prefix(200)) } ?? name
                    let slots = ["[NAME]": run.user, "[ERROR]": error, "[COUNT]": "\(list.count)"]
                    if fireTrigger(index, slots: slots, detail: "\(error), \(list.count) times, last run by \(run.user)") { list.removeAll() }
                }
                runs[key] = list.isEmpty ? nil : list
            }
            errorRuns[index] = runs
        }
    }

    static func errorKey(name: String, run: Execution, same: BotPlan.Trigger.ErrorMatch) -> String {
        switch same {
        case .message: "\(name)\u{1F}\(run.errorValue ?? "")"
        case .cell: "\(name)\u{1F}\(run.cell ?? "")"
        }
    }

    // MARK: Quiet spells

    /// The quiet spells a `silent` or `driverIdle` trigger watches: who, and since when.
    func quietSpells(_ index: Int) -> [(member: String, since: Double)] {
        guard let launchedAt else { return [] }
        switch plan.triggers[index].event {
        case .silent:
            // Silence counts from the launch, the member's arrival or their last message.
            return present.map { member in (member, max(launchedAt, arrivedAt[member] ?? 0, lastChat[member] ?? 0)) }
        case .driverIdle:
            // The driver's own runs since they became driver (and since they arrived).
            guard let driver else { return [] }
            return [(driver, max(launchedAt, roleSince[driver] ?? 0, arrivedAt[driver] ?? 0, lastRun[driver] ?? 0))]
        default:
            return []
        }
    }

    /// Looks at every `silent` and `driverIdle` trigger after something happened.
    mutating func checkQuietTriggers() {
        guard launchedAt != nil, !loggedOut else { return }
        for (index, trigger) in plan.triggers.enumerated() {
            switch trigger.event {
            case .silent, .driverIdle: checkQuiet(index)
            default: continue
            }
        }
    }

    /// Speaks about the spells that have lasted long enough (one per cooldown, the longest
    /// first), then sets a timer for when the next one will have.
    mutating func checkQuiet(_ index: Int) {
        let trigger = plan.triggers[index]
        let length: Double
        let unit: String
        switch trigger.event {
        case .silent(let seconds): (length, unit) = (seconds, "without a chat message")
        case .driverIdle(let seconds): (length, unit) = (seconds, "driving without running code")
        default: return
        }
        // Not for this team's size: nothing to wait for (a late joiner brings the next check).
        guard launchedAt != nil, !loggedOut, trigger.when?.contains(currentTeamSize) ?? true else { return }
        var waiting = quietSpells(index).filter { quietSpoken[index]?[$0.member] != $0.since }.sorted { ($0.since, $0.member) < ($1.since, $1.member) }
        while let spell = waiting.first, spell.since + length <= now, mayFire(index) {
            waiting.removeFirst()
            quietSpoken[index, default: [:]][spell.member] = spell.since
            let quiet = Self.minutes(now - spell.since)
            fireTrigger(index, slots: ["[NAME]": spell.member, "[MINUTES]": "\(Int((now - spell.since) / 60))"], detail: "\(spell.member), \(quiet) \(unit)")
        }
        guard var due = waiting.map({ $0.since + length }).min() else { return }
        if let last = lastFired[index], trigger.cooldown > 0 { due = max(due, last + trigger.cooldown) }
        if let pending = quietCheckAt[index], pending <= due { return }
        quietCheckAt[index] = due
        schedule(.quiet(trigger: index), at: due)
    }
}
