"""One local Lambda execution environment: a process that imports one handler and runs one
invocation at a time (started by devtools.workers; not a command of its own).

It runs as `python -I devtools/lambdaworker.py` (no PYTHONPATH, no script directory on sys.path)
with the function's own environment, so it sees only what that function would: its code and
layers, put on sys.path from the init message. Protocol, one JSON object per line:

    parent -> worker  {"init": {"handler", "paths", "function_name", "arn", "memory", "timeout"}}
    worker -> parent  {"ready": {"init_seconds"}}  or  {"init_error": {"type", "message", "traceback"}}
    parent -> worker  {"invoke": {"event", "request_id"}}
    worker -> parent  {"progress": {...}}  (zero or more, while it runs), then
                      {"result": ...}  or  {"error": {"type", "message", "traceback"}}

The protocol has the worker's real stdout to itself: the handler's prints and logs (Powertools
writes JSON to stdout) go to stderr, which the parent passes through, as Lambda sends them to its
log stream. Closing stdin ends the worker. Ctrl-C is the parent's to handle, so SIGINT is ignored.

Progress: while an invocation runs, what the AWS SDK sees of it is reported every second, if it
changed: bytes and lines read from S3 objects (GetObject bodies) and sales written (Put items of
committed TransactWriteItems whose sort key is SALE, docs/architecture.md). It comes from botocore
event hooks on the default session, so the handler and the domain know nothing of it.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

PROGRESS_INTERVAL_SECONDS = 1.0


def _load_context_class() -> Any:
    """devtools.lambdacontext.LambdaContext, loaded from its file: this interpreter has no
    devtools on sys.path (it sees only the function's code and layers)."""
    path = Path(__file__).resolve().with_name("lambdacontext.py")
    spec = importlib.util.spec_from_file_location("devtools_lambdacontext", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building the class
    spec.loader.exec_module(module)
    return module.LambdaContext


def _context(context_class: Any, init: dict[str, Any], request_id: str | None) -> Any:
    context = context_class(
        function_name=init["function_name"],
        memory_limit_in_mb=int(init["memory"]),
        timeout_seconds=float(init["timeout"]),
        invoked_function_arn=init["arn"],
    )
    if request_id:
        context.aws_request_id = request_id
    return context


class Progress:
    """Counters the SDK hooks fill in for the invocation that is running."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.objects: list[str] = []
        self.object_bytes = 0
        self.bytes_read = 0
        self.lines_read = 0
        self.reads = 0
        self.sales_written = 0
        self.transactions = 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "objects": list(self.objects),
            "object_bytes": self.object_bytes,
            "bytes_read": self.bytes_read,
            "lines_read": self.lines_read,
            "reads": self.reads,
            "sales_written": self.sales_written,
            "transactions": self.transactions,
        }


class _CountingBody:
    """A GetObject body that counts what the handler reads from it."""

    def __init__(self, body: Any, progress: Progress) -> None:
        self._body = body
        self._progress = progress

    def read(self, amt: int | None = None) -> bytes:
        data: bytes = self._body.read(amt)
        self._progress.bytes_read += len(data)
        self._progress.lines_read += data.count(b"\n")
        return data

    def iter_chunks(self, chunk_size: int = 1024) -> Any:
        while True:
            chunk = self.read(chunk_size)
            if not chunk:
                return
            yield chunk

    def __getattr__(self, name: str) -> Any:
        return getattr(self._body, name)


def _sales_in(body: Any) -> int:
    """The sale items a TransactWriteItems body puts: read from the request as sent, since
    the ingest builds its bodies itself and botocore never sees them as parameters."""
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8")
    if not isinstance(body, str) or not body:
        return 0
    entries = json.loads(body).get("TransactItems") or []
    return sum(1 for entry in entries if ((entry.get("Put") or {}).get("Item") or {}).get("sk") == {"S": "SALE"})


def install_progress_hooks(progress: Progress) -> None:
    """Hooks on boto3's default session, before the handler makes any client from it."""
    import boto3

    boto3.setup_default_session()
    events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]

    def count_sales(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["devtools_sales"] = _sales_in(params.get("body"))

    def committed(http_response: Any, context: dict[str, Any], **_: Any) -> None:
        if getattr(http_response, "status_code", 0) == 200:
            progress.sales_written += int(context.get("devtools_sales", 0))
            progress.transactions += 1

    def counted_body(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if "Body" in parsed:
            progress.object_bytes = int(parsed.get("ContentLength") or 0)
            parsed["Body"] = _CountingBody(parsed["Body"], progress)

    def note_key(params: dict[str, Any], **_: Any) -> None:
        # The ingest reads a file twice (its Sale IDs first, then every line): the counters
        # follow the read under way, so "lines read" never exceeds the file.
        name = f"s3://{params.get('Bucket')}/{params.get('Key')}"
        if name not in progress.objects:
            progress.objects.append(name)
        progress.reads += 1
        progress.object_bytes = progress.bytes_read = progress.lines_read = 0

    events.register("before-call.dynamodb.TransactWriteItems", count_sales)
    events.register("after-call.dynamodb.TransactWriteItems", committed)
    events.register("before-parameter-build.s3.GetObject", note_key)
    events.register("after-call.s3.GetObject", counted_body)


def _error(exc: BaseException) -> dict[str, Any]:
    return {"type": type(exc).__name__, "message": str(exc), "traceback": "".join(traceback.format_exception(exc))}


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The protocol keeps the real stdout; everything the handler prints goes to stderr.
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    lock = threading.Lock()

    def send(message: dict[str, Any]) -> None:
        text = json.dumps(message, default=str)
        with lock:
            protocol.write(text + "\n")
            protocol.flush()

    line = sys.stdin.readline()
    if not line:
        return 0
    init = json.loads(line)["init"]
    progress = Progress()
    context_class = _load_context_class()
    started = time.perf_counter()
    try:
        for path in reversed(init["paths"]):
            sys.path.insert(0, path)
        install_progress_hooks(progress)
        module_name, attribute = init["handler"].rsplit(".", 1)
        handler = getattr(importlib.import_module(module_name), attribute)
        if not callable(handler):
            raise TypeError(f"{init['handler']} is not a function")
    except BaseException as exc:  # the parent reports it; nothing here could go on
        send({"init_error": _error(exc)})
        return 1
    send({"ready": {"init_seconds": round(time.perf_counter() - started, 3), "pid": os.getpid()}})

    for line in sys.stdin:
        request = json.loads(line)["invoke"]
        progress.reset()
        done = threading.Event()

        def report(done: threading.Event = done) -> None:
            last: dict[str, Any] = {}
            while not done.wait(PROGRESS_INTERVAL_SECONDS):
                current = progress.snapshot()
                if current != last:
                    send({"progress": current})
                    last = current

        reporter = threading.Thread(target=report, name="progress", daemon=True)
        reporter.start()
        try:
            result = handler(request["event"], _context(context_class, init, request.get("request_id")))
        except Exception as exc:  # an invocation error, as Lambda reports it
            done.set()
            reporter.join()
            send({"error": _error(exc)})
            continue
        done.set()
        reporter.join()
        send({"result": result, "progress": progress.snapshot()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
