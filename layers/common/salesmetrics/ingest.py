"""The import use case: one object version in, exact sales and day aggregates out, exactly once.

No boto3 here: storage is the `Storage` protocol. See docs/architecture.md, "Exactly-once".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from .events import ObjectRef
from .imports import ImportRecord, ImportStatus, import_id_for
from .parsing import ExportError, ExportReader, Rejection, iter_byte_lines
from .rejects import RejectsFile
from .sales import DayTotals, Sale, StoredSale
from .storage.base import SaleWrite, Storage, TransientStorageError, WriteBatch

logger = logging.getLogger(__name__)

SALES_PER_FLUSH = 500
MAX_TRANSACTION_ITEMS = 100
MAX_TRANSACTION_BYTES = 3_500_000  # DynamoDB's limit is 4 MB; leave room for keys and expressions
MAX_PLAN_ATTEMPTS = 12


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True)
class SaleCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, change: str) -> None:
        if change == "created":
            self.created += 1
        elif change == "updated":
            self.updated += 1
        else:
            self.unchanged += 1


@dataclass(slots=True)
class _Plan:
    batch: WriteBatch = field(default_factory=WriteBatch)
    changes: list[str] = field(default_factory=list)
    taken: int = 0
    size: int = 0


class SaleWriter:
    """Writes sales so that retries, redeliveries and concurrent imports leave exact totals.

    Every write is conditioned on the stored state it was planned against and shares a
    transaction with the day deltas it causes. Plans start optimistic (assume a sale is new,
    which is free to check: a failed condition returns the stored item); when most sales turn
    out to exist (a re-upload), it reads them first in batches of 100 instead.
    """

    def __init__(self, storage: Storage, import_id: str, version_prefix: str) -> None:
        self.storage = storage
        self.import_id = import_id
        self.version_prefix = version_prefix
        self.counts = SaleCounts()
        self.read_first = False

    def version_of(self, sale: Sale) -> str:
        return f"{self.version_prefix}{sale.first_line:010d}"

    def write(self, sales: Iterable[Sale]) -> None:
        latest: dict[str, Sale] = {}
        for sale in sales:
            # A Sale ID seen again later in the same file: the later lines are the later version.
            latest.pop(sale.sale_id, None)
            latest[sale.sale_id] = sale
        pending = list(latest.values())
        if not pending:
            return
        known: dict[str, StoredSale | None] = {}
        if self.read_first:
            stored = self.storage.read_sales([s.sale_id for s in pending])
            known = {s.sale_id: stored.get(s.sale_id) for s in pending}
            self.read_first = len(stored) * 5 >= len(pending)  # back to optimistic when most are new
        position = 0
        attempts = 0
        hashes: dict[str, str] = {}  # each sale's digest, computed once however often it is re-planned
        while position < len(pending):
            plan = self._plan(pending, position, known, hashes)
            conflicts = self.storage.commit(plan.batch)
            if conflicts:
                attempts += 1
                if attempts >= MAX_PLAN_ATTEMPTS:
                    raise TransientStorageError("sales kept changing under this import; giving up for a retry")
                known.update(conflicts)
                logger.debug("transaction cancelled: %d of %d sales differ from the plan; re-planning",
                             len(conflicts), plan.taken)
                if len(conflicts) * 2 > plan.taken and not self.read_first:
                    # Mostly existing sales (a re-upload): read the rest of this flush in bulk
                    # rather than learning them one cancelled transaction at a time.
                    self.read_first = True
                    logger.debug("most sales already stored (a re-upload?): reading before writing")
                    unknown = [s.sale_id for s in pending[position:] if s.sale_id not in known]
                    stored = self.storage.read_sales(unknown)
                    known.update({sale_id: stored.get(sale_id) for sale_id in unknown})
                continue
            attempts = 0
            for change in plan.changes:
                self.counts.add(change)
            position += plan.taken

    def _plan(self, pending: list[Sale], start: int, known: dict[str, StoredSale | None],
              hashes: dict[str, str]) -> _Plan:
        plan = _Plan()
        days = plan.batch.day_deltas
        for sale in pending[start:]:
            stored = known.get(sale.sale_id)
            version = self.version_of(sale)
            digest = hashes.get(sale.sale_id)
            if digest is None:
                digest = hashes[sale.sale_id] = sale.content_hash
            write: SaleWrite | None = None
            delta: list[tuple[date, DayTotals]] = []
            if stored is None:
                change = "created"
                write = SaleWrite(sale, version, self.import_id, self.import_id, None, change, digest)
                delta.append((sale.sale_date, DayTotals.of(sale.total, sale.tax, sale.discounts)))
            elif stored.version == version:
                change = stored.change  # this import wrote it before a crash; count it as it was
            elif stored.version > version:
                change = "unchanged"  # storage holds a newer upload's version of this sale
            elif stored.content_hash == digest:
                change = "unchanged"  # same content, newer upload: record the version, no delta
                write = SaleWrite(sale, version, self.import_id, stored.first_import_id, stored, change, digest)
            else:
                change = "updated"
                write = SaleWrite(sale, version, self.import_id, stored.first_import_id, stored, change, digest)
                delta.append((sale.sale_date, DayTotals.of(sale.total, sale.tax, sale.discounts)))
                delta.append((stored.sale_date, -stored.totals()))
            if write is not None:
                new_days = {d for d, _ in delta if d not in days}
                size = 400 + 250 * len(sale.lines)
                items = len(plan.batch.writes) + len(days) + 1 + len(new_days)
                if plan.taken and (items > MAX_TRANSACTION_ITEMS or plan.size + size > MAX_TRANSACTION_BYTES):
                    break
                plan.batch.writes.append(write)
                plan.size += size
                for day, totals in delta:
                    days[day] = days[day] + totals if day in days else totals
            plan.changes.append(change)
            plan.taken += 1
        return plan


class Ingestor:
    """Runs one import: record it, stream and validate the file, write sales, file the rejects."""

    def __init__(self, storage: Storage, rejects_prefix: str, *,
                 clock: Callable[[], str] = utc_now, sales_per_flush: int = SALES_PER_FLUSH) -> None:
        self.storage = storage
        self.rejects_prefix = rejects_prefix
        self.clock = clock
        self.sales_per_flush = sales_per_flush

    def run(self, obj: ObjectRef) -> ImportRecord:
        import_id = import_id_for(obj.bucket, obj.key, obj.version_id, obj.etag)
        previous = self.storage.get_import(import_id)
        record = ImportRecord(
            import_id=import_id, bucket=obj.bucket, key=obj.key, status=ImportStatus.IN_PROGRESS,
            started_at=previous.started_at if previous else self.clock(),
            version_id=obj.version_id, etag=obj.etag,
            attempts=previous.attempts + 1 if previous else 1,
        )
        self.storage.put_import(record)
        try:
            self._ingest(obj, record)
        except ExportError as exc:
            record.status = ImportStatus.FAILED
            record.message = str(exc)
        except Exception as exc:
            # Leave the record IN_PROGRESS with the reason: the event will be retried.
            record.message = f"attempt {record.attempts} failed: {type(exc).__name__}: {str(exc)[:300]}"
            self.storage.put_import(record)
            raise
        record.finished_at = self.clock()
        self.storage.put_import(record)
        return record

    def _ingest(self, obj: ObjectRef, record: ImportRecord) -> None:
        stream = self.storage.open_object(obj.bucket, obj.key, obj.version_id)
        try:
            reader = ExportReader(iter_byte_lines(stream))
            writer = SaleWriter(self.storage, record.import_id, obj.version_prefix(record.import_id))
            rejects = RejectsFile(reader.columns)
            buffer: list[Sale] = []
            for item in reader:
                reader.count(item)
                if isinstance(item, Rejection):
                    rejects.add(item)
                    continue
                buffer.append(item)
                if len(buffer) >= self.sales_per_flush:
                    writer.write(buffer)
                    buffer = []
            writer.write(buffer)
        finally:
            stream.close()
        stats = reader.stats
        record.rows_total = stats.rows_total
        record.rows_ingested = stats.rows_ingested
        record.rows_rejected = stats.rows_rejected
        record.sales_created = writer.counts.created
        record.sales_updated = writer.counts.updated
        record.sales_unchanged = writer.counts.unchanged
        if rejects.count:
            record.rejects_key = f"{self.rejects_prefix}{record.import_id}.csv"
            self.storage.put_rejects(obj.bucket, record.rejects_key, rejects.finish())
        if stats.rows_total == 0:
            record.status = ImportStatus.FAILED
            record.message = "the file has a header but no sales lines"
        elif stats.rows_ingested == 0:
            record.status = ImportStatus.FAILED
            record.message = f"all {stats.rows_total} lines were rejected; see the rejects file"
        else:
            record.status = ImportStatus.PARTIAL if stats.rows_rejected else ImportStatus.SUCCEEDED
            record.message = (
                f"{stats.rows_total} lines: {stats.rows_ingested} ingested, {stats.rows_rejected} rejected; "
                f"sales {writer.counts.created} created, {writer.counts.updated} updated, "
                f"{writer.counts.unchanged} unchanged"
            )
