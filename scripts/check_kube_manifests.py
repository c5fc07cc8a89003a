"""Checks what OPE ships for Kubernetes: the manifests in deploy/kubernetes and the Dockerfiles in
deploy/images. Nothing here needs a cluster or a Docker engine.

1. Each kustomization (the base deploy/kubernetes, gateway/, examples/, monitoring/) renders with
   `kubectl kustomize`, and lists every YAML file of its folder (a file left out would go unchecked
   and undeployed).
2. Every rendered built-in object passes `kubernetes-validate --strict` (an unknown field is an
   error). Custom resources (ope.dev) are checked with `jsonschema` against their CRD's
   openAPIV3Schema, made strict the same way (an object with `properties` takes no other field unless
   it says `x-kubernetes-preserve-unknown-fields`, because the API server would silently drop a
   misspelt field), with `anyOf`/`x-kubernetes-int-or-string` as written. CEL rules
   (`x-kubernetes-validations`) are not evaluated here; only a real API server runs them.
3. Rules of the house, on the rendered objects: namespaced RBAC only, no `*` in a Role, every
   binding's Role and ServiceAccount present, every Deployment's pods non-root with a read-only root
   filesystem, no capabilities, the default seccomp profile, resource requests and limits, probes,
   and images with a tag.
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
KUSTOMIZATIONS = ["deploy/kubernetes", "deploy/kubernetes/gateway", "deploy/kubernetes/examples", "deploy/kubernetes/monitoring"]
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


def render(kubectl, folder):
    """(documents, error) of `kubectl kustomize folder`."""
    result = subprocess.run([kubectl, "kustomize", os.path.join(REPO, folder)], capture_output=True, text=True)
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
        if kind == "Deployment":
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
    return problems


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


def check_renders(report, tools, schemas):
    checked_resources = 0
    for folder in KUSTOMIZATIONS:
        report.check(kustomization_lists_every_file(os.path.join(REPO, folder)), f"{folder}: its kustomization lists every YAML file")
        if not tools["kubectl"]:
            continue
        documents, error = render(tools["kubectl"], folder)
        if error:
            report.fail(f"kubectl kustomize {folder}: {error}")
            continue
        kinds = sorted({document.get("kind") for document in documents})
        report.ok(f"kubectl kustomize {folder}: {len(documents)} objects ({', '.join(kinds)})")
        built_in = [d for d in documents if group_of(d) != "ope.dev" and group_of(d) not in FOREIGN_GROUPS]
        if built_in and tools["kubernetes-validate"]:
            report.check(kubernetes_validate(tools["kubernetes-validate"], built_in), f"{folder}: kubernetes-validate --strict, {len(built_in)} built-in objects")
        for document in (d for d in documents if group_of(d) == "ope.dev"):
            problems = custom_resource_problems(schemas, document)
            report.check(problems, f"{folder}: {describe(document)} matches its CRD schema")
            checked_resources += 0 if problems else 1
        report.check(house_rule_problems(documents), f"{folder}: namespaced least-privilege RBAC, restricted pods, tagged images")
    return checked_resources


def check_refusals(report, tools, schemas):
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
    checked_resources = check_renders(report, tools, schemas)
    check_refusals(report, tools, schemas)
    check_images(report, tools)
    if checked_resources == 0:
        report.fail("no custom resource was checked against its CRD")
    print(f"{report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
