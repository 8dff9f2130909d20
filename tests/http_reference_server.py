"""The reference server behind HTTP, on 127.0.0.1 and a free port, and an adapter for it.

:func:`serve` wraps a :class:`~reference_server.ReferenceServer` in a tiny threaded
``http.server`` listening on ``127.0.0.1`` port 0 (the OS picks a free port) and returns
the running server; the caller stops it with ``shutdown()`` and ``server_close()`` (the
fixture in ``test_conformance_http.py`` does). Routes are the API's, under ``/v1`` (list
steps included), plus the kit's worker hook
``POST /_test/threads/{thread_id}/runs/{run_id}/drive``.

:class:`HttpAdapter` is the :class:`runstate.testing.Implementation` a conformance test
uses: it only needs the server's base URL, which a factory closure takes from a fixture.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from reference_server import ReferenceServer

from runstate.testing import HttpResponse, Step

_RUN = r"/v1/threads/(?P<thread>[^/]+)/runs/(?P<run>[^/]+)"
_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(r"/v1/threads"), "create_thread"),
    ("POST", re.compile(r"/v1/threads/(?P<thread>[^/]+)/runs"), "create_run"),
    ("GET", re.compile(_RUN), "retrieve_run"),
    ("GET", re.compile(_RUN + "/steps"), "list_steps"),
    ("POST", re.compile(_RUN + "/cancel"), "cancel_run"),
    ("POST", re.compile(_RUN + "/submit_tool_outputs"), "submit_tool_outputs"),
    (
        "POST",
        re.compile(r"/_test/threads/(?P<thread>[^/]+)/runs/(?P<run>[^/]+)/drive"),
        "drive",
    ),
)


def _dispatch(server: ReferenceServer, method: str, path: str, body: Any) -> tuple[int, Any]:
    for verb, pattern, name in _ROUTES:
        match = pattern.fullmatch(path)
        if verb != method or match is None:
            continue
        args = match.groupdict()
        if name == "create_thread":
            return 200, {"id": server.create_thread(), "object": "thread"}
        if name == "create_run":
            fields = dict(body)
            assistant_id = fields.pop("assistant_id")
            metadata = fields.pop("metadata", {})
            return server.create_run(
                args["thread"], assistant_id=assistant_id, metadata=metadata, extra=fields
            )
        if name == "submit_tool_outputs":
            return server.submit_tool_outputs(args["thread"], args["run"], body["tool_outputs"])
        if name == "drive":
            step = Step(
                kind=body["kind"],
                tool_calls=tuple(body["tool_calls"]),
                usage=body["usage"],
                last_error=body["last_error"],
                reason=body["reason"],
            )
            return server.drive(args["thread"], args["run"], step)
        return getattr(server, name)(args["thread"], args["run"])  # type: ignore[no-any-return]
    return 404, {"error": {"message": f"no route {method} {path}", "type": "invalid_request_error"}}


def serve(server: ReferenceServer | None = None) -> ThreadingHTTPServer:
    """Start ``server`` (a new reference server by default) on 127.0.0.1, a free port."""
    backend = server if server is not None else ReferenceServer()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: one connection per adapter
        disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall per request

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            with lock:
                status, answer = _dispatch(backend, self.command, urlsplit(self.path).path, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    return httpd


class HttpAdapter:
    """The conformance kit's :class:`~runstate.testing.Implementation`, over HTTP."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        assert parts.hostname is not None
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)

    def _send(self, method: str, path: str, body: Any = None) -> HttpResponse:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        return HttpResponse(response.status, response.read())

    def create_thread(self) -> str:
        return str(json.loads(self._send("POST", "/v1/threads", {}).body)["id"])

    def create_run(
        self,
        thread_id: str,
        *,
        assistant_id: str,
        metadata: Mapping[str, str],
        extra: Mapping[str, Any],
    ) -> HttpResponse:
        body = {"assistant_id": assistant_id, "metadata": dict(metadata), **extra}
        return self._send("POST", f"/v1/threads/{thread_id}/runs", body)

    def retrieve_run(self, thread_id: str, run_id: str) -> HttpResponse:
        return self._send("GET", f"/v1/threads/{thread_id}/runs/{run_id}")

    def cancel_run(self, thread_id: str, run_id: str) -> HttpResponse:
        return self._send("POST", f"/v1/threads/{thread_id}/runs/{run_id}/cancel")

    def list_steps(self, thread_id: str, run_id: str) -> HttpResponse:
        return self._send("GET", f"/v1/threads/{thread_id}/runs/{run_id}/steps")

    def submit_tool_outputs(
        self, thread_id: str, run_id: str, tool_outputs: Sequence[Mapping[str, str]]
    ) -> HttpResponse:
        return self._send(
            "POST",
            f"/v1/threads/{thread_id}/runs/{run_id}/submit_tool_outputs",
            {"tool_outputs": [dict(o) for o in tool_outputs]},
        )

    def drive(self, thread_id: str, run_id: str, step: Step) -> HttpResponse:
        return self._send("POST", f"/_test/threads/{thread_id}/runs/{run_id}/drive", step.to_json())

    def close(self) -> None:
        self.conn.close()
