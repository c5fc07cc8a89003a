"""Checks what OPE ships for Kubernetes: the manifests in deploy/kubernetes and the Dockerfiles in
deploy/images. Nothing here needs a cluster or a Docker engine.

1. Each kustomization (the base deploy/kubernetes, gateway/, examples/, monitoring/) renders with
   `kubectl kustomize`, and lists every YAML file of its folder (a file left out would go unchecked
   and undeployed). The component cluster/ (cores and edges instead of the gateway) is rendered over
   the base, as a course's overlay would use it.
2. Every rendered built-in object passes `kubernetes-validate --strict` (an unknown field is an
   error). Custom resources (ope.dev) are checked with `jsonschema` against their CRD's
   openAPIV3Schema, made strict the same way (an object with `properties` takes no other field unless
   it says `x-kubernetes-preserve-unknown-fields`, because the API server would silently drop a
   misspelt field), with `anyOf`/`x-kubernetes-int-or-string` as written. CEL rules
   (`x-kubernetes-validations`) are not evaluated here; only a real API server runs them.
3. Rules of the house, on the rendered objects: namespaced RBAC only, no `*` in a Role, every
   binding's Role and ServiceAccount present, every Deployment's and StatefulSet's pods non-root with
   a read-only root filesystem, no capabilities, the default seccomp profile, resource requests and
   limits, probes, and images with a tag. Where `ope serve --role core` and `--role edge` run (the
   cluster component): cores are a StatefulSet whose --shards is its replica count and whose --shard
   is the pod's ordinal (the pod-index label through the downward API), behind a headless Service;
   every edge's --cores names each ordinal 0..replicas-1 once, in order, by its stable DNS name and
   the cores' --cluster-port; edges mount no service-account token and are bound to no Role; both
   take the cluster token from one Secret; both have a PodDisruptionBudget; only edges reach the
   cores' cluster port; edges reach workspace pods' JupyterLab and cores their grading service.
4. `hadolint` passes every Dockerfile under deploy/images, and the workspace images install the same
   Python requirements as scripts/requirements.txt.
Deliberately wrong objects (and a wrong Dockerfile) must be refused by each of these checks, so a
check that accepts anything fails here.

Tools: kubectl from $OPE_KUBECTL or PATH (Debian's kubernetes-client; scripts/install-deps.sh installs
it); kubernetes-validate and hadolint from this Python's virtualenv (scripts/setup-kube-tools.sh). A
missing tool is a failure that says how to install it, never a skip.

Run with the tools virtualenv: .build/kube-tools/bin/python scripts/check_kube_manifests.py
Prints one line per check and a summary; exits 1 on any failure.
"""
import copy
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import jsonschema
    import yaml
except ImportError as error:  # not the tools virtualenv's Python
    print(f"FAIL {error.name} is not installed for {sys.executable}: run scripts/setup-kube-tools.sh and use .build/kube-tools/bin/python")
    sys.exit(1)

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
ROOT = os.path.join(REPO, "deploy", "kubernetes")
IMAGES = os.path.join(REPO, "deploy", "images")
# Each folder kustomize renders, relative to the repository.
KUSTOMIZATIONS = ["deploy/kubernetes", "deploy/kubernetes/gateway", "deploy/kubernetes/examples", "deploy/kubernetes/monitoring", "deploy/kubernetes/cluster"]
# A component is rendered over this base (its kustomization names it in `components`).
COMPONENT_BASE = "deploy/kubernetes"
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")
# What the operator gives every workspace pod and the ports on them (OperatorConfiguration's defaults):
# the proxy reaches JupyterLab, the runtime the grading service; its own policy admits gateway pods.
WORKSPACE_LABELS = {"app.kubernetes.io/name": "ope", "app.kubernetes.io/component": "workspace"}
GATEWAY_LABELS = {"app.kubernetes.io/name": "ope-gateway", "app.kubernetes.io/component": "gateway"}
JUPYTER_PORT, GRADING_PORT = 8888, 50051
POD_INDEX_FIELD = "metadata.labels['apps.kubernetes.io/pod-index']"
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}
# Kinds of other projects' CRDs that kubernetes-validate has no schema for; checked by hand below.
FOREIGN_GROUPS = {"monitoring.coreos.com"}
BIN = os.path.dirname(sys.executable)
SETUP_HINT = "run scripts/setup-kube-tools.sh and use .build/kube-tools/bin/python"


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, message):
        self.passed += 1
        print(f"ok   {message}")

    def fail(self, message):
        self.failed += 1
        print(f"FAIL {message}")

    def check(self, problems, message):
        """ok(message) when `problems` is empty, else one failure listing them."""
        if problems:
            self.fail(f"{message}:\n  " + "\n  ".join(problems))
        else:
            self.ok(message)


def strict(schema):
    schema = copy.deepcopy(schema)
    if isinstance(schema, dict):
        preserve = schema.pop("x-kubernetes-preserve-unknown-fields", False)
        for key in ("x-kubernetes-validations", "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-int-or-string"):
            schema.pop(key, None)
        if "properties" in schema:
            schema["properties"] = {name: strict(value) for name, value in schema["properties"].items()}
            if not preserve and schema.get("type") == "object":
                schema["additionalProperties"] = False
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                schema[key] = strict(schema[key])
        if "anyOf" in schema:
            schema["anyOf"] = [strict(option) for option in schema["anyOf"]]
    return schema


def find_tools(report):
    """kubectl, kubernetes-validate and hadolint, or None for each one missing (reported as a failure)."""
    kubectl = os.environ.get("OPE_KUBECTL") or shutil.which("kubectl")
    if not kubectl or not os.access(kubectl, os.X_OK):
        report.fail(
            f"kubectl not found ({'OPE_KUBECTL=' + kubectl if kubectl else 'not on PATH'}): install Debian's kubernetes-client "
            "(scripts/install-deps.sh does) or point OPE_KUBECTL at a kubectl with kustomize")
        kubectl = None
    tools = {"kubectl": kubectl}
    for name in ("kubernetes-validate", "hadolint"):
        path = os.path.join(BIN, name)
        if os.access(path, os.X_OK):
            tools[name] = path
        else:
            report.fail(f"{path} not found: {SETUP_HINT}")
            tools[name] = None
    return tools


def load_crd_schemas(report):
    """The strict schema of every custom resource kind, by (apiVersion, kind)."""
    schemas = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "crds", "*.yaml"))):
        crd = yaml.safe_load(open(path))
        spec = crd["spec"]
        problems = []
        if not spec["names"].get("shortNames"):
            problems.append("no shortNames")
        for version in spec["versions"]:
            if "status" not in version.get("subresources", {}) or not version.get("additionalPrinterColumns"):
                problems.append(f"{version['name']} needs a status subresource and printer columns")
            schema = strict(version["schema"]["openAPIV3Schema"])
            jsonschema.Draft7Validator.check_schema(schema)
            schemas[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = schema
        report.check(problems, f"{os.path.relpath(path, REPO)}: names, status subresource, printer columns, schema")
    return schemas


def kustomization_lists_every_file(folder):
    """Problems: YAML files in `folder` (and its crds/) that its kustomization leaves out. Subfolders with a
    kustomization of their own (gateway/, examples/, monitoring/) are rendered and checked on their own."""
    for name in KUSTOMIZATION_FILES:
        path = os.path.join(folder, name)
        if os.path.exists(path):
            kustomization = yaml.safe_load(open(path))
            break
    else:
        return [f"{os.path.relpath(folder, REPO)} has no kustomization"]
    listed = {os.path.normpath(os.path.join(folder, entry)) for entry in kustomization.get("resources", [])}
    problems = []
    for path in sorted(glob.glob(os.path.join(folder, "*.yaml")) + glob.glob(os.path.join(folder, "crds", "*.yaml"))):
        if os.path.basename(path) in KUSTOMIZATION_FILES or path in listed:
            continue
        problems.append(f"{os.path.relpath(path, REPO)} is not in the kustomization's resources")
    return problems


def kustomization_kind(folder):
    for name in KUSTOMIZATION_FILES:
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return (yaml.safe_load(open(path)) or {}).get("kind", "Kustomization")
    return None


def render(kubectl, folder):
    """(documents, error) of `kubectl kustomize folder`; a component over the base, through a
    kustomization in a temporary folder (kustomize takes only relative paths)."""
    path = os.path.join(REPO, folder)
    if kustomization_kind(path) == "Component":
        with tempfile.TemporaryDirectory() as overlay:
            with open(os.path.join(overlay, "kustomization.yaml"), "w") as file:
                yaml.safe_dump({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                                "resources": [os.path.relpath(os.path.join(REPO, COMPONENT_BASE), overlay)],
                                "components": [os.path.relpath(path, overlay)]}, file)
            result = subprocess.run([kubectl, "kustomize", overlay], capture_output=True, text=True)
    else:
        result = subprocess.run([kubectl, "kustomize", path], capture_output=True, text=True)
    if result.returncode != 0:
        return None, result.stderr.strip() or f"exit {result.returncode}"
    return [document for document in yaml.safe_load_all(result.stdout) if document], None


def group_of(document):
    api_version = document.get("apiVersion", "")
    return api_version.split("/")[0] if "/" in api_version else ""


def describe(document):
    return f"{document.get('kind')}/{document.get('metadata', {}).get('name')}"


def kubernetes_validate(validate, documents):
    """Problems kubernetes-validate --strict finds in `documents` (built-in kinds)."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as file:
        yaml.safe_dump_all(documents, file)
    try:
        result = subprocess.run([validate, "--strict", "--quiet", file.name], capture_output=True, text=True)
    finally:
        os.unlink(file.name)
    # --quiet leaves only warnings and failures.
    problems = [line.replace(file.name, "<rendered>") for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    if result.returncode != 0 and not problems:
        problems = [f"exit {result.returncode}"]
    return problems


def custom_resource_problems(schemas, document):
    key = (document.get("apiVersion"), document.get("kind"))
    if key not in schemas:
        return [f"{describe(document)}: no CRD in deploy/kubernetes/crds for {key[0]} {key[1]}"]
    errors = sorted(jsonschema.Draft7Validator(schemas[key], format_checker=jsonschema.FormatChecker()).iter_errors(document), key=str)
    return [f"{describe(document)}: {'/'.join(map(str, e.path))}: {e.message}" for e in errors]


def house_rule_problems(documents):
    """What the rendered objects of one kustomization do against the rules in this file's docstring."""
    problems = []
    by_kind = {}
    for document in documents:
        by_kind.setdefault(document.get("kind"), {})[document.get("metadata", {}).get("name")] = document
    for document in documents:
        kind, metadata = document.get("kind"), document.get("metadata", {})
        if kind not in CLUSTER_SCOPED and metadata.get("namespace") != "ope":
            problems.append(f"{describe(document)}: namespace {metadata.get('namespace')!r}, not 'ope'")
        if kind in ("ClusterRole", "ClusterRoleBinding"):
            problems.append(f"{describe(document)}: cluster-wide RBAC; OPE's components need only namespaced Roles")
        if kind in ("Role", "ClusterRole"):
            for number, rule in enumerate(document.get("rules") or []):
                for field in ("verbs", "resources", "apiGroups", "resourceNames"):
                    if "*" in (rule.get(field) or []):
                        problems.append(f"{describe(document)}: rule {number} has '*' in {field}")
        if kind == "RoleBinding":
            role = document.get("roleRef", {})
            if role.get("kind") != "Role" or role.get("name") not in by_kind.get("Role", {}):
                problems.append(f"{describe(document)}: binds {role.get('kind')}/{role.get('name')}, which this kustomization does not define")
            for subject in document.get("subjects") or []:
                if subject.get("kind") != "ServiceAccount" or subject.get("name") not in by_kind.get("ServiceAccount", {}):
                    problems.append(f"{describe(document)}: subject {subject.get('kind')}/{subject.get('name')} is not a ServiceAccount defined here")
        if kind in WORKLOADS:
            problems += [f"{describe(document)}: {problem}" for problem in pod_problems(document["spec"]["template"]["spec"], by_kind)]
        if kind == "ServiceMonitor":
            selector = document.get("spec", {}).get("selector", {}).get("matchLabels", {})
            ports = {endpoint.get("port") for endpoint in document.get("spec", {}).get("endpoints", [])}
            services = [s for s in by_kind.get("Service", {}).values() if selector and selector.items() <= (s["metadata"].get("labels") or {}).items()]
            if not services:
                problems.append(f"{describe(document)}: selects no Service of this kustomization")
            for service in services:
                missing = ports - {port.get("name") for port in service["spec"].get("ports", [])}
                if missing:
                    problems.append(f"{describe(document)}: Service/{service['metadata']['name']} has no port named {sorted(missing)}")
    return problems + cluster_problems(documents, by_kind)


def pod_problems(pod, by_kind):
    problems = []
    account = pod.get("serviceAccountName")
    if account and account not in by_kind.get("ServiceAccount", {}):
        problems.append(f"serviceAccountName {account} is not defined here")
    security = pod.get("securityContext") or {}
    if security.get("runAsNonRoot") is not True:
        problems.append("pod securityContext.runAsNonRoot is not true")
    if (security.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        problems.append("pod securityContext.seccompProfile is not RuntimeDefault")
    for container in (pod.get("initContainers") or []) + (pod.get("containers") or []):
        name = f"container {container.get('name')}"
        context = container.get("securityContext") or {}
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        if context.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{name}: readOnlyRootFilesystem is not true")
        if "ALL" not in ((context.get("capabilities") or {}).get("drop") or []):
            problems.append(f"{name}: does not drop ALL capabilities")
        if (context.get("capabilities") or {}).get("add"):
            problems.append(f"{name}: adds capabilities")
        resources = container.get("resources") or {}
        for part in ("requests", "limits"):
            if not {"cpu", "memory"} <= set(resources.get(part) or {}):
                problems.append(f"{name}: no cpu and memory {part}")
        image = container.get("image", "")
        if ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest"):
            problems.append(f"{name}: image {image!r} has no version tag")
        for probe in ("livenessProbe", "readinessProbe"):
            if probe not in container:
                problems.append(f"{name}: no {probe}")
    return problems


def serve_flags(container):
    """The `--flag value` pairs of an `ope serve` container's arguments, or None for any other container."""
    args = [str(arg) for arg in (container.get("command") or [])[1:] + (container.get("args") or [])]
    if not args or args[0] != "serve":
        return None
    flags = {}
    for index, arg in enumerate(args):
        if arg.startswith("--"):
            following = args[index + 1] if index + 1 < len(args) else None
            flags[arg] = following if following is not None and not following.startswith("--") else True
    return flags


def env_of(container):
    return {variable.get("name"): variable for variable in container.get("env") or []}


def expand(text, container, namespace):
    """`$(VAR)` as the kubelet expands it: the pod's namespace or a literal value; other references stay."""
    def one(match):
        variable = env_of(container).get(match[1]) or {}
        if "value" in variable:
            return str(variable["value"])
        if ((variable.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath") == "metadata.namespace":
            return namespace
        return match[0]
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", one, text)


def selects(selector, labels):
    match = (selector or {}).get("matchLabels") or {}
    return bool(match) and match.items() <= (labels or {}).items() and not (selector or {}).get("matchExpressions")


def port_number(port, container_ports):
    """A NetworkPolicy or Service port (number or a container port's name) as a number."""
    if isinstance(port, int):
        return port
    return next((p.get("containerPort") for p in container_ports if p.get("name") == port), port)


def admits(policies, target_labels, source_labels, port, container_ports=()):
    """Whether some ingress rule of a policy selecting `target_labels` lets pods with `source_labels` in
    on `port` (a rule with no `from` admits everyone, with no `ports` every port)."""
    for policy in policies:
        spec = policy.get("spec") or {}
        if not selects(spec.get("podSelector"), target_labels) and (spec.get("podSelector") or {}) != {}:
            continue
        for rule in spec.get("ingress") or []:
            ports = [port_number(p.get("port"), container_ports) for p in rule.get("ports") or []]
            if ports and port not in ports:
                continue
            peers = rule.get("from") or []
            if not peers or any(peer_admits(peer, source_labels) for peer in peers):
                return True
    return False


def peer_admits(peer, labels):
    """Whether a `from` entry admits a pod of this namespace with `labels`: an address block or a
    namespace selector alone may admit anyone; an empty pod selector admits every pod."""
    if "ipBlock" in peer or "podSelector" not in peer:
        return True
    return not peer["podSelector"] or selects(peer["podSelector"], labels)


def token_source(name, container):
    """(Secret, key) the cluster token comes from, or a problem."""
    if serve_flags(container).get("--cluster-token-file"):
        return ("file", serve_flags(container)["--cluster-token-file"]), None
    variable = env_of(container).get("OPE_CLUSTER_TOKEN")
    if not variable:
        return None, f"{name}: no OPE_CLUSTER_TOKEN and no --cluster-token-file"
    reference = (variable.get("valueFrom") or {}).get("secretKeyRef")
    if not reference:
        return None, f"{name}: OPE_CLUSTER_TOKEN is not taken from a Secret (secretKeyRef)"
    if reference.get("optional"):
        return None, f"{name}: OPE_CLUSTER_TOKEN's Secret is optional; a core or edge cannot start without it"
    return (reference.get("name"), reference.get("key")), None


def roles(documents):
    """(workload, container, flags) of every `ope serve --role core` or `--role edge` container."""
    found = []
    for document in documents:
        if document.get("kind") in WORKLOADS:
            for container in document["spec"]["template"]["spec"].get("containers") or []:
                flags = serve_flags(container)
                if flags and flags.get("--role") in ("core", "edge"):
                    found.append((document, container, flags))
    return found


def cluster_problems(documents, by_kind):
    """Cores and edges (`ope serve --role core|edge`) that fit together; nothing when none run."""
    problems = []
    cores = [found for found in roles(documents) if found[2]["--role"] == "core"]
    edges = [found for found in roles(documents) if found[2]["--role"] == "edge"]
    if not cores and not edges:
        return []
    if not cores or not edges:
        return [f"cores ({len(cores)}) and edges ({len(edges)}) come together: an edge needs cores, a core is reached through edges"]
    policies = list(by_kind.get("NetworkPolicy", {}).values())
    budgets = list(by_kind.get("PodDisruptionBudget", {}).values())
    role_subjects = {s.get("name") for b in by_kind.get("RoleBinding", {}).values() for s in b.get("subjects") or [] if s.get("kind") == "ServiceAccount"}
    tokens = set()
    # (name, namespace, service, replicas, cluster port) of each core StatefulSet
    core_sets = []
    for document, container, flags in cores:
        name, spec = describe(document), document["spec"]
        pod = spec["template"]
        labels = (pod.get("metadata") or {}).get("labels") or {}
        if document["kind"] != "StatefulSet":
            problems.append(f"{name}: a core is a StatefulSet (its ordinal is its shard, its volume its own)")
            continue
        replicas = spec.get("replicas", 1)
        if flags.get("--shards") != str(replicas):
            problems.append(f"{name}: --shards {flags.get('--shards')} but {replicas} replicas")
        shard = str(flags.get("--shard"))
        variable = re.fullmatch(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", shard)
        field = ((env_of(container).get(variable[1] if variable else "") or {}).get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath")
        if field != POD_INDEX_FIELD:
            problems.append(f"{name}: --shard {shard} is not $(VAR) with VAR from {POD_INDEX_FIELD}")
        if spec.get("podManagementPolicy") != "Parallel":
            problems.append(f"{name}: podManagementPolicy is not Parallel (cores do not wait for each other)")
        cluster_port = int(flags.get("--cluster-port", 7070))
        if str(cluster_port) == str(flags.get("--port", 8080)):
            problems.append(f"{name}: --cluster-port and --port are the same")
        service = by_kind.get("Service", {}).get(spec.get("serviceName"))
        if not service:
            problems.append(f"{name}: serviceName {spec.get('serviceName')!r} is no Service here")
        else:
            if service["spec"].get("clusterIP") != "None":
                problems.append(f"{name}: Service/{spec['serviceName']} is not headless (clusterIP: None), so cores have no names of their own")
            if not selects({"matchLabels": service["spec"].get("selector")}, labels):
                problems.append(f"{name}: Service/{spec['serviceName']} does not select its pods")
            if cluster_port not in [port_number(p.get("targetPort", p.get("port")), container.get("ports") or []) for p in service["spec"].get("ports") or []]:
                problems.append(f"{name}: Service/{spec['serviceName']} has no port for --cluster-port {cluster_port}")
        claims = {claim["metadata"]["name"] for claim in spec.get("volumeClaimTemplates") or []}
        data = [mount for mount in container.get("volumeMounts") or [] if mount.get("mountPath") == flags.get("--data")]
        if not data or data[0].get("name") not in claims:
            problems.append(f"{name}: --data {flags.get('--data')} is not a volume from volumeClaimTemplates")
        if not any(selects(b["spec"].get("selector"), labels) for b in budgets):
            problems.append(f"{name}: no PodDisruptionBudget selects its pods")
        source, problem = token_source(name, container)
        problems += [problem] if problem else []
        tokens |= {source} if source else set()
        core_sets.append((document, container, spec.get("serviceName"), replicas, cluster_port, labels))
    if len(core_sets) != 1:
        return problems + [f"{len(core_sets)} core StatefulSets; an edge's --cores names the ordinals of exactly one"]
    core, core_container, core_service, replicas, cluster_port, core_labels = core_sets[0]
    core_name, core_namespace = core["metadata"]["name"], core["metadata"].get("namespace")
    core_account = core["spec"]["template"]["spec"].get("serviceAccountName", "default")
    expected = [f"{core_name}-{ordinal}.{core_service}.{core_namespace}.svc:{cluster_port}" for ordinal in range(replicas)]
    for document, container, flags in edges:
        name, pod = describe(document), document["spec"]["template"]
        labels = (pod.get("metadata") or {}).get("labels") or {}
        entries = [entry.strip() for entry in expand(str(flags.get("--cores", "")), container, document["metadata"].get("namespace")).split(",") if entry.strip()]
        normalized = [entry.replace(".svc.cluster.local:", ".svc:") for entry in entries]
        if normalized != expected:
            problems.append(f"{name}: --cores {entries} are not the cores' stable names in ordinal order, {expected}")
        if flags.get("--shard") or flags.get("--shards"):
            problems.append(f"{name}: an edge takes no --shard or --shards")
        if pod["spec"].get("automountServiceAccountToken") is not False:
            problems.append(f"{name}: automountServiceAccountToken is not false (an edge needs no Kubernetes API access)")
        account = pod["spec"].get("serviceAccountName", "default")
        if account in role_subjects:
            problems.append(f"{name}: its ServiceAccount {account} is bound to a Role")
        if account == core_account:
            problems.append(f"{name}: shares the cores' ServiceAccount")
        if any("persistentVolumeClaim" in volume for volume in pod["spec"].get("volumes") or []):
            problems.append(f"{name}: mounts a PersistentVolumeClaim; an edge keeps nothing")
        if not any(selects(b["spec"].get("selector"), labels) for b in budgets):
            problems.append(f"{name}: no PodDisruptionBudget selects its pods")
        source, problem = token_source(name, container)
        problems += [problem] if problem else []
        tokens |= {source} if source else set()
        if not admits(policies, core_labels, labels, cluster_port, core_container.get("ports") or []):
            problems.append(f"{name}: no NetworkPolicy lets it reach the cores' cluster port {cluster_port}")
        if not (GATEWAY_LABELS.items() <= labels.items() or admits(policies, WORKSPACE_LABELS, labels, JUPYTER_PORT)):
            problems.append(f"{name}: no NetworkPolicy lets it reach workspace pods' JupyterLab ({JUPYTER_PORT}), nor does it carry the gateway's labels")
    if len(tokens) > 1:
        problems.append(f"cores and edges take the cluster token from different places: {sorted(map(str, tokens))}")
    if not any(selects((p.get("spec") or {}).get("podSelector"), core_labels) and "Ingress" in ((p.get("spec") or {}).get("policyTypes") or []) for p in policies):
        problems.append(f"no NetworkPolicy guards the cores' cluster port {cluster_port}")
    elif admits(policies, core_labels, {"app.kubernetes.io/name": "anyone-else"}, cluster_port, core_container.get("ports") or []):
        problems.append(f"a NetworkPolicy lets pods other than edges reach the cores' cluster port {cluster_port}")
    if not (GATEWAY_LABELS.items() <= core_labels.items() or admits(policies, WORKSPACE_LABELS, core_labels, GRADING_PORT)):
        problems.append(f"no NetworkPolicy lets the cores reach workspace pods' grading service ({GRADING_PORT}), nor do they carry the gateway's labels")
    return problems


def check_renders(report, tools, schemas):
    """The number of custom resources checked against their CRDs, and each folder's rendered objects."""
    checked_resources, rendered = 0, {}
    for folder in KUSTOMIZATIONS:
        report.check(kustomization_lists_every_file(os.path.join(REPO, folder)), f"{folder}: its kustomization lists every YAML file")
        if not tools["kubectl"]:
            continue
        documents, error = render(tools["kubectl"], folder)
        if error:
            report.fail(f"kubectl kustomize {folder}: {error}")
            continue
        rendered[folder] = documents
        kinds = sorted({document.get("kind") for document in documents})
        report.ok(f"kubectl kustomize {folder}: {len(documents)} objects ({', '.join(kinds)})")
        built_in = [d for d in documents if group_of(d) != "ope.dev" and group_of(d) not in FOREIGN_GROUPS]
        if built_in and tools["kubernetes-validate"]:
            report.check(kubernetes_validate(tools["kubernetes-validate"], built_in), f"{folder}: kubernetes-validate --strict, {len(built_in)} built-in objects")
        for document in (d for d in documents if group_of(d) == "ope.dev"):
            problems = custom_resource_problems(schemas, document)
            report.check(problems, f"{folder}: {describe(document)} matches its CRD schema")
            checked_resources += 0 if problems else 1
        cluster = ", cores and edges that fit together" if roles(documents) else ""
        report.check(house_rule_problems(documents), f"{folder}: namespaced least-privilege RBAC, restricted pods, tagged images{cluster}")
    return checked_resources, rendered


def wrong_clusters(documents):
    """Copies of the cluster component's render, each wrong in one way the house rules must refuse."""
    def find(copy_, kind, name):
        return next(d for d in copy_ if d.get("kind") == kind and d["metadata"]["name"] == name)

    def container(copy_, kind, name):
        return find(copy_, kind, name)["spec"]["template"]["spec"]["containers"][0]

    def set_arg(copy_, kind, name, flag, value):
        args = container(copy_, kind, name)["args"]
        args[args.index(flag) + 1] = value

    def cores_of(copy_):
        args = container(copy_, "Deployment", "ope-edge")["args"]
        return args[args.index("--cores") + 1].split(",")

    def change(mutate):
        copy_ = copy.deepcopy(documents)
        mutate(copy_)
        return copy_

    return {
        "an edge's --cores naming ordinal 2 of 2 replicas": change(lambda c: set_arg(c, "Deployment", "ope-edge", "--cores", ",".join(
            cores_of(c) + [cores_of(c)[-1].replace("ope-core-1.", "ope-core-2.")]))),
        "an edge's --cores out of ordinal order": change(lambda c: set_arg(c, "Deployment", "ope-edge", "--cores", ",".join(reversed(cores_of(c))))),
        "an edge's --cores by short names (the DNS search path's, not the stable names)": change(lambda c: set_arg(c, "Deployment", "ope-edge", "--cores", "ope-core-0.ope-core:7070,ope-core-1.ope-core:7070")),
        "--shards 3 with 2 replicas": change(lambda c: set_arg(c, "StatefulSet", "ope-core", "--shards", "3")),
        "a literal --shard": change(lambda c: set_arg(c, "StatefulSet", "ope-core", "--shard", "0")),
        "cores scaled without --shards": change(lambda c: find(c, "StatefulSet", "ope-core")["spec"].update(replicas=3)),
        "an edge mounting a service-account token": change(lambda c: find(c, "Deployment", "ope-edge")["spec"]["template"]["spec"].pop("automountServiceAccountToken")),
        "an edge bound to the cores' Role": change(lambda c: find(c, "RoleBinding", "ope-core")["subjects"].append(
            {"kind": "ServiceAccount", "name": "ope-edge", "namespace": "ope"})),
        "a core container without a security context": change(lambda c: container(c, "StatefulSet", "ope-core").pop("securityContext")),
        "the cluster token as a literal": change(lambda c: container(c, "StatefulSet", "ope-core")["env"].__setitem__(
            [v["name"] for v in container(c, "StatefulSet", "ope-core")["env"]].index("OPE_CLUSTER_TOKEN"), {"name": "OPE_CLUSTER_TOKEN", "value": "x" * 32})),
        "the cores' cluster port open to every pod": change(lambda c: find(c, "NetworkPolicy", "ope-core")["spec"]["ingress"].append(
            {"ports": [{"protocol": "TCP", "port": 7070}]})),
        "edges kept from the workspace pods": change(lambda c: c.remove(find(c, "NetworkPolicy", "ope-workspaces-cluster"))),
        "a core volume that is not the StatefulSet's own": change(lambda c: find(c, "StatefulSet", "ope-core")["spec"].pop("volumeClaimTemplates")),
    }


def check_refusals(report, tools, schemas, rendered):
    """Each check must refuse a wrong object, or it proves nothing."""
    wrong_resources = [
        ("OPESession", {"spec": {"module": "m1", "members": [{"user": "alice", "role": "driver"}]}, "status": {"phase": "Running"}}),
        ("OPESession", {"spec": {"module": "m1", "members": []}}),
        ("OPEModule", {"spec": {"title": "t", "kit": "python", "tasks": [{"id": "t1", "title": "T", "timelimit": "5m"}]}}),
        ("OPEModule", {"spec": {"title": "t", "kit": "python", "group": {"min": 1, "target": 2, "max": 9}, "tasks": [{"id": "t1", "title": "T"}]}}),
        ("OPEUser", {"spec": {"username": "Bad Name", "displayName": "x"}}),
        ("OPERepository", {"spec": {"url": "https://x", "interval": "five minutes"}}),
    ]
    accepted = []
    for kind, body in wrong_resources:
        document = {"apiVersion": "ope.dev/v1alpha1", "kind": kind, "metadata": {"name": "wrong"}, **body}
        if jsonschema.Draft7Validator(schemas[("ope.dev/v1alpha1", kind)]).is_valid(document):
            accepted.append(f"the {kind} schema accepts {body}")
    report.check(accepted, f"the CRD schemas refuse {len(wrong_resources)} wrong objects")

    base = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "x", "namespace": "ope"}}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "x", "namespace": "ope"}}
    wrong_sets = {
        "a '*' verb": [dict(role, rules=[{"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}])],
        "a '*' resource": [dict(role, rules=[{"apiGroups": ["ope.dev"], "resources": ["*"], "verbs": ["get"]}])],
        "a ClusterRole": [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "x"}, "rules": []}],
        "a binding to a missing Role": [base, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "x", "namespace": "ope"},
                                               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "gone"},
                                               "subjects": [{"kind": "ServiceAccount", "name": "x", "namespace": "ope"}]}],
        "a root pod with no limits": [base, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x", "namespace": "ope"},
                                             "spec": {"template": {"spec": {"serviceAccountName": "x", "containers": [{"name": "c", "image": "ope:latest"}]}}}}],
        "an object in another namespace": [dict(base, metadata={"name": "x", "namespace": "default"})],
    }
    accepted = [name for name, documents in wrong_sets.items() if not house_rule_problems(documents)]
    report.check([f"the house rules accept {name}" for name in accepted], f"the house rules refuse {len(wrong_sets)} wrong renders")
    if "deploy/kubernetes/cluster" in rendered:
        wrong = wrong_clusters(rendered["deploy/kubernetes/cluster"])
        accepted = [name for name, documents in wrong.items() if not house_rule_problems(documents)]
        report.check([f"the house rules accept {name}" for name in accepted], f"the house rules refuse {len(wrong)} wrong clusters of cores and edges")
    else:
        report.fail("no render of deploy/kubernetes/cluster to make wrong clusters from")

    if tools["kubernetes-validate"]:
        misspelt = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x", "namespace": "ope"},
                    "spec": {"replica": 2, "selector": {"matchLabels": {"a": "b"}},
                             "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}}}}
        refused = kubernetes_validate(tools["kubernetes-validate"], [misspelt])
        report.check([] if refused else ["kubernetes-validate --strict accepts a Deployment with `replica:`"],
                     "kubernetes-validate --strict refuses a misspelt field")
    if tools["hadolint"]:
        result = subprocess.run([tools["hadolint"], "--no-color", "-"], input="FROM debian\nRUN apt-get install curl\n", capture_output=True, text=True)
        report.check([] if result.returncode != 0 else ["hadolint accepts an untagged FROM and an unattended apt-get without -y"],
                     "hadolint refuses a wrong Dockerfile")


def requirement_lines(path):
    return {line.strip() for line in open(path) if line.strip() and not line.lstrip().startswith("#")}


def check_images(report, tools):
    dockerfiles = sorted(glob.glob(os.path.join(IMAGES, "*.Dockerfile")) + glob.glob(os.path.join(IMAGES, "Dockerfile*")))
    dockerfiles = [path for path in dockerfiles if not path.endswith(".dockerignore")]
    if not dockerfiles:
        report.fail(f"no Dockerfile in {os.path.relpath(IMAGES, REPO)}")
    requirements = requirement_lines(os.path.join(REPO, "scripts", "requirements.txt"))
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as file:
        file.write("ignored: []\n")
        config = file.name
    try:
        for path in dockerfiles:
            check_image(report, tools, path, config, requirements)
    finally:
        os.unlink(config)


def check_image(report, tools, path, config, requirements):
    """hadolint on one Dockerfile; a workspace image's Python requirements against scripts/requirements.txt."""
    name = os.path.relpath(path, REPO)
    if tools["hadolint"]:
        # Every finding fails (threshold info), and only the Dockerfiles' own `# hadolint ignore=`
        # comments excuse one: an empty config file, so no one's ~/.config/hadolint.yaml counts.
        result = subprocess.run([tools["hadolint"], "--no-color", "--failure-threshold", "info", "--config", config, path],
                                capture_output=True, text=True, cwd=REPO)
        report.check([line for line in (result.stdout + result.stderr).splitlines() if line.strip()] or ([f"exit {result.returncode}"] if result.returncode else []),
                     f"hadolint {name}")
    # Quoted pip requirements ("name>=x,<y") in a workspace image are scripts/requirements.txt's lines.
    text = open(path).read()
    if "pip install" in text:
        specs = re.findall(r'"([A-Za-z][A-Za-z0-9_.\-\[\]]*[<>=~!][^"]*)"', text)
        strays = [spec for spec in specs if spec not in requirements]
        report.check([f"{spec} is not a line of scripts/requirements.txt" for spec in strays] + ([] if specs else ["no quoted requirements found"]),
                     f"{name}: {len(specs)} Python requirements, as in scripts/requirements.txt")


def main():
    report = Report()
    tools = find_tools(report)
    schemas = load_crd_schemas(report)
    checked_resources, rendered = check_renders(report, tools, schemas)
    check_refusals(report, tools, schemas, rendered)
    check_images(report, tools)
    if checked_resources == 0:
        report.fail("no custom resource was checked against its CRD")
    print(f"{report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
