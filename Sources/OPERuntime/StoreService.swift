import GRDB
import Logging
import OPEStore
import ServiceLifecycle

/// Keeps the store open while the server runs and closes it last on shutdown, after the HTTP
/// server has finished its requests, so every acknowledged event is on disk before exit.
struct StoreService: Service {
    let store: Store
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        // Wait for any event still being written, then checkpoint the WAL into the main file.
        await store.events.drain()
        try store.database.writer.close()
        logger.info("event log flushed and closed")
    }
}
