import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension ServeCommand {
    /// Holds glibc's malloc to one arena per core (its default is eight per core) unless
    /// `MALLOC_ARENA_MAX` says otherwise.
    ///
    /// A server's sockets are served by whichever thread runs their task, so every thread's arena
    /// ends up holding free pieces of every size: with 10,000 room sockets on this 2-core machine
    /// the default's 16 arenas held about 95 MiB more resident memory than 2, for no measurable
    /// CPU (`ope-bench loadtest --users 10000`, docs/performance.md).
    static func limitMallocArenas() {
        #if canImport(Glibc)
            guard ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil else { return }
            // mallopt and M_ARENA_MAX are in <malloc.h>, which Swift's Glibc module leaves out.
            typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
            let arenaMax: Int32 = -8
            _ = unsafeBitCast(symbol, to: MallOpt.self)(arenaMax, Int32(max(2, ProcessInfo.processInfo.activeProcessorCount)))
        #endif
    }

    /// The Swift runtime's switch for how a task's async frames are allocated.
    static let taskSlabVariable = "SWIFT_DEBUG_ENABLE_TASK_SLAB_ALLOCATOR"

    /// Starts this process again with the Swift runtime allocating each task's async frames with
    /// malloc, unless `SWIFT_DEBUG_ENABLE_TASK_SLAB_ALLOCATOR` already says how. Returns only if
    /// it was set already or the restart could not be made.
    ///
    /// By default every task gets its frames from 1 KiB slabs it keeps until it ends, so a task
    /// holds its deepest moment's slabs, with what each slab could not fit, for its whole life. A
    /// room socket lives for hours in three tasks (its connection, its reader and the WebSocket's
    /// ping), and with 10,000 sockets the slabs' slack alone was about 64 MiB. With malloc each
    /// frame is freed when its call returns. The price is some CPU per call (about 5% of the chat
    /// phase); the figures are in docs/performance.md.
    ///
    /// The runtime reads the variable once, before the first task (the command's own) starts, so
    /// setting it now needs a fresh start of the same binary with the same arguments (the same
    /// process id, open files and parent).
    static func allocateTaskFramesWithMalloc() {
        guard ProcessInfo.processInfo.environment[taskSlabVariable] == nil else { return }
        setenv(taskSlabVariable, "false", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Not restarted (no /proc): run with the runtime's default, which works, only larger.
        unsetenv(taskSlabVariable)
    }
}
