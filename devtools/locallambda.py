"""The Lambda `Invoke` API of the local stack, so that a function can invoke another as on AWS.

moto's Lambda runs functions in Docker, which this machine does not have. The template's
functions invoke each other once: `DELETE /imports/{id}` (the metrics function) starts the
retraction in the ingest function with an asynchronous `Invoke` (`InvocationType=Event`). Every
function of the local stack gets `AWS_ENDPOINT_URL_LAMBDA` pointing here, so that call leaves the
handler unchanged through boto3 and reaches `LocalAws.invoke_async`, which retries and
dead-letters as Lambda does. A synchronous invocation (`RequestResponse`) answers the handler's
result. Names are resolved as Lambda resolves them: a function name, an ARN, either with a
`:qualifier` (alias or version), which the local stack has only one of.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    from devtools.localaws import LocalAws

log = logging.getLogger("devtools.lambda")

_INVOKE = re.compile(r"\A/2015-03-31/functions/(?P<name>[^/]+)/invocations\Z")
MAX_PAYLOAD = 6 * 1024 * 1024  # Lambda's limit for a synchronous payload


def function_name(identifier: str) -> str:
    """`name`, `name:alias`, `arn:aws:lambda:region:account:function:name[:alias]` -> name."""
    text = unquote(identifier)
    if text.startswith("arn:"):
        parts = text.split(":")
        return parts[6] if len(parts) > 6 else text
    return text.split(":", 1)[0]


class _Handler(BaseHTTPRequestHandler):
    server: LambdaEndpoint

    def do_POST(self) -> None:
        match = _INVOKE.match(self.path.split("?", 1)[0])
        length = int(self.headers.get("Content-Length") or 0)
        if match is None:
            self._answer(404, {"Type": "User", "message": f"no such Lambda API path: {self.path}"})
            return
        if length > MAX_PAYLOAD:
            self._answer(413, {"Type": "User", "message": "Request payload too large"})
            return
        body = self.rfile.read(length) if length else b"{}"
        name = function_name(match["name"])
        logical_id = self.server.logical_ids.get(name)
        if logical_id is None:
            self._answer(404, {"Type": "User", "message": f"Function not found: {name}"}, "ResourceNotFoundException")
            return
        try:
            event = json.loads(body or b"{}")
        except ValueError:
            self._answer(400, {"Type": "User", "message": "Could not parse request body into json"})
            return
        kind = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if kind == "Event":
            self.server.run_async(logical_id, event)
            self._answer(202, None)
            return
        try:
            result = self.server.stack.invoke(logical_id, event)
        except Exception as exc:
            self._answer(200, {"errorMessage": str(exc), "errorType": type(exc).__name__}, error="Unhandled")
            return
        self._answer(200, result)

    def _answer(self, status: int, payload: Any, error_type: str = "", *, error: str = "") -> None:
        data = b"" if payload is None else json.dumps(payload, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        if error:
            self.send_header("X-Amz-Function-Error", error)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("lambda %s", format % args)


class LambdaEndpoint(ThreadingHTTPServer):
    """The endpoint, on a free loopback port, for one local stack."""

    daemon_threads = True

    def __init__(self, stack: LocalAws, host: str = "127.0.0.1") -> None:
        super().__init__((host, 0), _Handler)
        self.stack = stack
        self.logical_ids = {fn.function_name: fn.logical_id for fn in stack.functions()}
        self._thread: threading.Thread | None = None
        self.invocations: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def run_async(self, logical_id: str, event: Any) -> None:
        # As Lambda's event queue: the caller has its 202 before the function runs.
        thread = threading.Thread(
            target=self.stack.invoke_async, args=(logical_id, event), name=f"invoke-{logical_id}", daemon=True
        )
        self.invocations.append(thread)
        thread.start()

    def start(self) -> LambdaEndpoint:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
