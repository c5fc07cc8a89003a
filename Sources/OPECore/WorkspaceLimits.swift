import Foundation

/// What one team's workspace (its JupyterLab, kernels, terminals) and its task tests may use,
/// enforced by the kernel: cgroups for memory, processes and CPU, rlimits for open files, a
/// quota'd volume for the team's folder, and a network namespace of its own.
///
/// Every kit has defaults (``defaults(for:)``); an operator changes them for the whole server
/// (`ope serve --limits`) and a module for its own workspaces (`limits:` in `module.yaml`), in
/// that order.
public struct WorkspaceLimits: Sendable, Hashable, Codable {
    /// Memory of all the workspace's processes together, page cache and `/tmp` included.
    public var memoryBytes: Int64
    /// Processes and threads together (a JVM or a fork bomb counts every thread).
    public var processes: Int
    /// CPU time as a number of cores (1.5 = one and a half cores at most).
    public var cpus: Double
    /// Open files per process.
    public var openFiles: Int
    /// Size of the team's folder.
    public var diskBytes: Int64
    /// Whether participant code may open network connections beyond the workspace itself.
    public var network: Bool

    public init(memoryBytes: Int64, processes: Int, cpus: Double, openFiles: Int, diskBytes: Int64, network: Bool = false) {
        self.memoryBytes = memoryBytes
        self.processes = processes
        self.cpus = cpus
        self.openFiles = openFiles
        self.diskBytes = diskBytes
        self.network = network
    }

    /// The defaults of a kit: enough for its notebooks on a shared machine, far from all of it.
    /// Spark's local JVM needs more memory and threads than a Python kernel.
    public static func defaults(for kit: LanguageKit) -> WorkspaceLimits {
        switch kit {
        case .python, .sql:
            WorkspaceLimits(memoryBytes: 2 << 30, processes: 512, cpus: 1, openFiles: 1024, diskBytes: 1 << 30)
        case .spark:
            WorkspaceLimits(memoryBytes: 3 << 30, processes: 1024, cpus: 1.5, openFiles: 4096, diskBytes: 2 << 30)
        }
    }

    /// Changes to the defaults, each optional: from a module's `limits:` or the server's `--limits`.
    public struct Changes: Sendable, Hashable, Codable {
        public var memoryBytes: Int64?
        public var processes: Int?
        public var cpus: Double?
        public var openFiles: Int?
        public var diskBytes: Int64?
        public var network: Bool?

        public init(
            memoryBytes: Int64? = nil, processes: Int? = nil, cpus: Double? = nil, openFiles: Int? = nil, diskBytes: Int64? = nil,
            network: Bool? = nil
        ) {
            self.memoryBytes = memoryBytes
            self.processes = processes
            self.cpus = cpus
            self.openFiles = openFiles
            self.diskBytes = diskBytes
            self.network = network
        }

        public var isEmpty: Bool { self == Changes() }

        /// Smallest values that still let a JupyterLab start; anything lower is refused when read.
        public static let minimumMemory: Int64 = 256 << 20
        public static let minimumProcesses = 64
        public static let minimumDisk: Int64 = 16 << 20
        public static let minimumOpenFiles = 256
    }

    /// These limits with `changes` applied.
    public func applying(_ changes: Changes) -> WorkspaceLimits {
        var limits = self
        if let value = changes.memoryBytes { limits.memoryBytes = value }
        if let value = changes.processes { limits.processes = value }
        if let value = changes.cpus { limits.cpus = value }
        if let value = changes.openFiles { limits.openFiles = value }
        if let value = changes.diskBytes { limits.diskBytes = value }
        if let value = changes.network { limits.network = value }
        return limits
    }

    /// One line for logs and the start banner.
    public var summary: String {
        let cores = cpus == cpus.rounded() ? "\(Int(cpus))" : "\(cpus)"
        return "memory \(ByteSize.text(memoryBytes)), \(processes) processes, \(cores) CPU, \(openFiles) open files, "
            + "disk \(ByteSize.text(diskBytes)), network \(network ? "on" : "off")"
    }
}

extension WorkspaceLimits.Changes {
    /// Reads `memory=2GiB,processes=512,cpus=1.5,openFiles=2048,disk=1GiB,network=off` (any subset).
    /// - Throws: ``LimitsError`` naming the part that is wrong.
    public static func parse(_ text: String) throws(LimitsError) -> Self {
        var changes = Self()
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            let pieces = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pieces.count == 2 else { throw LimitsError("'\(part)' is not NAME=VALUE (names: \(Self.names.joined(separator: ", ")))") }
            try changes.set(pieces[0], to: pieces[1])
        }
        return changes
    }

    /// The names ``parse(_:)`` and module files use.
    public static let names = ["memory", "processes", "cpus", "openFiles", "disk", "network"]

    /// Sets one limit from its text, checking that it is sane.
    public mutating func set(_ name: String, to value: String) throws(LimitsError) {
        switch name {
        case "memory":
            guard let bytes = ByteSize.parse(value) else { throw LimitsError("memory: '\(value)' is not a size such as 2GiB or 512MiB") }
            guard bytes >= Self.minimumMemory else { throw LimitsError("memory: at least \(ByteSize.text(Self.minimumMemory)), so JupyterLab can start") }
            memoryBytes = bytes
        case "disk":
            guard let bytes = ByteSize.parse(value) else { throw LimitsError("disk: '\(value)' is not a size such as 1GiB or 500MiB") }
            guard bytes >= Self.minimumDisk else { throw LimitsError("disk: at least \(ByteSize.text(Self.minimumDisk))") }
            diskBytes = bytes
        case "processes":
            guard let count = Int(value), count >= Self.minimumProcesses else {
                throw LimitsError("processes: '\(value)' must be a whole number of at least \(Self.minimumProcesses)")
            }
            processes = count
        case "openFiles":
            guard let count = Int(value), count >= Self.minimumOpenFiles else {
                throw LimitsError("openFiles: '\(value)' must be a whole number of at least \(Self.minimumOpenFiles)")
            }
            openFiles = count
        case "cpus":
            guard let cores = Double(value), cores >= 0.1, cores <= 256 else { throw LimitsError("cpus: '\(value)' must be a number of cores from 0.1 up") }
            cpus = cores
        case "network":
            switch value.lowercased() {
            case "on", "true", "yes": network = true
            case "off", "false", "no": network = false
            default: throw LimitsError("network: '\(value)' must be on or off")
            }
        default:
            throw LimitsError("unknown limit '\(name)' (known: \(Self.names.joined(separator: ", ")))")
        }
    }
}

/// A limit that could not be read, in words.
public struct LimitsError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
