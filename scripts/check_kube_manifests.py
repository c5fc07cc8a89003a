"""Checks deploy/kubernetes: every CRD and example passes `kubernetes-validate --strict`, and every
example custom resource validates against its CRD's openAPIV3Schema.

kubernetes-validate knows only built-in kinds, so the custom resources are checked here with
`jsonschema`: the CRD's schema, made strict (an object with `properties` takes no other field unless
it says `x-kubernetes-preserve-unknown-fields`, because the API server would silently drop a
misspelt field), with `anyOf`/`x-kubernetes-int-or-string` as written. CEL rules
(`x-kubernetes-validations`) are not evaluated here. A few deliberately wrong objects must be
rejected, so a schema that accepts anything fails this check.

Run with the tools virtualenv: .build/kube-tools/bin/python scripts/check_kube_manifests.py
Prints one line per file and a summary; exits 1 on any failure.
"""
import copy
import glob
import os
import subprocess
import sys

import jsonschema
import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deploy", "kubernetes")


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


def main():
    failures = 0
    crds = sorted(glob.glob(os.path.join(ROOT, "crds", "*.yaml")))
    examples = sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml")))
    validate = os.path.join(os.path.dirname(sys.executable), "kubernetes-validate")
    result = subprocess.run([validate, "--strict", "--quiet", *crds, *examples], capture_output=True, text=True)
    # --quiet leaves warnings (custom kinds it has no schema for, checked below) and failures.
    problems = [line for line in (result.stdout + result.stderr).splitlines() if line.strip() and "Couldn't find schema for kind OPE" not in line]
    if result.returncode != 0 or problems:
        failures += 1
        print("FAIL kubernetes-validate --strict:\n  " + "\n  ".join(problems or [f"exit {result.returncode}"]))
    else:
        print(f"ok   kubernetes-validate --strict: {len(crds)} CRDs, {len(examples)} example files")

    schemas = {}
    for path in crds:
        crd = yaml.safe_load(open(path))
        spec = crd["spec"]
        for required in ("shortNames",):
            if not spec["names"].get(required):
                failures += 1
                print(f"FAIL {path}: no {required}")
        for version in spec["versions"]:
            if "status" not in version.get("subresources", {}) or not version.get("additionalPrinterColumns"):
                failures += 1
                print(f"FAIL {path}: {version['name']} needs a status subresource and printer columns")
            schema = strict(version["schema"]["openAPIV3Schema"])
            jsonschema.Draft7Validator.check_schema(schema)
            schemas[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = schema

    checked = 0
    for path in examples:
        for document in yaml.safe_load_all(open(path)):
            if not document:
                continue
            key = (document.get("apiVersion"), document.get("kind"))
            if key not in schemas:
                continue
            errors = sorted(jsonschema.Draft7Validator(schemas[key], format_checker=jsonschema.FormatChecker()).iter_errors(document), key=str)
            name = document.get("metadata", {}).get("name")
            if errors:
                failures += 1
                print(f"FAIL {os.path.relpath(path)} {key[1]}/{name}: " + "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors))
            else:
                checked += 1
                print(f"ok   {os.path.relpath(path)} {key[1]}/{name} matches its CRD schema")

    # Objects the schemas must refuse: a wrong phase, a misspelt field, a group size of 9, no members.
    wrong = [
        ("OPESession", {"spec": {"module": "m1", "members": [{"user": "alice", "role": "driver"}]}, "status": {"phase": "Running"}}),
        ("OPESession", {"spec": {"module": "m1", "members": []}}),
        ("OPEModule", {"spec": {"title": "t", "kit": "python", "tasks": [{"id": "t1", "title": "T", "timelimit": "5m"}]}}),
        ("OPEModule", {"spec": {"title": "t", "kit": "python", "group": {"min": 1, "target": 2, "max": 9}, "tasks": [{"id": "t1", "title": "T"}]}}),
        ("OPEUser", {"spec": {"username": "Bad Name", "displayName": "x"}}),
        ("OPERepository", {"spec": {"url": "https://x", "interval": "five minutes"}}),
    ]
    for kind, body in wrong:
        document = {"apiVersion": "ope.dev/v1alpha1", "kind": kind, "metadata": {"name": "wrong"}, **body}
        if jsonschema.Draft7Validator(schemas[("ope.dev/v1alpha1", kind)]).is_valid(document):
            failures += 1
            print(f"FAIL the {kind} schema accepts a wrong object: {body}")
    print(f"{checked} passed, {failures} failed")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
