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
}
