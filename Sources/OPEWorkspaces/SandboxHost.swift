import Foundation
import OPECore

/// What this machine lets OPE use to contain participant code, found once at start: bubblewrap
/// for a mount, process and network view of its own, an account per workspace (when OPE runs as
/// root), control groups for memory, process and CPU limits, and loop-mounted volumes for disk
/// quotas. ``summary`` says in words what is and is not isolated.
public struct SandboxHost: Sendable {
    public var bwrap: String
    public var setpriv: String?
    public var prlimit: String?
    /// OPE runs as root: each workspace gets an account of its own.
    public var isRoot: Bool
    public var cgroups: CgroupHierarchy?
    /// Why there are no control groups, if there are none.
    public var cgroupsMissing: String
    public var volumes: Bool
    public var volumesMissing: String

    /// Looks at the machine; throws if bubblewrap is missing or cannot make a sandbox here.
    /// - Parameter tag: tells this server's control groups from another server's on the machine.
    public static func probe(tag: String) async throws -> SandboxHost {
        guard let bwrap = TeamVolume.tool("bwrap") else {
            throw WorkspaceError(
                "bubblewrap (bwrap) is not installed, and participant code must not run unconfined: install it (Debian: apt-get install bubblewrap), or start with --no-sandbox on a machine only you use"
            )
        }
        let isRoot = geteuid() == 0
        let setpriv = TeamVolume.tool("setpriv"), prlimit = TeamVolume.tool("prlimit")
        if isRoot, setpriv == nil || prlimit == nil {
            throw WorkspaceError("setpriv and prlimit are missing (Debian: util-linux); they give each workspace its account and limits")
        }
        // A sandbox that cannot be made now would fail every workspace later: try one.
        // The same shape as a real launch (see `Sandbox.prepare`): as root, bubblewrap makes the
        // namespaces and the account changes inside; otherwise a user namespace does it all.
        let view = ["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"]
        let uid = UIDPool.defaultRange.lowerBound
        let check =
            isRoot
            ? [
                bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add",
                "CAP_SETGID",
            ] + view
                + [setpriv!, "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "--no-new-privs", "--inh-caps=-all", "true"]
            : [bwrap, "--unshare-all", "--unshare-user", "--disable-userns"] + view + ["true"]
        let result = try await CommandRunner().run(check, timeout: .seconds(30))
        guard result.succeeded else {
            throw WorkspaceError(
                "bubblewrap cannot make a sandbox here (\(result.statusText)): \(result.output.trimmingCharacters(in: .whitespacesAndNewlines)). Without root it needs user namespaces (sysctl kernel.unprivileged_userns_clone=1 or user.max_user_namespaces > 0)"
            )
        }
        var cgroupsMissing = "", volumesMissing = ""
        let cgroups = CgroupHierarchy.prepare(tag: tag, why: &cgroupsMissing)
        let volumes = TeamVolume.isAvailable(why: &volumesMissing)
        return SandboxHost(
            bwrap: bwrap, setpriv: setpriv, prlimit: prlimit, isRoot: isRoot, cgroups: cgroups, cgroupsMissing: cgroupsMissing, volumes: volumes,
            volumesMissing: volumesMissing
        )
    }

    /// What is isolated and what is not, one line each, for the start banner and the log.
    public var summary: [String] {
        var lines = ["own mount view (team folder, Python and system read-only, private /tmp), own process and network namespace"]
        lines.append(
            isRoot
                ? "own account per workspace and per test run"
                : "NOT isolated: workspaces run as this server's user (start OPE as root for an account per workspace)"
        )
        if let cgroups {
            let kind: String =
                switch cgroups.layout {
                case .unified: "cgroup v2"
                case .perController: "cgroup v1"
                }
            lines.append("memory, process and CPU limits enforced (\(kind)); open files by rlimit")
        } else {
            let byRlimit = isRoot ? "processes and open files by rlimit only" : "open files by rlimit only"
            lines.append("NOT enforced: memory and CPU limits (\(cgroupsMissing)); \(byRlimit)")
        }
        lines.append(volumes ? "disk quota per team folder (loop-mounted volume)" : "NOT enforced: disk quota (\(volumesMissing))")
        return lines
    }
}
