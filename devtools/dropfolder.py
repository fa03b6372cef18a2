"""A local drop folder: a file copied into it is uploaded to the local bucket, as into S3.

Polling, dependency-free: a file is picked up once its size and modification time have stayed the
same across two polls (so a copy in progress is never read half-written). Each new or changed
file goes to `<uploads prefix>drop/<filename>` in the template's bucket and its S3 event is
delivered as the template's notification filter says (devtools.s3events), to the ingest function,
which imports sales exports (`.csv` / `.csv.gz`, any case) and leaves anything else; one readable
line is logged per file. Hidden files (dot files) are not uploaded. A file it uploaded that is
then removed from the folder is deleted from the bucket (`aws s3 rm`: a delete marker), whose
`ObjectRemoved` event retracts that file's import, as in S3.

An import that replaced many sales other files had stored (same Sale IDs, other content) gets a
warning saying which files and how to see or undo it: usually a correction, but two unrelated
exports that reuse Sale IDs would silently rewrite each other's figures.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from devtools.localaws import LocalAws
from devtools.s3events import Notified, delete_and_notify, upload_and_notify
from salesmetrics.imports import ImportRecord, import_id_for
from salesmetrics.storage.items import stored_sale

log = logging.getLogger("devtools.drop")

# Warn when an import replaced at least this many sales of other files, and this share of its own.
REPLACED_WARN_MIN = 20
REPLACED_WARN_SHARE = 0.05


@dataclass(slots=True)
class DropResult:
    path: Path
    key: str
    notified: Notified
    record: Any  # salesmetrics.imports.ImportRecord, or None when no import was recorded


def find_import(stack: LocalAws, notified: Notified) -> Any:
    """The import record the ingest function wrote for this object version (or None)."""
    import_id = import_id_for(notified.bucket, notified.key, notified.version_id or "", notified.etag)
    item = (
        stack.client("dynamodb")
        .get_item(
            TableName=stack.table().name,
            Key={"pk": {"S": f"IMPORT#{import_id}"}, "sk": {"S": "IMPORT"}},
            ConsistentRead=True,
        )
        .get("Item")
    )
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
    reasons = [
        ignored["reason"]
        for i in notified.invocations
        if i.ok and isinstance(i.result, dict)
        for ignored in i.result.get("ignored") or ()
    ]
    if record is None and reasons and not failed:
        return f"{key}: stored, not ingested: {reasons[0]} [{seconds}]"
    if record is None:
        if failed:
            error = failed[0].error
            dlq = failed[0].dead_lettered_to
            where = f"; the event went to the DLQ ({dlq})" if dlq else ""
            return (
                f"{key}: ingest FAILED after {failed[0].attempts} attempts: "
                f"{type(error).__name__}: {error}{where} [{seconds}]"
            )
        return f"{key}: ingested, but no import record was found [{seconds}]"
    status = getattr(record.status, "value", record.status)
    parts = [
        f"{key}: {status}",
        f"{record.rows_total} rows ({record.rows_ingested} ingested, {record.rows_rejected} rejected)",
        f"sales {record.sales_created} created, {record.sales_updated} updated, {record.sales_unchanged} unchanged",
    ]
    if record.rejects_key:
        parts.append(f"rejects s3://{notified.bucket}/{record.rejects_key}")
    if record.message and status != "SUCCEEDED":
        parts.append(record.message)
    if notified.seconds >= 3 and record.rows_total:  # a long one: its rate, for the final line
        seconds += f", {record.rows_total / notified.seconds:,.0f} lines/s"
    return " | ".join(parts) + f" [{record.import_id}, {seconds}]"


def ingest_file(stack: LocalAws, path: Path, key: str, *, api_url: str | None = None) -> DropResult:
    """Upload one file to the local bucket at `key`, deliver the S3 event, log the outcome (and
    warn when it replaced many sales of other files; `api_url` makes the advice copy-pasteable)."""
    notified = upload_and_notify(stack, path, key)
    record = find_import(stack, notified) if notified.invocations else None
    line = describe_import(key, notified, record)
    failed = (record is None and notified.invocations) or (
        record is not None and getattr(record.status, "value", record.status) == "FAILED"
    )
    log.log(logging.WARNING if failed else logging.INFO, "import %s", line)
    if record is not None and not failed:
        try:
            warning = replaced_sales_warning(stack, record, api_url)
        except Exception as exc:  # the advice must never take the import's line down with it
            log.debug("could not check which sales %s replaced: %s", record.import_id, exc)
        else:
            if warning:
                log.warning("%s", warning)
    return DropResult(path, key, notified, record)


def replaced_sales(stack: LocalAws, record: Any) -> Counter[str]:
    """How many sales this import changed that other files' imports had stored, by their key.

    Read from the stored sales (the import that wrote each one, the import that first stored it),
    decoded by the layer's own item reader; earlier versions of the same file do not count:
    replacing those is what a re-upload is for.
    """
    client = _client(stack)
    table = stack.table().name
    by_import: Counter[str] = Counter()
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "sk = :sale",
        "ExpressionAttributeValues": {":sale": {"S": "SALE"}},
    }
    for _ in range(10_000):  # pages of 1 MB: bounded far above any local table
        page = client.scan(**kwargs)
        for item in page.get("Items", []):
            sale = stored_sale(item)
            if (
                sale.import_id == record.import_id
                and sale.change == "updated"
                and sale.first_import_id != record.import_id
            ):
                by_import[sale.first_import_id] += 1
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    by_key: Counter[str] = Counter()
    for import_id, count in by_import.items():
        item = client.get_item(TableName=table, Key={"pk": {"S": f"IMPORT#{import_id}"}, "sk": {"S": "IMPORT"}})
        other_key = str(item.get("Item", {}).get("key", {}).get("S") or import_id)
        if other_key != record.key:
            by_key[other_key] += count
    return by_key


def replaced_sales_warning(stack: LocalAws, record: Any, api_url: str | None = None) -> str | None:
    """The warning for an import that replaced many sales of other files, or None."""
    updated = int(record.sales_updated or 0)
    sales = updated + int(record.sales_created or 0) + int(record.sales_unchanged or 0)
    if updated < REPLACED_WARN_MIN or updated < REPLACED_WARN_SHARE * sales:
        return None
    replaced = replaced_sales(stack, record)
    total = sum(replaced.values())
    if total < REPLACED_WARN_MIN:
        return None
    files = ", ".join(f"{count:,} of {key}" for key, count in replaced.most_common(3))
    if len(replaced) > 3:
        files += f" and {len(replaced) - 3} more file(s)"
    base = (api_url or "http://127.0.0.1:3000").rstrip("/")
    lines = [
        f"{record.key} replaced {total:,} sales that other files had stored ({files}): same Sale IDs, "
        "different content. If it corrects them, all is well; if these are different sales that "
        "reuse Sale IDs, the earlier figures are gone from the totals.",
    ]
    if _has_route(stack, "GET", "/imports/{import_id}/changes") and _has_route(stack, "DELETE", "/imports/{import_id}"):
        lines.append(f"  see them:  curl -s {base}/imports/{record.import_id}/changes")
        lines.append(
            f"  undo it:   curl -s -X DELETE {base}/imports/{record.import_id}"
            "   (or take the file out of the drop folder)"
        )
    else:
        lines.append(f"  see it:    curl -s {base}/imports/{record.import_id}   (sales_updated)")
        lines.append(
            "  undo it:   upload the earlier file again (a sale's latest upload wins); "
            "for a file in the drop folder, touch it"
        )
    lines.append(
        "  generated exports: give each file its own --seed or --first-sale-id (python -m devtools.samplegen --help)"
    )
    return "\n".join(lines)


def _client(stack: LocalAws) -> Any:
    import boto3

    return boto3.client(
        "dynamodb",
        endpoint_url=stack.endpoint_url,
        region_name=stack.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )  # nosec B106


def _has_route(stack: LocalAws, method: str, path: str) -> bool:
    return any(
        route.method in (method, "ANY") and route.path == path for fn in stack.functions() for route in fn.http_routes
    )


class DropFolder:
    """Watches `folder` (created if missing) and uploads each new or changed file.

    `poll()` does one round; `run(stop)` polls every `interval` seconds until `stop` is set;
    `start()` / `stop()` do that in a daemon thread. Files already in the folder when watching
    starts are ingested too (the local stack starts empty, the folder is its input).
    """

    def __init__(
        self,
        stack: LocalAws,
        folder: str | Path,
        *,
        interval: float = 0.5,
        key_prefix: str | None = None,
        on_import: Callable[[DropResult], None] | None = None,
        api_url: str | None = None,
    ) -> None:
        self.stack = stack
        self.api_url = api_url
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
        gone = [p for p in self._done if p not in current and p not in self._seen]
        self._seen = current
        for path in gone:
            del self._done[path]
            self.remove(path)
        results = []
        for path in ready:
            if self._stop.is_set():
                break
            try:
                result = ingest_file(self.stack, path, self.key_for(path), api_url=self.api_url)
            except Exception as exc:  # keep watching: one bad upload must not end the demo
                log.error("import %s: could not be uploaded or ingested: %s: %s", path.name, type(exc).__name__, exc)
                self._done[path] = current[path]
                continue
            self._done[path] = current[path]
            self.results.append(result)
            results.append(result)
            if self.on_import is not None:
                self.on_import(result)
        return results

    def remove(self, path: Path) -> Notified | None:
        """The file left the folder: delete its object, which retracts its import."""
        key = self.key_for(path)
        try:
            notified = delete_and_notify(self.stack, key)
        except Exception as exc:  # keep watching
            log.error("drop %s removed; its object could not be deleted: %s: %s", path.name, type(exc).__name__, exc)
            return None
        retracted = [
            r
            for invocation in notified.invocations
            if invocation.ok and isinstance(invocation.result, dict)
            for r in invocation.result.get("retracted") or []
            if r
        ]
        if retracted:
            for record in retracted:
                log.info(
                    "drop %s removed: import %s %s | %s sales removed, %s restored",
                    path.name,
                    record.get("import_id"),
                    record.get("status"),
                    record.get("sales_removed"),
                    record.get("sales_restored"),
                )
        else:
            log.info("drop %s removed: s3://%s/%s deleted; no import to retract", path.name, notified.bucket, key)
        return notified

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


def uploads_prefix(stack: LocalAws) -> str:
    """The key prefix the template's S3 notification filter watches (its `prefix` rule)."""
    for fn in stack.functions():
        for spec in fn.s3_events:
            for name, value in spec.rules:
                if name.lower() == "prefix" and value:
                    return value
    return "uploads/"
