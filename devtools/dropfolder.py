"""A local drop folder: a file copied into it is uploaded to the local bucket, as into S3.

Polling, dependency-free: a file is picked up once its size and modification time have stayed the
same across two polls (so a copy in progress is never read half-written). Each new or changed
file goes to `<uploads prefix>drop/<filename>` in the template's bucket and its S3 event is
delivered as the template's notification filter says (devtools.s3events), to the ingest function,
which imports sales exports (`.csv` / `.csv.gz`, any case) and leaves anything else; one readable
line is logged per file. Hidden files (dot files) are not uploaded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from devtools.localstack import LocalStack
from devtools.s3events import Notified, upload_and_notify
from salesmetrics.imports import ImportRecord, import_id_for

log = logging.getLogger("devtools.drop")


@dataclass(slots=True)
class DropResult:
    path: Path
    key: str
    notified: Notified
    record: Any  # salesmetrics.imports.ImportRecord, or None when no import was recorded


def find_import(stack: LocalStack, notified: Notified) -> Any:
    """The import record the ingest function wrote for this object version (or None)."""
    import_id = import_id_for(notified.bucket, notified.key, notified.version_id or "", notified.etag)
    item = stack.client("dynamodb").get_item(
        TableName=stack.table().name,
        Key={"pk": {"S": f"IMPORT#{import_id}"}, "sk": {"S": "IMPORT"}},
        ConsistentRead=True,
    ).get("Item")
    if item is None:
        return None
    deserializer = TypeDeserializer()
    return ImportRecord.from_dict({k: deserializer.deserialize(v) for k, v in item.items()})


def describe_import(key: str, notified: Notified, record: Any) -> str:
    """One readable line about an import: status, rows, sales created/updated/unchanged, rejects."""
    seconds = f"{notified.seconds:.1f}s"
    if not notified.invocations:
        return f"{key}: stored, not ingested (outside the template's S3 filter rules)"
    failed = [i for i in notified.invocations if not i.ok]
    reasons = [ignored["reason"] for i in notified.invocations if i.ok and isinstance(i.result, dict)
               for ignored in i.result.get("ignored") or ()]
    if record is None and reasons and not failed:
        return f"{key}: stored, not ingested: {reasons[0]} [{seconds}]"
    if record is None:
        if failed:
            error = failed[0].error
            dlq = failed[0].dead_lettered_to
            where = f"; the event went to the DLQ ({dlq})" if dlq else ""
            return (f"{key}: ingest FAILED after {failed[0].attempts} attempts: "
                    f"{type(error).__name__}: {error}{where} [{seconds}]")
        return f"{key}: ingested, but no import record was found [{seconds}]"
    status = getattr(record.status, "value", record.status)
    parts = [
        f"{key}: {status}",
        f"{record.rows_total} rows ({record.rows_ingested} ingested, {record.rows_rejected} rejected)",
        f"sales {record.sales_created} created, {record.sales_updated} updated, "
        f"{record.sales_unchanged} unchanged",
    ]
    if record.rejects_key:
        parts.append(f"rejects s3://{notified.bucket}/{record.rejects_key}")
    if record.message and status != "SUCCEEDED":
        parts.append(record.message)
    return " | ".join(parts) + f" [{record.import_id}, {seconds}]"


def ingest_file(stack: LocalStack, path: Path, key: str) -> DropResult:
    """Upload one file to the local bucket at `key`, deliver the S3 event, log the outcome."""
    notified = upload_and_notify(stack, path, key)
    record = find_import(stack, notified) if notified.invocations else None
    line = describe_import(key, notified, record)
    failed = (record is None and notified.invocations) or (
        record is not None and getattr(record.status, "value", record.status) == "FAILED")
    log.log(logging.WARNING if failed else logging.INFO, "import %s", line)
    return DropResult(path, key, notified, record)


class DropFolder:
    """Watches `folder` (created if missing) and uploads each new or changed file.

    `poll()` does one round; `run(stop)` polls every `interval` seconds until `stop` is set;
    `start()` / `stop()` do that in a daemon thread. Files already in the folder when watching
    starts are ingested too (the local stack starts empty, the folder is its input).
    """

    def __init__(
        self,
        stack: LocalStack,
        folder: str | Path,
        *,
        interval: float = 0.5,
        key_prefix: str | None = None,
        on_import: Callable[[DropResult], None] | None = None,
    ) -> None:
        self.stack = stack
        self.folder = Path(folder)
        self.interval = interval
        self.on_import = on_import
        if key_prefix is None:
            key_prefix = uploads_prefix(stack).rstrip("/") + "/drop/"
        self.key_prefix = key_prefix
        self.results: list[DropResult] = []
        self._seen: dict[Path, tuple[int, int]] = {}  # last (size, mtime_ns) observed
        self._done: dict[Path, tuple[int, int]] = {}  # (size, mtime_ns) last ingested
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.folder.mkdir(parents=True, exist_ok=True)

    def key_for(self, path: Path) -> str:
        return self.key_prefix + path.name

    def poll(self) -> list[DropResult]:
        """One round: upload every file whose size and mtime held still since the last round.

        Which of them are ingested is not decided here but by the template's notification filter
        and the ingest function, exactly as for a file dropped into the real bucket.
        """
        current: dict[Path, tuple[int, int]] = {}
        for path in sorted(self.folder.iterdir()):
            if path.name.startswith(".") or not path.is_file():
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            current[path] = (stat.st_size, stat.st_mtime_ns)
        ready = [p for p, sig in current.items() if self._seen.get(p) == sig and self._done.get(p) != sig]
        self._seen = current
        results = []
        for path in ready:
            if self._stop.is_set():
                break
            try:
                result = ingest_file(self.stack, path, self.key_for(path))
            except Exception as exc:  # keep watching: one bad upload must not end the demo
                log.error("import %s: could not be uploaded or ingested: %s: %s",
                          path.name, type(exc).__name__, exc)
                self._done[path] = current[path]
                continue
            self._done[path] = current[path]
            self.results.append(result)
            results.append(result)
            if self.on_import is not None:
                self.on_import(result)
        return results

    def run(self, stop: threading.Event | None = None) -> None:
        stop = stop or self._stop
        while not stop.is_set() and not self._stop.is_set():
            try:
                self.poll()
            except Exception:
                log.exception("drop folder poll failed")
            stop.wait(self.interval)

    def wait_for(self, predicate: Callable[[DropResult], bool], timeout: float) -> DropResult | None:
        """Poll (in this thread) until an import satisfies `predicate`, or `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._stop.is_set():
            for result in self.poll():
                if predicate(result):
                    return result
            time.sleep(self.interval)
        return None

    def start(self) -> DropFolder:
        self._thread = threading.Thread(target=self.run, name="drop-folder", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


def uploads_prefix(stack: LocalStack) -> str:
    """The key prefix the template's S3 notification filter watches (its `prefix` rule)."""
    for fn in stack.functions():
        for spec in fn.s3_events:
            for name, value in spec.rules:
                if name.lower() == "prefix" and value:
                    return value
    return "uploads/"
