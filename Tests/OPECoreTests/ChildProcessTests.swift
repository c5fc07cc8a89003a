import Foundation
import OPECore
import OPETestSupport
import Synchronization
import Testing

/// Long-running children (JupyterLab, MariaDB, the servers tests start): started with thousands
/// of descriptors open, none of which they inherit; their end reported once; their whole process
/// group stopped.
@Suite struct ChildProcessTests {
    /// Foundation's `Process.run()` crashed a process with many descriptors open
    /// (swift-corelibs-foundation #5472); a child must also not hold a server's sockets open.
    @Test func aChildStartedWithThousandsOfDescriptorsOpenInheritsNone() async throws {
        // Room for them, whatever the soft limit this test process started with.
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < 8192, limit.rlim_max > limit.rlim_cur {
            limit.rlim_cur = min(limit.rlim_max, 8192)
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        // Inheritable on purpose (no close-on-exec): only the child's own clean-up keeps them out.
        let opened = (0..<3000).map { _ in open("/dev/null", O_RDONLY) }
        defer { for descriptor in opened { close(descriptor) } }
        #expect(opened.allSatisfy { $0 >= 0 }, "this machine's descriptor limit is below 3000")
        let listing = try ChildProcess.capturing("/bin/ls", arguments: ["/proc/self/fd"], errors: .inherited)
        #expect(await listing.process.waitForExit() == 0)
        let listed = String(decoding: await listing.output.finish(), as: UTF8.self).split(separator: "\n").compactMap { Int($0) }
        // 0, 1, 2, and the descriptor ls reads the folder through.
        #expect(listed.count <= 4, "the child inherited descriptors: \(listed.prefix(20))")
    }

    @Test func itsEndIsReportedOnceWithItsStatusOrSignal() async throws {
        let reports = Mutex<[(pid_t, Int32)]>([])
        let child = try ChildProcess("/bin/sh", arguments: ["-c", "exit 7"]) { pid, status in reports.withLock { $0.append((pid, status)) } }
        #expect(await child.waitForExit() == 7)
        #expect(child.exitStatus == 7 && !child.isRunning)
        // Reported before the wait above ended.
        #expect(reports.withLock { $0.count } == 1)
        #expect(reports.withLock { $0.first?.0 } == child.pid)
        // Waiting again answers at once.
        #expect(await child.waitForExit() == 7)

        let sleeper = try ChildProcess("/bin/sleep", arguments: ["60"])
        #expect(sleeper.isRunning)
        sleeper.signal(SIGTERM)
        #expect(await sleeper.waitForExit() == SIGTERM)
    }

    /// A program that starts its own (a shell running a kernel) goes with everything it started.
    @Test func terminatingTheGroupEndsWhatTheChildStarted() async throws {
        let folder = NSTemporaryDirectory() + "ope-child-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // The grandchild ignores SIGTERM, as a stuck kernel might: the group's SIGKILL ends it.
        let child = try ChildProcess(
            "/bin/sh", arguments: ["-c", "sh -c 'trap \"\" TERM; echo $$ > grandchild; sleep 60' & wait"], directory: folder)
        let file = folder + "/grandchild"
        try await waitUntil("the grandchild names itself") { ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").hasSuffix("\n") }
        let grandchild = try #require(pid_t(try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        await child.terminateGroup(grace: .milliseconds(300))
        #expect(!child.isRunning)
        // Gone, or a zombie waiting for init to reap it.
        try await waitUntil("the grandchild ended") {
            let state = (try? String(contentsOfFile: "/proc/\(grandchild)/stat", encoding: .utf8))?.split(separator: " ").dropFirst(2).first
            return state == nil || state == "Z"
        }
    }
}
