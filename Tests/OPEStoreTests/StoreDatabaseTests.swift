import GRDB
import OPEStore
import Testing

@Suite struct StoreDatabaseTests {
    @Test func theWritingConnectionSyncsEveryCommit() async throws {
        let test = try TestStore()
        defer { test.remove() }
        let level = try await test.store.database.writer.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") }
        #expect(level == 2, "PRAGMA synchronous is FULL (2), so each commit is fsynced before it returns")
    }
}
