import Foundation
import OPEStore

/// A store in a fresh temporary folder, with cheap password hashing so tests stay fast.
struct TestStore {
    let folder: String
    let store: Store

    init() throws {
        folder = NSTemporaryDirectory() + "ope-store-\(UUID().uuidString)"
        store = try Store(dataDirectory: folder, hasher: PasswordHasher(logN: 8, blockSize: 8, parallelism: 1))
    }

    func remove() { try? FileManager.default.removeItem(atPath: folder) }
}
