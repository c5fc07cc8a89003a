#!/usr/bin/env python3
"""Round trips through a workspace, for `ope-bench activity`: what looking into frames costs.

Against one JupyterLab (directly, or through OPE's proxy), measures
- a Yjs edit's round trip: collaborator A types one character into a cell, until collaborator B
  has it (two clients of the notebook's collaboration room, as collab_check.py makes them);
- a run's round trip: `execute_request` of `1` on the kernel channel, until its `execute_reply`
  and the kernel's return to idle.
Prints one JSON line: {"edit_ms": [...], "execute_ms": [...]}.

    .venv/bin/python scripts/activity_bench.py --base-url URL/w/SESSION/ --header 'Authorization: ...' [--count 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collab_check import CollabClient, Server, bounded, ensure_notebook, kernel_message, parse_header, source_of  # noqa: E402


async def edits(server: Server, count: int, settle: float, timeout: float) -> list[float]:
    path = "activity-bench.ipynb"
    await ensure_notebook(server, path, timeout)
    a = CollabClient("A", server, timeout)
    b = CollabClient("B", server, timeout)
    await a.connect(path)
    await b.connect(path)
    try:
        a.edit(lambda: a.notebook.append_cell({"cell_type": "code", "source": "", "metadata": {}, "outputs": [], "execution_count": None}))
        index = a.notebook.cell_number - 1
        await bounded("the bench cell", timeout, b.wait_until("the bench cell", lambda: b.notebook.cell_number == a.notebook.cell_number))
        times = []
        for n in range(count):
            # A pause before each keystroke, as a person makes: back-to-back frames would measure
            # Nagle's algorithm and delayed ACKs, not the relay.
            await asyncio.sleep(settle)
            expected = "x" * (n + 1)

            def type_one() -> None:
                a.notebook.ycells[index]["source"].insert(n, "x")

            sent = a.edit(type_one)
            seen = await bounded("edit", timeout, b.wait_until("edit", lambda: source_of(b.notebook.ycells[index]) == expected))
            times.append((seen - sent) * 1000)
        a.edit(lambda: a.notebook.ycells.__delitem__(index))
        return times
    finally:
        await a.close()
        await b.close()


async def executes(server: Server, count: int, settle: float, timeout: float) -> list[float]:
    kernel = await server.request("kernel start", "POST", "api/kernels", {}, expect=(201, 200))
    session = uuid.uuid4().hex
    ws = await server.websocket("kernel channels", f"api/kernels/{quote(kernel['id'])}/channels", {"session_id": session})
    times = []
    try:
        for _ in range(count + 1):
            await asyncio.sleep(settle)
            request = kernel_message("execute_request", {
                "code": "1", "silent": False, "store_history": False, "user_expressions": {}, "allow_stdin": False,
                "stop_on_error": True}, session)
            msg_id = request["header"]["msg_id"]
            sent = time.perf_counter()
            ws.write_message(json.dumps(request))
            replied = idle = False
            while not (replied and idle):
                raw = await asyncio.wait_for(ws.read_message(), timeout)
                if raw is None:
                    raise RuntimeError("the kernel channel closed")
                if not isinstance(raw, str):
                    continue
                message = json.loads(raw)
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind = message.get("msg_type") or message.get("header", {}).get("msg_type")
                replied = replied or kind == "execute_reply"
                idle = idle or (kind == "status" and message.get("content", {}).get("execution_state") == "idle")
            times.append((time.perf_counter() - sent) * 1000)
        return times[1:]  # the first run warms the kernel up
    finally:
        ws.close()
        try:
            await server.request("kernel delete", "DELETE", f"api/kernels/{quote(kernel['id'])}", expect=(204, 404))
        except Exception:
            pass


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--origin")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--settle", type=float, default=0.02)
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    server = Server(args.base_url, [parse_header(h) for h in args.header], args.origin, args.timeout)
    result = {
        "edit_ms": await edits(server, args.count, args.settle, args.timeout),
        "execute_ms": await executes(server, args.count, args.settle, args.timeout),
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
