import Foundation
import OPECore
import Testing

/// `/proc` files say they are empty; Foundation's readers stopped after 4 KiB of them, so a long
/// mount table hid the mounts at its end (a team's volume looked unmounted and was mounted twice).
@Suite struct ProcFileTests {
    @Test func readsAProcFileWhole() async throws {
        // A long file that does not change while the test runs.
        let path = "/proc/kallsyms"
        let ours = try #require(ProcFile.data(path))
        let counted = try await CommandRunner().run(["sh", "-c", "wc -c < \(path)"], timeout: .seconds(60))
        #expect(ours.count > 4096)
        #expect(ours.count == Int(counted.output.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(ProcFile.data("/proc/no-such-file") == nil)
    }
}
