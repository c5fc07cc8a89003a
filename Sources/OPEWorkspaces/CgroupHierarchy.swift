import Foundation
import OPECore

/// The control groups OPE puts each workspace in, so the kernel holds it to its memory, process
/// and CPU limits, reports when it hit one, and ends every process in it at once.
///
/// Works with cgroup v2 (one unified tree) and v1 (a tree per controller, as on older hosts and
/// in some containers). OPE's groups live under the group it was started in, in `ope-<tag>`
/// (the tag tells two servers on one machine apart), one child per workspace.
public struct CgroupHierarchy: Sendable, Hashable {
    /// A controller's folder for OPE's groups, e.g. `/sys/fs/cgroup/memory/…/ope-1a2b3c4d`.
    public enum Layout: Sendable, Hashable {
        /// One folder with every controller (cgroup v2).
        case unified(String)
        /// One folder per controller that OPE could use (cgroup v1): `memory`, `pids`, `cpu`.
        case perController([String: String])
    }

    public let layout: Layout

    /// Counters of what a workspace ran into since its group was made.
    public struct Counters: Sendable, Hashable {
        /// Processes the kernel killed for memory.
        public var oomKills = 0
        /// Times a fork or thread failed at the process limit.
        public var processLimitHits = 0
        public init(oomKills: Int = 0, processLimitHits: Int = 0) {
            self.oomKills = oomKills
            self.processLimitHits = processLimitHits
        }
    }

    /// Finds the hierarchy and makes OPE's folder in it; nil when this process may not (not root,
    /// no delegation), with the reason in `why`.
    public static func prepare(tag: String, why: inout String) -> CgroupHierarchy? {
        let mounts = mountPoints()
        let memberships = ownGroups()
        if let unifiedMount = mounts.unified, let own = memberships[""],
            let layout = prepareUnified(mount: unifiedMount, own: own, tag: tag, why: &why)
        {
            return CgroupHierarchy(layout: .unified(layout))
        }
        var folders: [String: String] = [:]
        for controller in ["memory", "pids", "cpu"] {
            guard let mount = mounts.v1[controller], let own = memberships[controller] else { continue }
            let folder = mount + (own == "/" ? "" : own) + "/ope-" + tag
            if (try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)) != nil,
                access(folder + "/cgroup.procs", W_OK) == 0
            {
                folders[controller] = folder
            }
        }
        guard folders["memory"] != nil, folders["pids"] != nil else {
            why = (why.isEmpty ? "" : why + "; ") + "no writable memory and pids control groups (run as root, or delegate a cgroup to OPE's user)"
            return nil
        }
        return CgroupHierarchy(layout: .perController(folders))
    }

    /// cgroup v2: controllers can only be handed to children of a group without processes of its
    /// own, so the server moves itself into a leaf `server` beside the workspaces (as container
    /// runtimes do) when its group has the controllers to give.
    private static func prepareUnified(mount: String, own: String, tag: String, why: inout String) -> String? {
        let base = mount + (own == "/" ? "" : own)
        guard let available = try? String(contentsOfFile: base + "/cgroup.controllers", encoding: .utf8) else { return nil }
        let controllers = Set(available.split(whereSeparator: \.isWhitespace).map(String.init))
        guard controllers.isSuperset(of: ["memory", "pids"]) else {
            why = "the cgroup v2 group \(own) has no memory and pids controllers to hand on"
            return nil
        }
        let fileManager = FileManager.default
        if own != "/" {
            let leaf = base + "/ope-server-" + tag
            guard (try? fileManager.createDirectory(atPath: leaf, withIntermediateDirectories: true)) != nil,
                (try? "\(getpid())".write(toFile: leaf + "/cgroup.procs", atomically: false, encoding: .utf8)) != nil
            else {
                why = "cannot move the server into a leaf of its cgroup \(own)"
                return nil
            }
        }
        let wanted = ["memory", "pids", "cpu"].filter(controllers.contains).map { "+" + $0 }.joined(separator: " ")
        guard (try? wanted.write(toFile: base + "/cgroup.subtree_control", atomically: false, encoding: .utf8)) != nil else {
            why = "cannot enable \(wanted) in \(base)/cgroup.subtree_control"
            return nil
        }
        let folder = base + "/ope-" + tag
        guard (try? fileManager.createDirectory(atPath: folder, withIntermediateDirectories: true)) != nil,
            (try? wanted.write(toFile: folder + "/cgroup.subtree_control", atomically: false, encoding: .utf8)) != nil
        else {
            why = "cannot make \(folder)"
            return nil
        }
        return folder
    }

    // MARK: Workspaces

    /// Makes (or resets) the group of workspace `id` with `limits`; returns the `cgroup.procs`
    /// files a process writes its pid to so that it and everything it starts are inside.
    public func create(_ id: String, limits: WorkspaceLimits) throws -> [String] {
        let fileManager = FileManager.default
        var procs: [String] = []
        for folder in folders(of: id) {
            if fileManager.fileExists(atPath: folder) { killAll(in: folder) }
            try fileManager.createDirectory(atPath: folder, withIntermediateDirectories: true)
            procs.append(folder + "/cgroup.procs")
        }
        try apply(limits, to: id)
        return procs
    }

    /// Sets the limits of a running workspace's group (a warm workspace taken for a module).
    public func apply(_ limits: WorkspaceLimits, to id: String) throws {
        let period = 100_000
        let quota = max(1000, Int(limits.cpus * Double(period)))
        switch layout {
        case .unified(let base):
            let folder = base + "/" + id
            try write("\(limits.memoryBytes)", to: folder + "/memory.max")
            try? write("0", to: folder + "/memory.swap.max")
            try write("\(limits.processes)", to: folder + "/pids.max")
            try? write("\(quota) \(period)", to: folder + "/cpu.max")
        case .perController(let bases):
            if let memory = bases["memory"] {
                let folder = memory + "/" + id
                // memsw (memory + swap) must never be below memory: lower it last, raise it first.
                let swap = folder + "/memory.memsw.limit_in_bytes"
                let hasSwap = FileManager.default.fileExists(atPath: swap)
                if hasSwap { try? write("\(limits.memoryBytes)", to: swap) }
                try write("\(limits.memoryBytes)", to: folder + "/memory.limit_in_bytes")
                if hasSwap { try? write("\(limits.memoryBytes)", to: swap) }
            }
            if let pids = bases["pids"] { try write("\(limits.processes)", to: pids + "/" + id + "/pids.max") }
            if let cpu = bases["cpu"] {
                try? write("\(period)", to: cpu + "/" + id + "/cpu.cfs_period_us")
                try? write("\(quota)", to: cpu + "/" + id + "/cpu.cfs_quota_us")
            }
        }
    }

    /// Processes in workspace `id`'s group.
    public func processes(of id: String) -> [Int32] {
        guard let folder = folders(of: id).first else { return [] }
        return Self.pids(in: folder)
    }

    /// What the workspace ran into so far.
    public func counters(of id: String) -> Counters {
        var counters = Counters()
        switch layout {
        case .unified(let base):
            counters.oomKills = Self.counter("oom_kill", in: base + "/" + id + "/memory.events")
            counters.processLimitHits = Self.counter("max", in: base + "/" + id + "/pids.events")
        case .perController(let bases):
            if let memory = bases["memory"] { counters.oomKills = Self.counter("oom_kill", in: memory + "/" + id + "/memory.oom_control") }
            if let pids = bases["pids"] { counters.processLimitHits = Self.counter("max", in: pids + "/" + id + "/pids.events") }
        }
        return counters
    }

    /// Kills every process of workspace `id` and removes its group; returns how many were killed.
    @discardableResult
    public func remove(_ id: String) -> Int {
        var killed = 0
        for folder in folders(of: id) where FileManager.default.fileExists(atPath: folder) {
            killed += killAll(in: folder)
            rmdir(folder)
        }
        return killed
    }

    /// Groups left by an earlier run of this server (it was killed): their processes go too.
    public func removeLeftovers() -> [String] {
        let bases: [String] =
            switch layout {
            case .unified(let base): [base]
            case .perController(let bases): Array(bases.values)
            }
        var removed: Set<String> = []
        for base in bases {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] {
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: base + "/" + name, isDirectory: &isFolder), isFolder.boolValue else { continue }
                remove(name)
                removed.insert(name)
            }
        }
        return removed.sorted()
    }

    /// Removes OPE's own folders once no workspace is left in them (server shutdown), so servers
    /// that come and go (test runs) do not leave empty groups behind.
    public func removeEmptyBase() {
        let bases: [String] =
            switch layout {
            case .unified(let base): [base]
            case .perController(let bases): Array(bases.values)
            }
        for base in bases { rmdir(base) }
    }

    // MARK: Helpers

    private func folders(of id: String) -> [String] {
        switch layout {
        case .unified(let base): [base + "/" + id]
        // memory first: it is the one every v1 set-up has, and the one `processes(of:)` reads.
        case .perController(let bases): ["memory", "pids", "cpu"].compactMap { bases[$0].map { $0 + "/" + id } }
        }
    }

    @discardableResult
    private func killAll(in folder: String) -> Int {
        WorkspaceProcesses.killUntilGone { Self.pids(in: folder) }
    }

    static func pids(in folder: String) -> [Int32] {
        (ProcFile.text(folder + "/cgroup.procs") ?? "").split(whereSeparator: \.isNewline).compactMap { Int32($0) }
    }

    static func counter(_ name: String, in file: String) -> Int {
        guard let text = ProcFile.text(file) else { return 0 }
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == name { return Int(parts[1]) ?? 0 }
        }
        return 0
    }

    private func write(_ value: String, to file: String) throws {
        guard let handle = FileHandle(forWritingAtPath: file) else { throw WorkspaceError("cannot open \(file)") }
        defer { try? handle.close() }
        do {
            try handle.write(contentsOf: Data(value.utf8))
        } catch {
            throw WorkspaceError("cannot set \(file) to \(value): \(error)")
        }
    }

    /// Where the cgroup filesystems are mounted.
    private static func mountPoints() -> (unified: String?, v1: [String: String]) {
        var unified: String?
        var v1: [String: String] = [:]
        let text = ProcFile.text("/proc/self/mountinfo") ?? ""
        for line in text.split(whereSeparator: \.isNewline) {
            // "id parent major:minor root mountpoint options - fstype source superoptions"
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let left = halves[0].split(separator: " "), right = halves[1].split(separator: " ")
            guard left.count >= 5, right.count >= 3 else { continue }
            let mountPoint = String(left[4])
            switch right[0] {
            case "cgroup2": unified = unified ?? mountPoint
            case "cgroup":
                for option in right[2].split(separator: ",") where ["memory", "pids", "cpu"].contains(String(option)) {
                    v1[String(option)] = mountPoint
                }
            default: break
            }
        }
        return (unified, v1)
    }

    /// This process's group per v1 controller, and `""` for the unified tree.
    private static func ownGroups() -> [String: String] {
        var groups: [String: String] = [:]
        let text = ProcFile.text("/proc/self/cgroup") ?? ""
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let path = String(parts[2])
            if parts[1].isEmpty {
                groups[""] = path
            } else {
                for controller in parts[1].split(separator: ",") { groups[String(controller)] = path }
            }
        }
        return groups
    }
}
