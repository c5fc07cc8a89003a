import Foundation
import Logging
import Metrics
import NIOCore
import OPECore
import OPEStore
import ServiceLifecycle
import Synchronization

/// A member's document update as the workspace proxy saw it on a collaboration socket.
public struct DocumentEdit: Sendable, Hashable {
    public var session: String
    public var user: String
    /// The document's path in the workspace, when the proxy knows it.
    public var document: String?
    /// The update's size (Yjs-encoded).
    public var bytes: Int
    /// The member's team role then.
    public var role: String?

    public init(session: String, user: String, document: String? = nil, bytes: Int = 0, role: String? = nil) {
        self.session = session
        self.user = user
        self.document = document
        self.bytes = bytes
        self.role = role
    }
}

/// Members' editing in their team's JupyterLab, as the workspace proxy sees it, recorded cheaply.
///
/// Editing never reaches the platform as such: it travels as Yjs messages on JupyterLab's
/// collaboration WebSockets, which the proxy relays. A document update a member sends (sync
/// message, subtype update) counts as an edit; cursor moves and selections (awareness) and the
/// first sync of a document do not. Updates are coalesced per member and document: the first one
/// records a `workspace.edited` event at once, later ones only count (and add up their size) until
/// 10 seconds have passed since that member's last event for the document, and the next update
/// then records the count. So the log holds at most one event per member, document and window (the
/// dashboard's "last activity" and the research record read it), never one per keystroke, and a
/// member's burst of typing costs one counter increment per update. Run as a service, it also
/// records what was counted once the window has passed with no further edit (``flush(now:)``), so
/// the end of a burst is in the record within a window and a few seconds, not only when the member
/// next types.
public final class EditActivity: Service, Sendable {
    /// Shortest time between two `workspace.edited` events of one member and document in one session.
    let window: Duration
    let events: EventLog
    let clock: any PlatformClock

    private struct Key: Hashable {
        var session: String
        var user: String
        var document: String?
    }

    private struct Tally {
        var recordedAt: Date
        var updates: Int
        var bytes: Int
        var role: String? = nil
    }

    private let tallies = Mutex<[Key: Tally]>([:])
    private let updatesCounter = Counter(label: "ope_workspace_edit_updates_total")

    public init(events: EventLog, clock: any PlatformClock, window: Duration = .seconds(10)) {
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

    /// One document update: counted, and recorded if the member's last event for the document is
    /// a window old (or there is none).
    public func note(_ edit: DocumentEdit, updates: Int = 1, logger: Logger) async {
        updatesCounter.increment(by: updates)
        let now = clock.now
        let due: Tally? = tallies.withLock { tallies in
            let key = Key(session: edit.session, user: edit.user, document: edit.document)
            guard var tally = tallies[key] else {
                tallies[key] = Tally(recordedAt: now, updates: 0, bytes: 0, role: edit.role)
                return Tally(recordedAt: now, updates: updates, bytes: edit.bytes)
            }
            tally.updates += updates
            tally.bytes += edit.bytes
            tally.role = edit.role
            if now.timeIntervalSince(tally.recordedAt) >= window.timeInterval {
                tallies[key] = Tally(recordedAt: now, updates: 0, bytes: 0, role: edit.role)
                return tally
            }
            tallies[key] = tally
            return nil
        }
        guard let due else { return }
        let payload = EditedPayload(updates: due.updates, document: edit.document, bytes: due.bytes, role: edit.role)
        let draft = EventDraft(time: now, type: .workspaceEdited, actor: edit.user, session: edit.session, payload: payload)
        // Appended on its own: the proxy relays the member's keystroke without waiting for the
        // log's commit (an fsync).
        Task { [events] in
            do {
                _ = try await events.append(draft)
            } catch {
                logger.warning("edit activity not recorded", metadata: ["session": "\(edit.session)", "user": "\(edit.user)", "error": "\(error)"])
            }
        }
    }

    /// Records, for every member and document whose window has passed, the updates counted since
    /// their last event; forgets those with nothing counted (their next edit is recorded at once).
    public func flush(now: Date, logger: Logger) async {
        let due: [EventDraft] = tallies.withLock { tallies in
            var due: [EventDraft] = []
            for (key, tally) in tallies where now.timeIntervalSince(tally.recordedAt) >= window.timeInterval {
                if tally.updates > 0 {
                    let payload = EditedPayload(updates: tally.updates, document: key.document, bytes: tally.bytes, role: tally.role)
                    due.append(EventDraft(time: now, type: .workspaceEdited, actor: key.user, session: key.session, payload: payload))
                }
                tallies[key] = nil
            }
            return due
        }
        guard !due.isEmpty else { return }
        do {
            _ = try await events.append(contentsOf: due)
        } catch {
            logger.warning("edit activity not recorded", metadata: ["events": "\(due.count)", "error": "\(error)"])
        }
    }

    public func run() async throws {
        let logger = Logger(label: "ope.edits")
        await every(.seconds(10), on: clock) { [self] now in await flush(now: now, logger: logger) }
        await flush(now: clock.now.addingTimeInterval(window.timeInterval), logger: logger)
    }
}
