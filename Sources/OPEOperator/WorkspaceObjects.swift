import Foundation
import OPECore
import OPEKube
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
    public var names: WorkspaceNames { WorkspaceNames(session: session.name) }

    /// Where the team's files are, in every container that sees them.
    public static let home = "/home/ope"
    public static let jupyterConfigPath = "/etc/ope/jupyter"

    public init(session: SessionResource, module: ModuleResource, configuration: OperatorConfiguration) {
        self.session = session
        self.kit = LanguageKit(rawValue: module.spec.kit) ?? .python
        self.limits = Self.limits(kit: kit, module: module)
        self.configuration = configuration
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

    /// The JupyterLab token and the database password; the proxy adds the token, no browser sees it.
    public func secret(token: String, databasePassword: String) -> Secret {
        var secret = Secret(metadata: metadata(names.secret), stringData: ["token": token, "database-password": databasePassword])
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
        let spec: JSONValue = [
            // Participant code gets no Kubernetes credentials and no other services' addresses.
            "automountServiceAccountToken": false, "enableServiceLinks": false, "restartPolicy": "Always",
            "securityContext": [
                "runAsNonRoot": true, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000, "seccompProfile": ["type": "RuntimeDefault"],
            ],
            // The module's starter files, once: a replaced pod finds the team's work, not the starters.
            "initContainers": [
                [
                    "name": "seed", "image": .string(image),
                    "command": [
                        "sh", "-c",
                        .string(
                            "if [ ! -e \(Self.home)/.ope-seeded ]; then if [ -e /ope/starter/starter.tar ]; then tar -xf /ope/starter/starter.tar -C \(Self.home); fi; touch \(Self.home)/.ope-seeded; fi"
                        ),
                    ],
                    "volumeMounts": [["name": "files", "mountPath": .string(Self.home)], ["name": "starter", "mountPath": "/ope/starter", "readOnly": true]],
                    "resources": ["requests": ["cpu": "10m", "memory": "32Mi"], "limits": ["memory": "128Mi"]],
                    "securityContext": locked,
                ]
            ],
            "containers": .array(containers),
            "volumes": [
                ["name": "files", "persistentVolumeClaim": ["claimName": .string(names.claim)]],
                ["name": "tmp", "emptyDir": ["sizeLimit": "256Mi"]],
                ["name": "jupyter-config", "configMap": ["name": .string(WorkspaceNames.jupyterConfig), "items": .array(Self.jupyterConfigItems)]],
                ["name": "starter", "configMap": ["name": .string(WorkspaceNames.starterFiles(module: session.spec.module)), "optional": true]],
            ],
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
                        "ports": [["protocol": "TCP", "port": .number(Double(configuration.workspacePort))]],
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
