import Foundation
import OPECore
import OPEKube
import OPEModules
import OPEWorkspaces

/// The Kubernetes objects of one session's workspace, as pure functions of the session, its
/// module and the operator's configuration: what the session reconciler creates.
///
/// The pod runs JupyterLab (with collaboration) from the kit's image as an unprivileged user with
/// no API credentials, its files on the team's volume claim (so a new pod finds them), its token
/// from the session's Secret (never on a command line), reachable only from the gateway.
public struct WorkspaceObjects: Sendable {
    public var session: SessionResource
    public var kit: LanguageKit
    public var limits: WorkspaceLimits
    public var configuration: OperatorConfiguration
    /// The module's starter files and hidden test files (paths in the module folder).
    public var starterFiles: [String]
    public var testFiles: [String]
    public var names: WorkspaceNames { WorkspaceNames(session: session.name) }

    /// Where the team's files are, in every container that sees them.
    public static let home = "/home/ope"
    public static let jupyterConfigPath = "/etc/ope/jupyter"

    public init(session: SessionResource, module: ModuleResource, configuration: OperatorConfiguration) {
        self.session = session
        self.kit = LanguageKit(rawValue: module.spec.kit) ?? .python
        self.limits = Self.limits(kit: kit, module: module)
        self.configuration = configuration
        self.starterFiles = Array(Set(module.spec.tasks.flatMap { $0.starter ?? [] })).sorted()
        self.testFiles = Array(Set(module.spec.tasks.flatMap { $0.test?.files ?? [] })).sorted()
    }

    /// The kit's defaults with the module's `limits:` applied (values the module cannot parse keep the default).
    static func limits(kit: LanguageKit, module: ModuleResource) -> WorkspaceLimits {
        var limits = WorkspaceLimits.defaults(for: kit)
        if let memory = module.spec.limits?.memory.flatMap(ByteSize.parse) { limits.memoryBytes = memory }
        if let cpus = module.spec.limits?.cpus { limits.cpus = cpus }
        if let disk = module.spec.limits?.disk.flatMap(ByteSize.parse) { limits.diskBytes = disk }
        if let processes = module.spec.limits?.processes { limits.processes = processes }
        return limits
    }

    public var basePath: String { "/w/\(session.name)/" }

    /// What the gateway proxies to.
    public var endpoint: String {
        "http://\(names.service).\(session.namespace ?? configuration.namespace).svc:\(configuration.workspacePort)\(basePath)"
    }

    public var labels: [String: String] {
        [
            "app.kubernetes.io/name": "ope", "app.kubernetes.io/component": "workspace", "app.kubernetes.io/managed-by": "ope-operator",
            "ope.dev/session": session.name, "ope.dev/module": session.spec.module,
        ]
    }

    func metadata(_ name: String) -> ObjectMeta {
        var metadata = ObjectMeta(name: name, namespace: session.namespace ?? configuration.namespace, labels: labels)
        if let uid = session.metadata.uid {
            metadata.ownerReferences = [
                OwnerReference(apiVersion: SessionResource.resource.apiVersion, kind: SessionResource.resource.kind, name: session.name, uid: uid)
            ]
        }
        return metadata
    }

    /// The JupyterLab token, the task-test service's token and the database password: the proxy
    /// and the runtime add them, no browser sees them.
    public func secret(token: String, gradingToken: String, databasePassword: String) -> Secret {
        var secret = Secret(
            metadata: metadata(names.secret), stringData: ["token": token, "grading-token": gradingToken, "database-password": databasePassword])
        secret.type = "Opaque"
        return secret
    }

    /// The team's files: a pod restart or replacement keeps them; deleted with the session.
    public func claim() -> PersistentVolumeClaim {
        var spec: [String: JSONValue] = [
            "accessModes": ["ReadWriteOnce"],
            "resources": ["requests": ["storage": .string(configuration.storageSize)]],
        ]
        if let storageClass = configuration.storageClass { spec["storageClassName"] = .string(storageClass) }
        return PersistentVolumeClaim(metadata: metadata(names.claim), spec: .object(spec))
    }

    public func service() -> Service {
        Service(
            metadata: metadata(names.service),
            spec: [
                "type": "ClusterIP",
                "selector": ["ope.dev/session": .string(session.name), "app.kubernetes.io/component": "workspace"],
                "ports": [["name": "http", "port": .number(Double(configuration.workspacePort)), "targetPort": "http", "protocol": "TCP"]],
            ])
    }

    public func pod() -> Pod {
        let image = configuration.images[kit] ?? OperatorConfiguration.defaultImages[kit] ?? ""
        let memory = String(limits.memoryBytes)
        let cpus = limits.cpus == limits.cpus.rounded() ? String(Int(limits.cpus)) : String(limits.cpus)
        let locked: JSONValue = [
            "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": ["drop": ["ALL"]],
        ]
        var environment: [JSONValue] = [
            ["name": "HOME", "value": .string(Self.home)],
            ["name": "JUPYTER_CONFIG_DIR", "value": .string(Self.jupyterConfigPath)],
            ["name": .string(JupyterConfig.tokenVariable), "valueFrom": ["secretKeyRef": ["name": .string(names.secret), "key": "token"]]],
        ]
        for (key, value) in KitDefaults.environment(for: kit).sorted(by: { $0.key < $1.key }) {
            environment.append(["name": .string(key), "value": .string(value)])
        }
        var containers: [JSONValue] = []
        if kit == .sql {
            environment += [
                ["name": "OPE_DB_NAME", "value": "team"], ["name": "OPE_DB_USER", "value": "team"],
                ["name": "OPE_DB_PASSWORD", "valueFrom": ["secretKeyRef": ["name": .string(names.secret), "key": "database-password"]]],
                ["name": "OPE_DB_HOST", "value": "127.0.0.1"], ["name": "OPE_DB_PORT", "value": "3306"],
                ["name": "DATABASE_URL", "value": "mysql+pymysql://team:$(OPE_DB_PASSWORD)@127.0.0.1:3306/team"],
            ]
            // The team's own database beside its notebook, its data on the team's volume: it
            // lives and goes with the session, and nobody else's pod can reach it.
            containers.append([
                "name": "database", "image": .string(configuration.databaseImage),
                "env": [
                    ["name": "MARIADB_DATABASE", "value": "team"], ["name": "MARIADB_USER", "value": "team"],
                    ["name": "MARIADB_PASSWORD", "valueFrom": ["secretKeyRef": ["name": .string(names.secret), "key": "database-password"]]],
                    ["name": "MARIADB_RANDOM_ROOT_PASSWORD", "value": "1"],
                ],
                "args": ["--bind-address=127.0.0.1"],
                "resources": ["requests": ["cpu": "50m", "memory": "128Mi"], "limits": ["memory": "512Mi"]],
                "volumeMounts": [["name": "files", "mountPath": "/var/lib/mysql", "subPath": ".database"], ["name": "tmp", "mountPath": "/run/mysqld"]],
                "securityContext": ["allowPrivilegeEscalation": false, "capabilities": ["drop": ["ALL"]]],
            ])
        }
        let port = Double(configuration.workspacePort)
        containers.insert(
            [
                "name": "jupyterlab", "image": .string(image),
                "command": [
                    "jupyter-lab", "--no-browser", "--ip=0.0.0.0", .string("--port=\(configuration.workspacePort)"),
                    .string("--ServerApp.base_url=\(basePath)"), .string("--ServerApp.root_dir=\(Self.home)"),
                    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--ServerApp.trust_xheaders=True",
                    "--ServerApp.jpserver_extensions={'jupyter_lsp': False}",
                ],
                "env": .array(environment),
                "ports": [["name": "http", "containerPort": .number(port), "protocol": "TCP"]],
                // `/api` answers without a token once the server is up.
                "readinessProbe": ["httpGet": ["path": .string(basePath + "api"), "port": "http"], "periodSeconds": 2, "failureThreshold": 3],
                "livenessProbe": [
                    "httpGet": ["path": .string(basePath + "api"), "port": "http"], "initialDelaySeconds": 30, "periodSeconds": 20, "failureThreshold": 6,
                ],
                "resources": [
                    "requests": ["cpu": "100m", "memory": .string(String(min(limits.memoryBytes, 512 << 20)))],
                    "limits": ["cpu": .string(cpus), "memory": .string(memory)],
                ],
                "volumeMounts": [
                    ["name": "files", "mountPath": .string(Self.home)], ["name": "tmp", "mountPath": "/tmp"],
                    ["name": "jupyter-config", "mountPath": .string(Self.jupyterConfigPath), "readOnly": true],
                ],
                "securityContext": locked,
            ], at: 0)
        // The module's starter files, once: a replaced pod finds the team's work, not the starters.
        var initContainers: [JSONValue] = [
            [
                "name": "seed", "image": .string(image),
                "command": [
                    "sh", "-c",
                    .string(
                        "if [ ! -e \(Self.home)/.ope-seeded ]; then for f in /ope/starter/*; do [ -e \"$f\" ] && cp -RL \"$f\" \(Self.home)/; done; touch \(Self.home)/.ope-seeded; fi"
                    ),
                ],
                "volumeMounts": [["name": "files", "mountPath": .string(Self.home)], ["name": "starter", "mountPath": "/ope/starter", "readOnly": true]],
                "resources": ["requests": ["cpu": "10m", "memory": "32Mi"], "limits": ["memory": "128Mi"]],
                "securityContext": locked,
            ]
        ]
        var volumes: [JSONValue] = [
            ["name": "files", "persistentVolumeClaim": ["claimName": .string(names.claim)]],
            ["name": "tmp", "emptyDir": ["sizeLimit": "256Mi"]],
            ["name": "jupyter-config", "configMap": ["name": .string(WorkspaceNames.jupyterConfig), "items": .array(Self.jupyterConfigItems)]],
            // Only the starter files of the module's bundle (it also holds instructions and plans).
            starterFiles.isEmpty
                ? ["name": "starter", "emptyDir": ["sizeLimit": "1Mi"]]
                : [
                    "name": "starter",
                    "configMap": [
                        "name": .string(WorkspaceNames.moduleFiles(session.spec.module)), "optional": true,
                        "items": .array(starterFiles.map { ["key": .string(ModuleBundle.key(for: $0)), "path": .string($0)] }),
                    ],
                ],
        ]
        if !testFiles.isEmpty {
            // Task tests run here, beside the team's files (read-only) with the hidden tests that
            // only this container sees, served to the runtime over gRPC (`ope grade serve`).
            initContainers.append([
                "name": "ope-tools", "image": .string(configuration.opeImage),
                "command": ["sh", "-c", "cp \"$(command -v ope)\" /ope/bin/ope"],
                "volumeMounts": [["name": "ope-bin", "mountPath": "/ope/bin"]],
                "resources": ["requests": ["cpu": "10m", "memory": "32Mi"], "limits": ["memory": "128Mi"]],
                "securityContext": locked,
            ])
            containers.append([
                "name": "grading", "image": .string(image),
                "command": [
                    "/ope/bin/ope", "grade", "serve", "--files", .string(Self.home), "--tests", "/ope/tests", "--host", "0.0.0.0",
                    .string("--port"), .string(String(configuration.gradingPort)),
                ],
                "env": .array(
                    [["name": "OPE_GRADING_TOKEN", "valueFrom": ["secretKeyRef": ["name": .string(names.secret), "key": "grading-token"]]]]
                        + environment.filter { $0.objectValue?["name"]?.stringValue?.hasPrefix("OPE_DB") ?? false }),
                "ports": [["name": "grading", "containerPort": .number(Double(configuration.gradingPort)), "protocol": "TCP"]],
                "readinessProbe": ["tcpSocket": ["port": "grading"], "periodSeconds": 5],
                "resources": [
                    "requests": ["cpu": "50m", "memory": "128Mi"], "limits": ["cpu": .string(cpus), "memory": .string(memory)],
                ],
                "volumeMounts": [
                    ["name": "files", "mountPath": .string(Self.home), "readOnly": true], ["name": "tests", "mountPath": "/ope/tests", "readOnly": true],
                    ["name": "ope-bin", "mountPath": "/ope/bin", "readOnly": true], ["name": "grading-tmp", "mountPath": "/tmp"],
                ],
                "securityContext": locked,
            ])
            volumes += [
                ["name": "ope-bin", "emptyDir": ["sizeLimit": "256Mi"]],
                ["name": "grading-tmp", "emptyDir": ["sizeLimit": "512Mi"]],
                [
                    "name": "tests",
                    "secret": [
                        "secretName": .string(WorkspaceNames.moduleTests(session.spec.module)), "optional": true,
                        "items": .array(testFiles.map { ["key": .string(ModuleBundle.key(for: $0)), "path": .string($0)] }),
                    ],
                ],
            ]
        }
        let spec: JSONValue = [
            // Participant code gets no Kubernetes credentials and no other services' addresses.
            "automountServiceAccountToken": false, "enableServiceLinks": false, "restartPolicy": "Always",
            "securityContext": [
                "runAsNonRoot": true, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000, "seccompProfile": ["type": "RuntimeDefault"],
            ],
            "initContainers": .array(initContainers),
            "containers": .array(containers),
            "volumes": .array(volumes),
        ]
        return Pod(metadata: metadata(names.pod), spec: spec)
    }

    /// One policy for every workspace of the installation: only gateway pods reach them, on JupyterLab's port.
    public static func networkPolicy(configuration: OperatorConfiguration) -> NetworkPolicy {
        let gateway = JSONValue.object(configuration.gatewayLabels.mapValues { .string($0) })
        return NetworkPolicy(
            metadata: ObjectMeta(
                name: WorkspaceNames.networkPolicy, namespace: configuration.namespace,
                labels: ["app.kubernetes.io/name": "ope", "app.kubernetes.io/managed-by": "ope-operator"]),
            spec: [
                "podSelector": ["matchLabels": ["app.kubernetes.io/name": "ope", "app.kubernetes.io/component": "workspace"]],
                "policyTypes": ["Ingress"],
                "ingress": [
                    [
                        "from": [["podSelector": ["matchLabels": gateway]]],
                        "ports": [
                            ["protocol": "TCP", "port": .number(Double(configuration.workspacePort))],
                            ["protocol": "TCP", "port": .number(Double(configuration.gradingPort))],
                        ],
                    ]
                ],
            ])
    }

    /// JupyterLab's configuration, shared by every workspace (read-only in the pod).
    public static func jupyterConfigMap(configuration: OperatorConfiguration) -> ConfigMap {
        ConfigMap(
            metadata: ObjectMeta(
                name: WorkspaceNames.jupyterConfig, namespace: configuration.namespace,
                labels: ["app.kubernetes.io/name": "ope", "app.kubernetes.io/managed-by": "ope-operator"]),
            data: Dictionary(uniqueKeysWithValues: JupyterConfig.files(folder: jupyterConfigPath).map { (configKey($0.path), $0.text) }))
    }

    /// A ConfigMap key cannot hold a `/`; the volume's items put each file back at its path.
    static func configKey(_ path: String) -> String { path.replacingOccurrences(of: "/", with: "__") }

    static var jupyterConfigItems: [JSONValue] {
        JupyterConfig.files(folder: jupyterConfigPath).map { ["key": .string(configKey($0.path)), "path": .string($0.path)] }
    }
}
