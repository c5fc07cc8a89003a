#!/usr/bin/env python3
"""Runs code in a new kernel of a workspace, through OPE's proxy, as a participant's notebook does.

Prints one JSON line: {"status": "ok" | "error" | "died", "stdout": "...", "stderr": "...", "error": "EName: value"}.
"died" means the kernel ended while running the code (e.g. killed at the memory limit). With
--keep the kernel is left running (code that started background processes keeps them).

    .venv/bin/python scripts/kernel_run.py --base-url http://127.0.0.1:PORT/w/SESSION/ \\
        --header 'Cookie: ope_session=...' --code 'print(1)' [--timeout 60] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collab_check import CheckFailed, Server, bounded, kernel_message, parse_header  # noqa: E402


async def run(server: Server, code: str, timeout: float, keep: bool) -> dict:
    kernel = await bounded("kernel start", timeout, server.request("kernel start", "POST", "api/kernels", {}, expect=(201, 200)))
    kernel_id = kernel["id"]
    session = uuid.uuid4().hex
    ws = await bounded("kernel channels", timeout, server.websocket(
        "kernel channels", f"api/kernels/{quote(kernel_id)}/channels", {"session_id": session}))
    request = kernel_message("execute_request", {
        "code": code, "silent": False, "store_history": False,
        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}, session)
    msg_id = request["header"]["msg_id"]
    ws.write_message(json.dumps(request))
    output: list[str] = []
    errors: list[str] = []
    result = {"status": "died", "stdout": "", "stderr": "", "error": None}

    async def collect() -> None:
        replied = idle = False
        while True:
            raw = await ws.read_message()
            if raw is None:
                return  # the channel closed: the kernel is gone
            if not isinstance(raw, str):
                continue
            msg = json.loads(raw)
            kind, content = msg.get("msg_type"), msg.get("content", {})
            if kind == "status" and content.get("execution_state") in ("restarting", "dead"):
                return
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if kind == "stream" and content.get("name") == "stdout":
                output.append(content.get("text", ""))
            elif kind == "stream" and content.get("name") == "stderr":
                errors.append(content.get("text", ""))
            elif kind == "error":
                result["error"] = f"{content.get('ename')}: {content.get('evalue')}"
            elif kind == "execute_reply":
                result["status"] = content.get("status", "error")
                if result["status"] == "error" and result["error"] is None:
                    result["error"] = f"{content.get('ename')}: {content.get('evalue')}"
                replied = True
            elif kind == "status" and content.get("execution_state") == "idle":
                idle = True
            if replied and idle:
                return

    await bounded("kernel execute", timeout, collect())
    result["stdout"] = "".join(output)
    result["stderr"] = "".join(errors)
    ws.close()
    if not keep:
        try:
            await asyncio.wait_for(server.request("kernel delete", "DELETE", f"api/kernels/{quote(kernel_id)}", expect=(204, 404)), 10)
        except BaseException:
            pass
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--header", action="append", default=[], type=parse_header)
    parser.add_argument("--code", required=True)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--keep", action="store_true", help="leave the kernel running")
    args = parser.parse_args()
    try:
        result = asyncio.run(run(Server(args.base_url, args.header, None, args.timeout), args.code, args.timeout, args.keep))
    except CheckFailed as failure:
        print(f"{failure}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
