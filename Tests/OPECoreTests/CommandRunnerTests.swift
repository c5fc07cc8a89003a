import Foundation
import OPECore
import Testing

/// Programs run to completion with their output read by threads that own their pipe ends
/// (PipeReader): nothing lost, nothing waited for for ever, and never a descriptor closed twice.
@Suite struct CommandRunnerTests {
    @Test func outputAndErrorAreCollected() async throws {
        let both = try await CommandRunner().run(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout: .seconds(30))
        #expect(both.status == 3 && !both.succeeded)
        #expect(both.output.contains("out") && both.output.contains("err"))
        let apart = try await CommandRunner().run(["sh", "-c", "echo out; echo err >&2"], separateErrorOutput: true, timeout: .seconds(30))
        #expect(apart.output == "out\n" && apart.errorOutput == "err\n")
        let input = try await CommandRunner().run(["cat"], input: "fed in", timeout: .seconds(30))
        #expect(input.output == "fed in")
    }

    @Test func longOutputKeepsItsEnd() async throws {
        let result = try await CommandRunner().run(["sh", "-c", "seq 1 200000"], timeout: .seconds(60))
        #expect(result.succeeded)
        #expect(result.output.utf8.count == 64 * 1024, "the last 64 KiB")
        #expect(result.output.hasSuffix("199999\n200000\n"))
    }

    @Test func aProgramPastItsTimeIsStopped() async throws {
        let result = try await CommandRunner().run(["sh", "-c", "echo before; sleep 30"], timeout: .milliseconds(300))
        #expect(result.timedOut && result.output == "before\n")
    }

    /// Many runs at once while this process opens and closes sockets: no descriptor of ours is
    /// closed under another (the crash this reader replaced showed as EBADF on a fresh socket).
    @Test func manyRunsAtOnceLeaveOtherDescriptorsAlone() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                group.addTask {
                    let result = try await CommandRunner().run(["sh", "-c", "echo \(index)"], timeout: .seconds(60))
                    #expect(result.output == "\(index)\n")
                }
            }
            group.addTask {
                for _ in 0..<400 {
                    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                    #expect(descriptor >= 0)
                    var address = sockaddr_storage()
                    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
                    let named = withUnsafeMutablePointer(to: &address) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
                    }
                    #expect(named == 0, "a socket this test just opened was closed under it (errno \(errno))")
                    close(descriptor)
                    await Task.yield()
                }
            }
            try await group.waitForAll()
        }
    }
}
