import Foundation
import OPECore

/// A duration as the custom resources write one: seconds, or text such as `90s`, `20m`, `1h30m`.
public enum DurationValue: Sendable, Hashable, Codable {
    case seconds(Int)
    case text(String)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let seconds = try? container.decode(Int.self) { self = .seconds(seconds) } else { self = .text(try container.decode(String.self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .seconds(let seconds): try container.encode(seconds)
        case .text(let text): try container.encode(text)
        }
    }
}

/// A reference to a Secret in the object's namespace (and a key in it).
public struct SecretReference: Sendable, Hashable, Codable {
    public var name: String
    public var key: String?
    public init(name: String, key: String? = nil) {
        self.name = name
        self.key = key
    }
}

// MARK: OPERepository

/// `OPERepository`: a git repository of modules (deploy/kubernetes/crds/operepositories.yaml).
public struct RepositoryResource: KubeResource, Hashable {
    public static let resource = ResourceDescriptor(group: "ope.dev", version: "v1alpha1", plural: "operepositories", kind: "OPERepository")
    public var apiVersion = "ope.dev/v1alpha1"
    public var kind = "OPERepository"
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status?

    public struct Spec: Sendable, Hashable, Codable {
        public var url: String
        public var ref: String?
        public var path: String?
        public var interval: DurationValue?
        public var credentialsSecret: SecretReference?
        public init(url: String, ref: String? = nil, path: String? = nil, interval: DurationValue? = nil, credentialsSecret: SecretReference? = nil) {
            self.url = url
            self.ref = ref
            self.path = path
            self.interval = interval
            self.credentialsSecret = credentialsSecret
        }
    }

    public struct ModuleErrors: Sendable, Hashable, Codable {
        public var path: String
        /// `FILE:LINE:COLUMN: FIELD: MESSAGE`, as `ope module validate` prints.
        public var errors: [String]
        public init(path: String, errors: [String]) {
            self.path = path
            self.errors = errors
        }
    }

    public struct Status: Sendable, Hashable, Codable {
        public var observedGeneration: Int64?
        public var commit: String?
        public var lastSyncTime: Date?
        public var modules: [String]?
        public var moduleCount: Int?
        public var moduleErrors: [ModuleErrors]?
        public var conditions: [Condition]?
        public init() {}
    }

    public init(metadata: ObjectMeta, spec: Spec) {
        self.metadata = metadata
        self.spec = spec
    }
}

// MARK: OPEModule

/// `OPEModule`: one exercise, the fields of a module.yaml (deploy/kubernetes/crds/opemodules.yaml).
public struct ModuleResource: KubeResource, Hashable {
    public static let resource = ResourceDescriptor(group: "ope.dev", version: "v1alpha1", plural: "opemodules", kind: "OPEModule")
    public var apiVersion = "ope.dev/v1alpha1"
    public var kind = "OPEModule"
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status?

    public struct Group: Sendable, Hashable, Codable {
        public var min: Int
        public var target: Int
        public var max: Int
        public init(min: Int, target: Int, max: Int) {
            self.min = min
            self.target = target
            self.max = max
        }
    }

    public struct Matching: Sendable, Hashable, Codable {
        public var mode: String?
        public var open: Bool?
        public var settle: DurationValue?
        public var giveUp: DurationValue?
        public var lateJoin: DurationValue?
        public init(mode: String? = nil, open: Bool? = nil) {
            self.mode = mode
            self.open = open
        }
    }

    public struct Rotation: Sendable, Hashable, Codable {
        public var every: DurationValue
    }

    public struct Experiment: Sendable, Hashable, Codable {
        public struct Condition: Sendable, Hashable, Codable {
            public var name: String
            public var plan: String?
            public var assistant: JSONValue?
        }
        public var seed: Int?
        public var conditions: [Condition]
    }

    public struct Limits: Sendable, Hashable, Codable {
        public var memory: String?
        public var processes: Int?
        public var cpus: Double?
        public var openFiles: Int?
        public var disk: String?
        public var network: String?
    }

    public struct TaskTest: Sendable, Hashable, Codable {
        public var command: String
        public var files: [String]?
        public var timeout: DurationValue?
        public init(command: String, files: [String]? = nil, timeout: DurationValue? = nil) {
            self.command = command
            self.files = files
            self.timeout = timeout
        }
    }

    public struct Task: Sendable, Hashable, Codable {
        public var id: String
        public var title: String
        public var instructions: String?
        public var instructionsFile: String?
        public var starter: [String]?
        public var test: TaskTest?
        public var timeLimit: DurationValue?
        public init(id: String, title: String, instructions: String? = nil) {
            self.id = id
            self.title = title
            self.instructions = instructions
        }
    }

    public struct Source: Sendable, Hashable, Codable {
        public var repository: String?
        public var path: String?
        public var commit: String?
    }

    public struct Spec: Sendable, Hashable, Codable {
        public var title: String
        public var description: String?
        /// `python`, `sql` or `spark`.
        public var kit: String
        public var group: Group?
        public var roles: [String]?
        public var lateJoinRole: String?
        public var matching: Matching?
        public var rotation: Rotation?
        public var plan: String?
        public var assistant: JSONValue?
        public var experiment: Experiment?
        public var limits: Limits?
        public var tasks: [Task]
        public var source: Source?
        public init(title: String, kit: String, tasks: [Task]) {
            self.title = title
            self.kit = kit
            self.tasks = tasks
        }
    }

    public struct Status: Sendable, Hashable, Codable {
        public var observedGeneration: Int64?
        public var validated: Bool?
        public var validationErrors: [String]?
        public var open: Bool?
        public var waiting: Int?
        public var liveSessions: Int?
        public var conditions: [Condition]?
        public init() {}
    }

    public init(metadata: ObjectMeta, spec: Spec) {
        self.metadata = metadata
        self.spec = spec
    }
}

// MARK: OPEUser

/// `OPEUser`: someone who can sign in (deploy/kubernetes/crds/opeusers.yaml).
public struct UserResource: KubeResource, Hashable {
    public static let resource = ResourceDescriptor(group: "ope.dev", version: "v1alpha1", plural: "opeusers", kind: "OPEUser")
    public var apiVersion = "ope.dev/v1alpha1"
    public var kind = "OPEUser"
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status?

    public struct Spec: Sendable, Hashable, Codable {
        public var username: String
        public var displayName: String
        public var email: String?
        /// `participant`, `instructor` or `admin`.
        public var role: String?
        public var module: String?
        public var passwordSecretRef: SecretReference?
        public init(username: String, displayName: String, role: String? = nil) {
            self.username = username
            self.displayName = displayName
            self.role = role
        }
    }

    public struct Status: Sendable, Hashable, Codable {
        public var observedGeneration: Int64?
        public var currentSession: String?
        public var lastSeen: Date?
        public var conditions: [Condition]?
        public init() {}
    }

    /// The object name for a username: DNS-safe, with '_' as '-' (the CRD's CEL rule checks it).
    public static func objectName(username: String) -> String { username.replacingOccurrences(of: "_", with: "-") }

    public init(metadata: ObjectMeta, spec: Spec) {
        self.metadata = metadata
        self.spec = spec
    }
}

// MARK: OPESession

/// `OPESession`: a group on a module (deploy/kubernetes/crds/opesessions.yaml).
public struct SessionResource: KubeResource, Hashable {
    public static let resource = ResourceDescriptor(group: "ope.dev", version: "v1alpha1", plural: "opesessions", kind: "OPESession")
    public var apiVersion = "ope.dev/v1alpha1"
    public var kind = "OPESession"
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status?

    public struct Member: Sendable, Hashable, Codable {
        public var user: String
        public var role: String
        public var lateJoiner: Bool?
        public init(user: String, role: String, lateJoiner: Bool? = nil) {
            self.user = user
            self.role = role
            self.lateJoiner = lateJoiner
        }
    }

    public struct Spec: Sendable, Hashable, Codable {
        public var module: String
        public var members: [Member]
        /// `dynamic` or `static`.
        public var mode: String?
        public var condition: String?
        public init(module: String, members: [Member], mode: String? = nil, condition: String? = nil) {
            self.module = module
            self.members = members
            self.mode = mode
            self.condition = condition
        }
    }

    /// `Pending` → `Starting` → `Active` → `Completed` | `Abandoned` (OPECore's session phases, capitalised).
    public enum Phase: String, Sendable, Hashable, Codable, CaseIterable {
        case pending = "Pending", starting = "Starting", active = "Active", completed = "Completed", abandoned = "Abandoned"
    }

    public struct Workspace: Sendable, Hashable, Codable {
        public var endpoint: String?
        public var pod: String?
        public var service: String?
        public var ready: Bool?
        /// Pods that did not become ready in time and were replaced (reset once one is ready).
        public var attempts: Int?
        /// Pods replaced after they failed or disappeared (the files stayed).
        public var restarts: Int?
        /// When an idle workspace gave its pod back.
        public var culledAt: Date?
        public init(endpoint: String? = nil, pod: String? = nil, service: String? = nil, ready: Bool? = nil) {
            self.endpoint = endpoint
            self.pod = pod
            self.service = service
            self.ready = ready
        }
    }

    public struct Status: Sendable, Hashable, Codable {
        public var phase: Phase?
        public var observedGeneration: Int64?
        public var workspace: Workspace?
        public var startedAt: Date?
        public var endedAt: Date?
        public var conditions: [Condition]?
        public init(phase: Phase? = nil) { self.phase = phase }
    }

    public init(metadata: ObjectMeta, spec: Spec) {
        self.metadata = metadata
        self.spec = spec
    }
}
