import Foundation
import Logging
import Metrics
import NIOCore
import OPECore
import OPEStore
import Synchronization

/// Members' editing in their team's JupyterLab, as the workspace proxy sees it, recorded cheaply.
///
/// Editing never reaches the platform as such: it travels as Yjs messages on JupyterLab's
/// collaboration WebSockets, which the proxy relays. A document update a member sends (sync
/// message, subtype update) counts as an edit; cursor moves and selections (awareness) and the
/// first sync of a document do not. Updates are coalesced per member: the first one records a
/// `workspace.edited` event at once, later ones only count until a minute has passed since that
/// member's last event, and the next update then records the count. So the log holds at most one
/// event per member and minute (the dashboard's "last activity" and the research record read it),
/// never one per keystroke, and a member's burst of typing costs one counter increment per update.
public final class EditActivity: Sendable {
    /// Shortest time between two `workspace.edited` events of one member in one session.
    let window: Duration
    let events: EventLog
    let clock: any PlatformClock

    private struct Key: Hashable {
        var session: String
        var user: String
    }

    private struct Tally {
        var recordedAt: Date
        var updates: Int
    }

    private let tallies = Mutex<[Key: Tally]>([:])
    private let updatesCounter = Counter(label: "ope_workspace_edit_updates_total")

    public init(events: EventLog, clock: any PlatformClock, window: Duration = .seconds(60)) {
        self.events = events
        self.clock = clock
        self.window = window
    }

    /// Whether a binary message from a browser is a Yjs document update: message type sync (0),
    /// sync subtype update (2). Step 1 and 2 of the first sync are not edits.
    public static func isDocumentUpdate(_ data: ByteBuffer) -> Bool {
        data.readableBytes >= 2 && data.getInteger(at: data.readerIndex, as: UInt8.self) == 0
            && data.getInteger(at: data.readerIndex + 1, as: UInt8.self) == 2
    }

    /// One document update by `user` in `session`: counted, and recorded if their last event is a
    /// window old (or there is none).
    public func note(session: String, user: String, logger: Logger) async {
        updatesCounter.increment()
        let now = clock.now
        let due: Int? = tallies.withLock { tallies in
            let key = Key(session: session, user: user)
            guard var tally = tallies[key] else {
                tallies[key] = Tally(recordedAt: now, updates: 0)
                return 1
            }
            tally.updates += 1
            if now.timeIntervalSince(tally.recordedAt) >= window.timeInterval {
                let count = tally.updates
                tallies[key] = Tally(recordedAt: now, updates: 0)
                return count
            }
            tallies[key] = tally
            return nil
        }
        guard let due else { return }
        do {
            _ = try await events.append(
                EventDraft(time: now, type: .workspaceEdited, actor: user, session: session, payload: EditedPayload(updates: due))
            )
        } catch {
            logger.warning("edit activity not recorded", metadata: ["session": "\(session)", "user": "\(user)", "error": "\(error)"])
        }
    }
}
