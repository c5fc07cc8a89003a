"""Participant code that tries to get out of its workspace's sandbox (OPE's escape suite).

It runs inside a team's kernel, as any student's notebook code would, and tries each way out
that a security probe of OPE used. Each check reports whether the sandbox held ("blocked": true)
and what it saw. The test (Tests/OPEGatewayTests/ContainmentTests.swift) sends the targets —
paths, ids and ports of the platform and of another team — in PROBE_TARGETS and reads the JSON
line this prints.

    PROBE_TARGETS = {...}; exec(open("escape_probe.py").read())
"""

import ctypes
import errno
import json
import os
import signal
import socket

T = PROBE_TARGETS  # noqa: F821 - set by the caller, as above
results = {}


def check(name, attempt):
    """attempt() returns a description if it got through, or raises an OSError if blocked."""
    try:
        got = attempt()
    except OSError as error:
        results[name] = {"blocked": True, "saw": f"{type(error).__name__}: {error.strerror or error}"}
    except Exception as error:  # anything else also means it did not get through
        results[name] = {"blocked": True, "saw": f"{type(error).__name__}: {error}"}
    else:
        results[name] = {"blocked": got is None, "saw": got}


def read_data_dir():
    return f"listed {sorted(os.listdir(T['dataDir']))[:5]}"


def read_sqlite():
    with open(os.path.join(T["dataDir"], "ope.sqlite"), "rb") as file:
        return f"read {len(file.read(100))} bytes of the platform database"


def read_other_team():
    names = os.listdir(T["otherTeamDir"])
    with open(os.path.join(T["otherTeamDir"], "owned-by-other-team.txt"), "w") as file:
        file.write("written by another team")
    return f"listed {names} and wrote into it"


def read_hidden_tests():
    with open(T["hiddenTest"]) as file:
        return f"read the hidden test: {file.read(60)!r}"


def read_server_environ():
    with open(f"/proc/{T['serverPid']}/environ", "rb") as file:
        return f"read {len(file.read())} bytes of the server's environment"


def find_other_token():
    seen = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        for part in ("cmdline", "environ"):
            try:
                with open(f"/proc/{pid}/{part}", "rb") as file:
                    if T["otherToken"].encode() in file.read():
                        seen.append(f"{pid}/{part}")
            except OSError:
                pass
    own = [key for key in os.environ if "TOKEN" in key.upper()]
    if seen or own:
        return f"token found in {seen}, token variables here: {own}"
    return None


def visible_processes():
    pids = [int(pid) for pid in os.listdir("/proc") if pid.isdigit()]
    # Only this sandbox's own processes: the namespace's init, JupyterLab and this kernel.
    if T["serverPid"] in pids or len(pids) > 20:
        return f"sees {len(pids)} processes, the server's among them: {T['serverPid'] in pids}"
    return None


def signal_server():
    os.kill(T["serverPid"], 0)
    return "may signal the server"


def trace_server():
    libc = ctypes.CDLL(None, use_errno=True)
    PTRACE_ATTACH, PTRACE_DETACH = 16, 17
    if libc.ptrace(PTRACE_ATTACH, T["serverPid"], None, None) == 0:
        libc.ptrace(PTRACE_DETACH, T["serverPid"], None, None)
        return "attached to the server with ptrace"
    code = ctypes.get_errno()
    raise OSError(code, os.strerror(code))


def connect_server_port():
    with socket.create_connection(("127.0.0.1", T["serverPort"]), timeout=3):
        return "connected to the server's port"


def connect_other_workspace():
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(3)
        client.connect(T["otherSocket"])
        return "connected to another team's JupyterLab socket"


def server_secret_in_environment():
    leaked = [key for key in os.environ if key == T["secretVariable"] or key.startswith("OPE_TEST_")]
    return f"server variables visible: {leaked}" if leaked else None


def outbound_network():
    with socket.create_connection((T["outboundHost"], T["outboundPort"]), timeout=3):
        return "opened an outbound connection"


check("read the data dir", read_data_dir)
check("read the SQLite files", read_sqlite)
check("read or write another team's folder", read_other_team)
check("read the hidden tests", read_hidden_tests)
check("read /proc/<server>/environ", read_server_environ)
check("find another workspace's token", find_other_token)
check("see other processes", visible_processes)
check("signal the server", signal_server)
check("ptrace the server", trace_server)
check("connect to the server's port", connect_server_port)
check("connect to another workspace", connect_other_workspace)
check("read the server's environment variables", server_secret_in_environment)
check("open an outbound connection", outbound_network)
results["whoami"] = {"blocked": True, "saw": f"uid {os.getuid()}, home {os.environ.get('HOME')}, sees / = {sorted(os.listdir('/'))}"}
print(json.dumps(results))
