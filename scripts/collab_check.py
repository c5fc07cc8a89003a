#!/usr/bin/env python3
"""End-to-end check of a workspace's JupyterLab: real-time collaboration and a kernel.

Talks to JupyterLab the way the JupyterLab 4 front end with jupyter-collaboration 5 does, so
it can be pointed at a workspace through OPE's authenticating reverse proxy:

  1. makes sure a notebook exists (Jupyter contents REST API);
  2. opens two independent collaborative clients on it (collaboration session REST call, then
     the Yjs sync protocol over the room WebSocket), has A append a cell and B see it, then B
     edit that cell's text and A see it, then A delete the cell again and B see that;
  3. starts a kernel, runs `print(6*7)` over the kernel channels WebSocket, reads "42" from
     iopub, and deletes the kernel.

Success: one JSON line on stdout, exit 0. Failure: one line on stderr naming the step (with the
HTTP status and a body excerpt when there is one), exit 1. Every step is bounded by --timeout.

    .venv/bin/python scripts/collab_check.py --base-url http://127.0.0.1:PORT/w/SESSION/ \\
        [--header 'Authorization: Bearer XYZ']... [--origin http://127.0.0.1:PORT] \\
        [--notebook collab-check.ipynb] [--timeout 60]

Headers given with --header go on every HTTP request and every WebSocket upgrade. --origin
sets Origin on WebSocket upgrades and on state-changing HTTP requests (PUT/POST/DELETE), as a
browser would.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import logging
import re
import secrets
import sys
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import quote, urlencode, urlsplit

from jupyter_ydoc import YNotebook
from pycrdt import (
    Doc,
    YMessageType,
    YSyncMessageType,
    create_sync_message,
    create_update_message,
    handle_sync_message,
)
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.httputil import HTTPHeaders
from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClientConnection, WebSocketError, websocket_connect

# Notebooks can be large; the Y document arrives as one SyncStep2 message.
MAX_MESSAGE_SIZE = 256 * 1024 * 1024
VERBOSE = False


class CheckFailed(Exception):
    def __init__(self, step: str, reason: str):
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


def log(message: str) -> None:
    if VERBOSE:
        print(f"collab_check: {message}", file=sys.stderr, flush=True)


def excerpt(body: bytes | str | None, limit: int = 300) -> str:
    if not body:
        return "(empty body)"
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if text.lstrip()[:1] == "<":  # an HTML error page: keep its words, not its markup
        text = re.sub(r"(?is)<(head|script|style)\b.*?</\1>", " ", text)
        text = html.unescape(re.sub(r"<[^>]*>", " ", text))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


async def bounded(step: str, timeout: float, awaitable: Any) -> Any:
    """Runs one step with a deadline, turning a timeout into a CheckFailed naming the step."""
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except (asyncio.TimeoutError, TimeoutError):
        raise CheckFailed(step, f"timed out after {timeout:g}s") from None


# --------------------------------------------------------------------------------------------
# HTTP and WebSocket plumbing


class Server:
    """The JupyterLab server (or the proxy in front of it) at --base-url."""

    def __init__(self, base_url: str, headers: list[tuple[str, str]], origin: str | None,
                 timeout: float):
        if not base_url.endswith("/"):
            base_url += "/"
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise CheckFailed("arguments", f"--base-url must be an http(s) URL, got {base_url!r}")
        self.base_url = base_url
        self.ws_base_url = ("wss" if parts.scheme == "https" else "ws") + base_url[len(parts.scheme):]
        self.headers = headers
        self.origin = origin
        self.timeout = timeout
        self.http = AsyncHTTPClient()

    def _headers(self, with_origin: bool) -> HTTPHeaders:
        headers = HTTPHeaders()
        for name, value in self.headers:
            headers.add(name, value)
        if with_origin and self.origin:
            headers["Origin"] = self.origin
        return headers

    async def request(self, step: str, method: str, path: str, body: Any = None,
                      expect: tuple[int, ...] = (200,)) -> Any:
        """One REST call; returns the decoded JSON body (None when empty)."""
        url = self.base_url + path
        headers = self._headers(with_origin=method not in ("GET", "HEAD"))
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        elif method in ("POST", "PUT"):
            payload = ""  # tornado insists on a body for these
        request = HTTPRequest(url, method=method, headers=headers, body=payload,
                              connect_timeout=self.timeout, request_timeout=self.timeout,
                              follow_redirects=False)
        log(f"{method} {url}")
        try:
            # raise_error=False only covers HTTP statuses; no response at all still raises.
            response = await self.http.fetch(request, raise_error=False)
        except HTTPClientError as error:  # 599: timed out, connection closed early...
            raise CheckFailed(step, f"{method} {url}: no HTTP response ({error})") from None
        except (OSError, StreamClosedError) as error:
            raise CheckFailed(step, f"{method} {url}: {error}") from None
        if response.code == 599:
            raise CheckFailed(step, f"{method} {url}: no HTTP response ({response.error})")
        if response.code not in expect:
            detail = excerpt(response.body)
            if 300 <= response.code < 400:
                detail = f"redirect to {response.headers.get('Location')!r}; {detail}"
            raise CheckFailed(step, f"{method} {url} -> HTTP {response.code}: {detail}")
        if not response.body or not 200 <= response.code < 300:
            return None  # e.g. an expected 404, whose body need not be JSON
        try:
            return json.loads(response.body)
        except ValueError:
            raise CheckFailed(step, f"{method} {url} -> HTTP {response.code} but not JSON: "
                                    f"{excerpt(response.body)}") from None

    async def websocket(self, step: str, path: str, query: dict[str, str]) -> WebSocketClientConnection:
        url = self.ws_base_url + path + ("?" + urlencode(query) if query else "")
        request = HTTPRequest(url, headers=self._headers(with_origin=True),
                              connect_timeout=self.timeout, request_timeout=self.timeout,
                              follow_redirects=False)
        log(f"WebSocket {url}")
        try:
            # No subprotocol: the Y room speaks binary Yjs frames and the kernel channels fall
            # back to the legacy JSON text protocol when the client offers none.
            return await websocket_connect(request, max_message_size=MAX_MESSAGE_SIZE)
        except HTTPClientError as error:
            body = error.response.body if error.response is not None else None
            raise CheckFailed(step, f"WebSocket upgrade {url} -> HTTP {error.code}: "
                                    f"{excerpt(body) if body else error.message}") from None
        except WebSocketError as error:  # an HTTP answer other than 101 that tornado can't detail
            raise CheckFailed(step, f"WebSocket upgrade {url} failed ({error}): the answer was not "
                                    "101 Switching Protocols; is the proxy forwarding upgrades?") from None
        except (StreamClosedError, OSError) as error:
            raise CheckFailed(step, f"WebSocket upgrade {url} failed: {error!r}") from None


def close_description(ws: WebSocketClientConnection) -> str:
    return f"WebSocket closed by the server (code {ws.close_code}, reason {excerpt(ws.close_reason)!s})"


# --------------------------------------------------------------------------------------------
# Collaborative notebook client (Yjs sync protocol as spoken by jupyter-collaboration)


class CollabClient:
    """One collaborator: its own pycrdt Doc wrapped in a YNotebook, synced over one WebSocket.

    Wire format (y-protocols, what pycrdt's helpers produce): every frame is binary and starts
    with a varuint message type. SYNC (0) is followed by a sync sub-type: SyncStep1 carries a
    state vector, SyncStep2 answers a SyncStep1 with everything the sender has that the state
    vector lacks, Update carries an incremental update. AWARENESS (1) carries presence (cursors,
    user names) and never touches the document. jupyter-collaboration adds RAW (2) for its
    "save" request/reply, which we neither send nor need.
    """

    def __init__(self, name: str, server: Server, timeout: float):
        self.name = name
        self.server = server
        self.timeout = timeout
        self.doc = Doc()
        self.notebook = YNotebook(self.doc)
        self.ws: WebSocketClientConnection | None = None
        self.reader: asyncio.Task | None = None
        self.synced = asyncio.Event()
        self.closed: str | None = None
        # Pending waits: (predicate over the notebook, future resolved with the time it held).
        # Checked right after each received update is applied, so latencies are not inflated by
        # event-loop scheduling of whoever waits.
        self.watchers: list[tuple[Callable[[], bool], asyncio.Future]] = []

    async def connect(self, path: str) -> None:
        # 1. The REST call JupyterLab makes before joining a room: it indexes the file and
        #    returns its stable fileId and the server's sessionId.
        step = f"collaboration session ({self.name})"
        session = await bounded(step, self.timeout, self.server.request(
            step, "PUT", "api/collaboration/session/" + quote(path),
            {"format": "json", "type": "notebook"}, expect=(200, 201)))
        try:
            file_id, session_id = session["fileId"], session["sessionId"]
        except (TypeError, KeyError):
            raise CheckFailed(step, f"unexpected reply {excerpt(json.dumps(session))}") from None

        # 2. The room is named "<format>:<type>:<fileId>" (the server takes it from the last
        #    path segment). sessionId must travel in the query string: a missing or stale one
        #    makes the server close the socket with 1003 "unknown_session"/"version_mismatch".
        step = f"collaboration room ({self.name})"
        self.ws = await bounded(step, self.timeout, self.server.websocket(
            step, f"api/collaboration/room/json:notebook:{file_id}", {"sessionId": session_id}))
        self.reader = asyncio.create_task(self._read())

        # 3. The handshake is symmetric: the server sends its SyncStep1 first and answers ours
        #    with a SyncStep2 holding the whole notebook (loaded from disk when the room opened).
        #    We send ours immediately, like y-websocket's provider does on open, and count as
        #    synced once that SyncStep2 is applied. Editing before that would create a second,
        #    conflicting copy of the notebook's structure.
        self._send(create_sync_message(self.doc))
        step = f"collaboration sync ({self.name})"
        await bounded(step, self.timeout, self.wait_until(step, self.synced.is_set))
        if self.notebook.cell_number == 0:
            raise CheckFailed(step, "synced document has no cells: the server did not load the notebook")
        log(f"{self.name}: synced, {self.notebook.cell_number} cell(s)")

    def _send(self, message: bytes) -> None:
        assert self.ws is not None
        self.ws.write_message(message, binary=True)

    async def _read(self) -> None:
        try:
            await self._read_frames()
        except Exception as error:  # e.g. an update pycrdt cannot decode
            self.closed = f"Yjs protocol error: {error!r}"
            self._notify()

    async def _read_frames(self) -> None:
        assert self.ws is not None
        while True:
            message = await self.ws.read_message()
            if message is None:
                self.closed = close_description(self.ws)
                self._notify()
                return
            if isinstance(message, str) or not message:
                continue  # the room only sends binary frames
            if message[0] == YMessageType.SYNC:
                # Applies SyncStep2/Update to our doc; for the server's SyncStep1 it returns the
                # SyncStep2 the server expects back (without it the server never learns our
                # state, which matters only if we had edits of our own).
                reply = handle_sync_message(message[1:], self.doc)
                if reply is not None:
                    self._send(reply)
                if len(message) > 1 and message[1] == YSyncMessageType.SYNC_STEP2:
                    self.synced.set()
                self._notify()
            # AWARENESS and RAW frames don't change the document.

    def _notify(self) -> None:
        now = time.perf_counter()
        for watcher in list(self.watchers):
            predicate, future = watcher
            if future.done():
                self.watchers.remove(watcher)
            elif self.closed is not None:
                future.set_exception(CheckFailed("collaboration", f"{self.name}: {self.closed}"))
                self.watchers.remove(watcher)
            elif predicate():
                future.set_result(now)
                self.watchers.remove(watcher)

    async def wait_until(self, step: str, predicate: Callable[[], bool]) -> float:
        """Waits until predicate holds on this client's notebook; returns perf_counter() then."""
        if predicate():
            return time.perf_counter()
        if self.closed is not None:
            raise CheckFailed(step, f"{self.name}: {self.closed}")
        future = asyncio.get_running_loop().create_future()
        self.watchers.append((predicate, future))
        try:
            return await future
        except CheckFailed as failure:
            raise CheckFailed(step, failure.reason) from None

    def edit(self, change: Callable[[], None]) -> float:
        """Makes a local change and sends exactly that change as a SYNC Update.

        The update is the diff between the state vector before and after the change. (Sending
        everything seen in ydoc.observe would also work, but would echo remote updates back.)
        Returns the perf_counter() at the moment of sending.
        """
        before = self.doc.get_state()
        with self.doc.transaction():
            change()
        update = self.doc.get_update(before)
        sent = time.perf_counter()
        self._send(create_update_message(update))
        return sent

    def find_cell(self, match: Callable[[Any], bool]) -> tuple[int, Any] | None:
        for index, cell in enumerate(self.notebook.ycells):
            if match(cell):
                return index, cell
        return None

    async def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            try:
                await self.reader
            except (asyncio.CancelledError, Exception):
                pass


def source_of(cell: Any) -> str:
    try:
        return str(cell["source"])
    except (KeyError, TypeError):
        return ""


def id_of(cell: Any) -> str | None:
    try:
        return cell.get("id")
    except AttributeError:
        return None


async def check_collaboration(server: Server, path: str, timeout: float,
                              settle: float) -> dict[str, float]:
    tag = secrets.token_hex(6)
    marker_a = f'print("ope-collab-{tag}-a")'
    marker_b = f'print("ope-collab-{tag}-b")'
    a = CollabClient("A", server, timeout)
    b = CollabClient("B", server, timeout)
    try:
        await a.connect(path)
        await b.connect(path)

        # Each edit starts after a short quiet spell (--settle). Without it an edit follows the
        # previous frame on the same socket within milliseconds, and because jupyter_server's
        # WebSocket handlers don't set TCP_NODELAY, the server's small write waits for the
        # client's delayed ACK (Nagle): a steady ~40 ms that measures TCP, not collaboration.
        # A person's keystroke after a pause doesn't hit that, so we measure that case.
        await asyncio.sleep(settle)

        # A appends a code cell (a structural change: a new YMap in the cells YArray).
        step = "edit A->B"
        sent = a.edit(lambda: a.notebook.append_cell({
            "cell_type": "code", "source": marker_a, "metadata": {}, "outputs": [],
            "execution_count": None}))
        seen = await bounded(step, timeout, b.wait_until(
            step, lambda: b.find_cell(lambda c: source_of(c) == marker_a) is not None))
        a_to_b = (seen - sent) * 1000
        found = b.find_cell(lambda c: source_of(c) == marker_a)
        assert found is not None
        cell_id = id_of(found[1])
        if not cell_id:
            raise CheckFailed(step, "the cell B received has no id")
        log(f"A->B {a_to_b:.1f} ms (cell {cell_id})")

        # B rewrites that cell's text (a YText edit inside the cell A created).
        step = "edit B->A"
        await asyncio.sleep(settle)

        def rewrite() -> None:
            found = b.find_cell(lambda c: id_of(c) == cell_id)
            assert found is not None
            text = found[1]["source"]
            del text[0:len(text)]
            text.insert(0, marker_b)

        sent = b.edit(rewrite)
        seen = await bounded(step, timeout, a.wait_until(
            step, lambda: a.find_cell(lambda c: id_of(c) == cell_id and source_of(c) == marker_b)
            is not None))
        b_to_a = (seen - sent) * 1000
        log(f"B->A {b_to_a:.1f} ms")

        # A deletes the cell again so repeated runs leave the notebook as they found it.
        step = "delete A->B"
        await asyncio.sleep(settle)

        def delete() -> None:
            found = a.find_cell(lambda c: id_of(c) == cell_id)
            assert found is not None
            del a.notebook.ycells[found[0]]

        sent = a.edit(delete)
        seen = await bounded(step, timeout, b.wait_until(
            step, lambda: b.find_cell(lambda c: id_of(c) == cell_id) is None))
        delete_ms = (seen - sent) * 1000
        log(f"delete A->B {delete_ms:.1f} ms")
        return {"edit_ms_a_to_b": a_to_b, "edit_ms_b_to_a": b_to_a, "delete_ms_a_to_b": delete_ms}
    finally:
        await a.close()
        await b.close()


# --------------------------------------------------------------------------------------------
# Notebook file


def new_notebook() -> dict[str, Any]:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "cells": [{
            "id": uuid.uuid4().hex[:8], "cell_type": "code", "metadata": {},
            "source": "# OPE collaboration check", "outputs": [], "execution_count": None,
        }],
    }


async def ensure_notebook(server: Server, path: str, timeout: float) -> bool:
    """Creates the notebook unless it exists; returns True if it was created."""
    step = "notebook"
    url_path = "api/contents/" + quote(path)
    existing = await bounded(step, timeout, server.request(
        step, "GET", url_path + "?content=0", expect=(200, 404)))
    if existing is not None and existing.get("type") == "notebook":
        return False
    if existing is not None and "type" in existing:
        raise CheckFailed(step, f"{path} exists but is a {existing.get('type')}, not a notebook")
    await bounded(step, timeout, server.request(
        step, "PUT", url_path, {"type": "notebook", "format": "json", "content": new_notebook()},
        expect=(200, 201)))
    return True


# --------------------------------------------------------------------------------------------
# Kernel


def kernel_message(msg_type: str, content: dict[str, Any], session: str) -> dict[str, Any]:
    """A Jupyter message in the JSON form the kernel channels WebSocket takes without a
    subprotocol: header/parent_header/metadata/content plus the channel to route it to."""
    return {
        "header": {
            "msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "ope-collab-check",
            "session": session, "date": datetime.now(timezone.utc).isoformat(), "version": "5.3",
        },
        "parent_header": {}, "metadata": {}, "content": content, "channel": "shell", "buffers": [],
    }


async def kernel_replies(ws: WebSocketClientConnection, step: str):
    while True:
        raw = await ws.read_message()
        if raw is None:
            raise CheckFailed(step, close_description(ws))
        if not isinstance(raw, str):
            continue  # binary frames carry buffers, which print() doesn't produce
        try:
            yield json.loads(raw)
        except ValueError:
            raise CheckFailed(step, f"non-JSON kernel message: {excerpt(raw)}") from None


async def check_kernel(server: Server, timeout: float, code: str, expect: str) -> dict[str, Any]:
    step = "kernel start"
    started = time.perf_counter()
    kernel = await bounded(step, timeout, server.request(step, "POST", "api/kernels", {}, expect=(201, 200)))
    kernel_id = (kernel or {}).get("id")
    if not kernel_id:
        raise CheckFailed(step, f"no kernel id in {excerpt(json.dumps(kernel))}")
    log(f"kernel {kernel_id}")
    ws = None
    try:
        session = uuid.uuid4().hex
        step = "kernel channels"
        ws = await bounded(step, timeout, server.websocket(
            step, f"api/kernels/{quote(kernel_id)}/channels", {"session_id": session}))

        # kernel_info first, as JupyterLab does: its reply means the kernel is up and talking.
        step = "kernel info"
        info = kernel_message("kernel_info_request", {}, session)
        ws.write_message(json.dumps(info))

        async def info_reply() -> None:
            async for msg in kernel_replies(ws, step):
                if (msg.get("parent_header", {}).get("msg_id") == info["header"]["msg_id"]
                        and msg.get("msg_type") == "kernel_info_reply"):
                    return

        await bounded(step, timeout, info_reply())
        kernel_start_ms = (time.perf_counter() - started) * 1000

        step = "kernel execute"
        request = kernel_message("execute_request", {
            "code": code, "silent": False, "store_history": False,
            "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}, session)
        msg_id = request["header"]["msg_id"]
        sent = time.perf_counter()
        ws.write_message(json.dumps(request))

        async def run() -> str:
            # Done when both the shell execute_reply and iopub's idle status for our request
            # have arrived (iopub idle comes after all of the request's output).
            output: list[str] = []
            replied = idle = False
            async for msg in kernel_replies(ws, step):
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg.get("msg_type"), msg.get("content", {})
                if kind == "stream" and content.get("name") == "stdout":
                    output.append(content.get("text", ""))
                elif kind == "error":
                    raise CheckFailed(step, f"{content.get('ename')}: {content.get('evalue')}")
                elif kind == "execute_reply":
                    if content.get("status") != "ok":
                        raise CheckFailed(step, f"execute_reply status {content.get('status')!r}")
                    replied = True
                elif kind == "status" and content.get("execution_state") == "idle":
                    idle = True
                if replied and idle:
                    return "".join(output)
            raise AssertionError("unreachable")

        output = (await bounded(step, timeout, run())).strip()
        execute_ms = (time.perf_counter() - sent) * 1000
        if output != expect:
            raise CheckFailed(step, f"expected output {expect!r}, got {output!r}")
        log(f"execute {execute_ms:.1f} ms")
    except BaseException:
        # Best effort: don't leave a kernel behind, but report the original failure.
        if ws is not None:
            ws.close()
        try:
            await asyncio.wait_for(server.request(
                "kernel delete", "DELETE", f"api/kernels/{quote(kernel_id)}", expect=(204, 404)),
                min(timeout, 10))
        except BaseException:
            pass
        raise
    ws.close()
    step = "kernel delete"
    await bounded(step, timeout, server.request(
        step, "DELETE", f"api/kernels/{quote(kernel_id)}", expect=(204,)))
    return {"kernel_start_ms": kernel_start_ms, "execute_ms": execute_ms, "output": output}


# --------------------------------------------------------------------------------------------


def parse_header(value: str) -> tuple[str, str]:
    name, sep, rest = value.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {value!r}")
    return name.strip(), rest.strip()


async def check_api(server: Server, timeout: float) -> None:
    """An authenticated API call first, so a wrong base URL (404) or missing or rejected
    credentials (403, or whatever the proxy answers) are reported as such."""
    step = "api"
    status = await bounded(step, timeout, server.request(step, "GET", "api/status"))
    if not isinstance(status, dict) or "started" not in status:
        raise CheckFailed(step, f"GET {server.base_url}api/status is not Jupyter Server's status: "
                                f"{excerpt(json.dumps(status))}")


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    server = Server(args.base_url, args.header, args.origin, args.timeout)
    await check_api(server, args.timeout)
    created = await ensure_notebook(server, args.notebook, args.timeout)
    result: dict[str, Any] = {"ok": True}
    result.update(await check_collaboration(server, args.notebook, args.timeout, args.settle))
    result.update(await check_kernel(server, args.timeout, args.code, args.expect))
    result["notebook"] = args.notebook
    result["notebook_created"] = created
    return {k: round(v, 1) if isinstance(v, float) else v for k, v in result.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True,
                        help="JupyterLab base URL, e.g. http://127.0.0.1:8080/w/SESSION/")
    parser.add_argument("--header", action="append", default=[], type=parse_header,
                        help="'Name: value' sent on every request and WebSocket upgrade (repeatable)")
    parser.add_argument("--origin", help="Origin for WebSocket upgrades and PUT/POST/DELETE")
    parser.add_argument("--notebook", default="collab-check.ipynb",
                        help="notebook path relative to the server root (created if missing)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds allowed per step")
    parser.add_argument("--settle", type=float, default=0.2,
                        help="seconds of quiet before each timed edit (see check_collaboration)")
    parser.add_argument("--code", default="print(6*7)", help="code the kernel runs (default: print(6*7))")
    parser.add_argument("--expect", default="42", help="the stdout it must print (default: 42)")
    parser.add_argument("--verbose", action="store_true", help="log progress to stderr")
    args = parser.parse_args()

    global VERBOSE
    VERBOSE = args.verbose
    # tornado logs connection errors on its own; we report them once, in our own words.
    logging.getLogger("tornado").setLevel(logging.DEBUG if VERBOSE else logging.CRITICAL)
    logging.getLogger("asyncio").setLevel(logging.DEBUG if VERBOSE else logging.CRITICAL)

    try:
        result = asyncio.run(main_async(args))
    except CheckFailed as failure:
        print(f"collab_check failed at {failure.step}: {failure.reason}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("collab_check interrupted", file=sys.stderr, flush=True)
        return 1
    except Exception as error:  # a bug here or an unexpected reply: still one line, still exit 1
        print(f"collab_check failed: unexpected {type(error).__name__}: {error}", file=sys.stderr,
              flush=True)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
