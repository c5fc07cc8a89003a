import Foundation
import Metrics
import OPECore
import Synchronization

/// Who is connected to which team room, and delivery of committed events to them.
///
/// The hub subscribes to the event log, so a room only ever shows what is durable, in log order.
/// Each connection has a bounded outbox; a client too slow to keep up is disconnected rather
/// than allowed to grow the server's memory, and catches up by reconnecting with `?after=`.
final class RoomHub: Sendable {
    /// One open WebSocket.
    final class Connection: Sendable {
        let id = UUID()
        let user: String
        let session: String
        let outbox: AsyncStream<Outgoing>.Continuation
        let stream: AsyncStream<Outgoing>
        private let signedOut = Mutex(false)

        init(user: String, session: String, capacity: Int) {
            self.user = user
            self.session = session
            (stream, outbox) = AsyncStream.makeStream(of: Outgoing.self, bufferingPolicy: .bufferingOldest(capacity))
        }

        /// Queues `text`; false (and the connection is finished) if the outbox is full.
        @discardableResult
        func send(_ text: String, eventID: Int64? = nil) -> Bool {
            switch outbox.yield(Outgoing(eventID: eventID, text: text)) {
            case .enqueued: return true
            case .dropped:
                // Too far behind: cut off (the socket is closed with the reason) rather than queued.
                RoomHub.cutOff.increment()
                outbox.finish()
                return false
            case .terminated:
                return false
            @unknown default: return false
            }
        }

        /// Ends the connection because its sign-in or token was revoked: the client is told in a
        /// `signed_out` message, then the socket closes with ``RoomHub/signedOutCloseCode``.
        func signOut() {
            signedOut.withLock { $0 = true }
            send(RoomMessage.signedOut(message: "You were signed out — sign in again.").json())
            outbox.finish()
        }

        /// Whether ``signOut()`` ended it.
        var wasSignedOut: Bool { signedOut.withLock { $0 } }
    }

    /// Room sockets cut off because their client did not read what the room sent them.
    static let cutOff = Counter(label: "ope_room_sockets_closed_total", dimensions: [("reason", "too_slow")])

    /// The close code of a room socket whose sign-in ended (an application code, like HTTP's 401).
    static let signedOutCloseCode: UInt16 = 4401

    /// A JSON text waiting to be written, with the id of the event it shows, if any.
    struct Outgoing: Sendable {
        var eventID: Int64?
        var text: String
    }

    private struct State {
        var rooms: [String: [UUID: Connection]] = [:]
        /// Open connections in all rooms (counted, not summed: 10,000 sockets connecting at once
        /// each summed every room).
        var count = 0
    }

    private let state = Mutex(State())
    let capacity: Int
    /// Each event's room text, made once for live delivery and every socket's history.
    let texts = EventTexts()
    private let connections = Gauge(label: "ope_room_connections")

    init(capacity: Int = 1024) {
        self.capacity = capacity
    }

    /// Registers a connection; it receives every event committed from now on.
    /// Returns the connection and whether it is the user's first in that room.
    func connect(user: String, session: String) -> (Connection, first: Bool) {
        let connection = Connection(user: user, session: session, capacity: capacity)
        let (first, count) = state.withLock { state in
            let first = !(state.rooms[session]?.values.contains { $0.user == user } ?? false)
            state.rooms[session, default: [:]][connection.id] = connection
            state.count += 1
            return (first, state.count)
        }
        connections.record(count)
        return (connection, first)
    }

    /// Removes a connection; returns whether it was the user's last in that room.
    func disconnect(_ connection: Connection) -> Bool {
        connection.outbox.finish()
        let (last, count) = state.withLock { state in
            if state.rooms[connection.session]?.removeValue(forKey: connection.id) != nil { state.count -= 1 }
            if state.rooms[connection.session]?.isEmpty == true { state.rooms[connection.session] = nil }
            return (!(state.rooms[connection.session]?.values.contains { $0.user == connection.user } ?? false), state.count)
        }
        connections.record(count)
        return last
    }

    /// Ends every connection of `user` to `session` (they left the team): what is already queued
    /// for them (the news of their leaving) is still sent, then the room closes for them.
    func closeConnections(of user: String, in session: String) {
        let theirs = state.withLock { $0.rooms[session]?.values.filter { $0.user == user } ?? [] }
        for connection in theirs { connection.outbox.finish() }
    }

    /// Users with at least one open connection to `session`.
    func connectedUsers(in session: String) -> Set<String> {
        state.withLock { Set($0.rooms[session]?.values.map(\.user) ?? []) }
    }

    /// Fans committed events out to the rooms they belong to (called by the event log, in order).
    func deliver(_ events: [Event]) {
        let targets: [(Event, [Connection])] = state.withLock { state in
            events.compactMap { event in event.session.flatMap { state.rooms[$0] }.map { (event, Array($0.values)) } }
        }
        // Each event's text is made once (outside the lock) for all its room's sockets.
        for (event, connections) in targets {
            let text = texts.text(of: event)
            for connection in connections { connection.send(text, eventID: event.id) }
        }
    }

    /// Sends a message that is not an event (typing) to everyone in `session` except `sender`.
    func broadcast(_ message: RoomMessage, in session: String, except sender: Connection? = nil) {
        let room = state.withLock { $0.rooms[session].map { Array($0.values) } ?? [] }
        guard room.contains(where: { $0.id != sender?.id }) else { return }
        let text = message.json()
        for connection in room where connection.id != sender?.id { connection.send(text) }
    }
}
