import Foundation
import OPECore

/// Finds every process of a workspace by the `OPE_WORKSPACE` variable it inherits.
///
/// JupyterLab starts kernels in sessions of their own (so a Ctrl-C in a terminal spares them),
/// which takes them out of JupyterLab's process group: killing the group alone would leave them
/// running when JupyterLab crashes. Every process started under a workspace inherits
/// `OPE_WORKSPACE=<id>`, so `/proc/<pid>/environ` finds them all (Linux).
public enum WorkspaceProcesses {
    public static let variable = "OPE_WORKSPACE"

    /// Processes started under workspace `id` that are still running.
    public static func pids(of id: String) -> [Int32] {
        let marker = Data((variable + "=" + id + "\0").utf8)
        let me = getpid()
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry -> Int32? in
            guard let pid = Int32(entry), pid != me, let environ = ProcFile.data("/proc/\(pid)/environ") else { return nil }
            // The marker starts the environment or follows another variable's terminator.
            return environ.starts(with: marker) || environ.range(of: Data([0]) + marker) != nil ? pid : nil
        }
    }

    /// Kills whatever is left of workspace `id`; returns how many processes were killed.
    @discardableResult
    public static func killAll(of id: String) -> Int {
        let left = pids(of: id)
        for pid in left { kill(pid, SIGKILL) }
        return left.count
    }

    /// SIGKILL to every process `list` names until it names none (a fork bomb forks while being
    /// killed, but its process limit bounds it, so a few rounds empty it); returns how many.
    @discardableResult
    public static func killUntilGone(_ list: () -> [Int32]) -> Int {
        var killed = 0
        for _ in 0..<200 {
            let pids = list()
            if pids.isEmpty { break }
            for pid in pids where kill(pid, SIGKILL) == 0 { killed += 1 }
            usleep(5_000)
        }
        return killed
    }

    /// Resident memory of a process in KiB (0 if it is gone).
    public static func residentKiB(_ pid: Int32) -> Int {
        guard let status = ProcFile.text("/proc/\(pid)/status"),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
    }
}
