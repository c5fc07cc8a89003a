"""Drives a Kubernetes API server (OPE's stand-in, in the tests) with the official Python client:
get, list with a label selector, watch, patch, replace (and a stale replace: 409), delete.

Usage: .build/kube-tools/bin/python scripts/kube_python_check.py KUBECONFIG
Expects the OPE CRDs and a namespace "ope". Prints one line per check and 'N passed, N failed'.
"""
import sys

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

GROUP, VERSION, PLURAL, NS = "ope.dev", "v1alpha1", "opesessions", "ope"


def session(name, team):
    return {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "OPESession",
        "metadata": {"name": name, "labels": {"team": team}},
        "spec": {"module": "python-intro", "members": [{"user": "alice", "role": "driver"}]},
    }


def main():
    config.load_kube_config(config_file=sys.argv[1])
    api = client.CustomObjectsApi()
    passed = failed = 0

    def check(name, condition, detail=""):
        nonlocal passed, failed
        if condition:
            passed += 1
            print(f"ok   {name}")
        else:
            failed += 1
            print(f"FAIL {name} {detail}")

    created = api.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, session("py-kept", "red"))
    api.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, session("py-gone", "blue"))
    got = api.get_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "py-kept")
    check("get", got["metadata"]["uid"] == created["metadata"]["uid"] and got["spec"]["module"] == "python-intro", got)

    listed = api.list_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, label_selector="team=red")
    check("list -l team=red", [item["metadata"]["name"] for item in listed["items"]] == ["py-kept"], listed)

    patched = api.patch_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "py-kept", {"metadata": {"labels": {"patched": "yes"}}})
    check("patch", patched["metadata"]["labels"] == {"team": "red", "patched": "yes"}, patched)

    stale = dict(got)
    current = api.get_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "py-kept")
    current["spec"]["condition"] = "replaced"
    replaced = api.replace_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "py-kept", current)
    try:
        api.replace_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "py-kept", stale)
        check("replace (and a stale replace is refused)", False, "the stale replace went through")
    except ApiException as error:
        check("replace (and a stale replace is refused)", replaced["spec"]["condition"] == "replaced" and error.status == 409, error)

    # Watch from the list's version: the deletion below arrives as DELETED.
    version = api.list_namespaced_custom_object(GROUP, VERSION, NS, PLURAL)["metadata"]["resourceVersion"]
    api.delete_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "py-gone")
    seen = []
    stream = watch.Watch()
    for event in stream.stream(api.list_namespaced_custom_object, GROUP, VERSION, NS, PLURAL, resource_version=version, timeout_seconds=10):
        seen.append((event["type"], event["object"]["metadata"]["name"]))
        if event["type"] == "DELETED":
            stream.stop()
    check("watch", seen == [("DELETED", "py-gone")], seen)
    try:
        api.get_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "py-gone")
        check("delete", False, "still there")
    except ApiException as error:
        check("delete", error.status == 404, error)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
