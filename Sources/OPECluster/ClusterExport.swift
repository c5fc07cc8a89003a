import Foundation
import OPECore
import OPEStore

/// The research record of a whole cluster: every core's log, filtered, merged into one export.
///
/// Lines come out in time order across cores, and each core's in its log order (the merge only
/// ever takes the oldest of the cores' next events), so every session's events keep their order:
/// a session lives on one core. Each line names its core, because each core numbers its events
/// itself. `progress` hears, now and then, how far along each core's log the export is.
public struct ClusterExport: Sendable {
    /// How far the export has come: per core, the last id written and the log's end when it started.
    public struct Progress: Sendable {
        public var written: Int
        public var positions: [Int64]
        public var ends: [Int64]

        /// From 0 to 1, by log position (ids are dense in a core's log; a filter skips some).
        public var fraction: Double {
            let total = ends.reduce(0, +)
            guard total > 0 else { return 1 }
            return Double(zip(positions, ends).map { min($0, $1) }.reduce(0, +)) / Double(total)
        }
    }

    public let cores: [RemoteRuntime]
    public let exporter: EventExporter

    public init(cores: [RemoteRuntime], format: EventExporter.Format) {
        self.cores = cores
        exporter = EventExporter(format: format, cluster: true)
    }

    /// Writes the merged export in text chunks to `write`.
    public func run(
        _ filter: EventFilter, write: (String) async throws -> Void, progress: (Progress) -> Void = { _ in }
    ) async throws {
        var ends: [Int64] = []
        for core in cores { ends.append(try await core.logPosition()) }
        var state = Progress(written: 0, positions: Array(repeating: 0, count: cores.count), ends: ends)
        // Each core's events up to where its log stood at the start: a consistent cut per core.
        var bounded = filter
        let (events, continuation) = AsyncThrowingStream<(Int, [Event]), any Error>.makeStream()
        if let header = exporter.header { try await write(header) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, core) in cores.enumerated() {
                bounded.upToID = min(filter.upToID ?? .max, ends[index])
                let coreFilter = bounded
                group.addTask {
                    do {
                        try await core.export(coreFilter) { page in continuation.yield((index, page)) }
                        continuation.yield((index, []))  // this core is done
                    } catch {
                        // The merge waits on every core: a failed one ends it with its error.
                        continuation.finish(throwing: error)
                    }
                }
            }
            var queues = Array(repeating: [Event](), count: cores.count)
            var heads = Array(repeating: 0, count: cores.count)
            var done = Array(repeating: false, count: cores.count)
            var reported = ContinuousClock.now
            var iterator = events.makeAsyncIterator()
            func ready() -> Bool { (0..<cores.count).allSatisfy { done[$0] || heads[$0] < queues[$0].count } }
            while !done.allSatisfy({ $0 }) || (0..<cores.count).contains(where: { heads[$0] < queues[$0].count }) {
                // Take the oldest next event once every core still exporting has one to compare.
                while !ready() {
                    guard let (index, page) = try await iterator.next() else { throw CancellationError() }
                    if page.isEmpty { done[index] = true } else { queues[index] += page }
                }
                var chunk = ""
                while ready(),
                    let index = (0..<cores.count).filter({ heads[$0] < queues[$0].count }).min(by: {
                        (queues[$0][heads[$0]].time, $0) < (queues[$1][heads[$1]].time, $1)
                    })
                {
                    let event = queues[index][heads[index]]
                    heads[index] += 1
                    chunk += try exporter.line(event, core: index)
                    state.written += 1
                    state.positions[index] = event.id
                    if chunk.utf8.count > 64 * 1024 { break }
                }
                if !chunk.isEmpty { try await write(chunk) }
                // Drop what was written, now and then, so memory stays at a page or two per core.
                for index in 0..<cores.count where heads[index] > 4096 {
                    queues[index].removeFirst(heads[index])
                    heads[index] = 0
                }
                if ContinuousClock.now - reported > .milliseconds(200) {
                    reported = ContinuousClock.now
                    progress(state)
                }
            }
            for index in 0..<cores.count { state.positions[index] = ends[index] }
            progress(state)
            continuation.finish()
            group.cancelAll()
        }
    }
}
