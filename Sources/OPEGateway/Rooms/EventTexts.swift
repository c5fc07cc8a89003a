import OPECore
import Synchronization

/// The JSON text a room sends for each committed event, made once per event.
///
/// Events never change, and every member of a room is sent the same text: live (the hub encodes
/// each event once for all its sockets) and in the history a socket reads when it opens. Before,
/// each socket's history was decoded, rendered (bot Markdown) and encoded again for every member
/// and every reconnect; after a restart, 10,000 sockets reading their rooms' history made that a
/// fifth of the server's work. One per hub (event ids are a log's own, not the process's).
final class EventTexts: Sendable {
    private struct State {
        var texts: [Int64: String] = [:]
        /// Ids in the order they were kept.
        var order: [Int64] = []
    }
    private let state = Mutex(State())
    /// How many events' texts are kept (a few hundred bytes each).
    let limit: Int

    init(limit: Int = 20_000) { self.limit = limit }

    func text(of event: Event) -> String {
        if let known = state.withLock({ $0.texts[event.id] }) { return known }
        let text = RoomMessage(event).json()
        state.withLock { state in
            // The newest are the ones asked for again (a room's recent history): when full, the
            // older half goes.
            if state.texts.count >= limit {
                let old = state.order.prefix(state.order.count / 2)
                for id in old { state.texts[id] = nil }
                state.order.removeFirst(old.count)
            }
            if state.texts.updateValue(text, forKey: event.id) == nil { state.order.append(event.id) }
        }
        return text
    }
}
