import Foundation
import OPECore
import Synchronization

/// Peak resident memory of a process, sampled from /proc.
final class RSSSampler: Sendable {
    let pid: Int32
    private let peakKiB = Mutex(0)

    init(pid: Int32) { self.pid = pid }

    var peak: Int { peakKiB.withLock { $0 } }

    /// CPU seconds (user + system) the process has used so far.
    var cpuSeconds: Double {
        guard let stat = ProcFile.text("/proc/\(pid)/stat"),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        // Fields after the command name; utime and stime are the 14th and 15th of the line.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Times the process's threads were switched out so far, waiting or preempted: how often work
    /// crossed threads (each hop between a network thread, a task and the commit thread is one).
    var contextSwitches: Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.reduce(0) { total, task in
            guard let status = ProcFile.text("/proc/\(pid)/task/\(task)/status") else { return total }
            return total
                + status.split(separator: "\n").reduce(0) { sum, line in
                    guard line.hasPrefix("voluntary_ctxt_switches:") || line.hasPrefix("nonvoluntary_ctxt_switches:") else { return sum }
                    return sum + (Int(line.split(separator: "\t").last?.trimmingCharacters(in: .whitespaces) ?? "") ?? 0)
                }
        }
    }

    func sample() {
        guard let status = ProcFile.text("/proc/\(pid)/status"),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return }
        peakKiB.withLock { $0 = max($0, kib) }
    }
}

/// Several processes sampled as one: a cluster's edges and cores together.
final class ProcessesSampler: Sendable {
    let samplers: [RSSSampler]
    /// What each process is (`core 0`, `edge 1`), in the order of the pids.
    let names: [String]

    init(pids: [Int32], names: [String]? = nil) {
        samplers = pids.map(RSSSampler.init)
        self.names = names ?? pids.map { "pid \($0)" }
    }

    /// Each process's CPU seconds and context switches so far, in the order of the pids.
    var usagePerProcess: [ProcessUsage] { samplers.map { ProcessUsage(cpu: $0.cpuSeconds, switches: $0.contextSwitches) } }

    /// The sum of the processes' peaks (each sampled at the same moments).
    var peak: Int { samplers.map(\.peak).reduce(0, +) }
    var cpuSeconds: Double { samplers.map(\.cpuSeconds).reduce(0, +) }
    func sample() { for sampler in samplers { sampler.sample() } }
}

/// What a process has used so far: CPU seconds, and how often its threads were switched out.
struct ProcessUsage: Sendable {
    var cpu: Double
    var switches: Int
}
