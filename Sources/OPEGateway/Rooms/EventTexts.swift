import OPECore
import Synchronization

/// The JSON text a room sends for each committed event, made once per event.
///
/// Events never change, and every member of a room is sent the same text: live (the hub encodes
/// each event once for all its sockets) and in the history a socket reads when it opens. Before,
/// each socket's history was decoded, rendered (bot Markdown) and encoded again for every member
/// and every reconnect; after a restart, 10,000 sockets reading their rooms' history made that a
/// fifth of the server's work. One per hub.
///
/// An event is known by its id and its session: on an edge of a cluster the hub takes every
/// core's events, and each core numbers its own log from 1, so one id names an event on each
/// core. A session lives on one core, so the pair names one event.
final class EventTexts: Sendable {
    private struct Key: Hashable {
        var id: Int64
        var session: String?
        init(_ event: Event) {
            id = event.id
            session = event.session
        }
    }
    private struct State {
        var texts: [Key: String] = [:]
        /// Keys in the order they were kept.
        var order: [Key] = []
    }
    private let state = Mutex(State())
    /// How many events' texts are kept (a few hundred bytes each).
    let limit: Int

    init(limit: Int = 20_000) { self.limit = limit }

    func text(of event: Event) -> String {
        let key = Key(event)
        if let known = state.withLock({ $0.texts[key] }) { return known }
        let text = RoomMessage(event).json()
        state.withLock { state in
            // The newest are the ones asked for again (a room's recent history): when full, the
            // older half goes.
            if state.texts.count >= limit {
                let old = state.order.prefix(state.order.count / 2)
                for key in old { state.texts[key] = nil }
                state.order.removeFirst(old.count)
            }
            if state.texts.updateValue(text, forKey: key) == nil { state.order.append(key) }
        }
        return text
    }
}
