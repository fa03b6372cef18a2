"""The one small interface between the domain and AWS."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO, Protocol

from ..breakdowns import BreakdownShard, KeyTotals, ShardDelta, ShardRef
from ..imports import ImportRecord
from ..sales import DayTotals, Holder, Sale, SaleChange, StoredSale

MAX_TRANSACTION_ITEMS = 100  # DynamoDB's TransactWriteItems limit


class TransientStorageError(RuntimeError):
    """AWS kept refusing (throttling, unprocessed items, conflicts) after bounded retries.

    Raised so the invocation fails and Lambda retries the event (then the DLQ takes it).
    """


class ObjectGone(LookupError):
    """The object version an event names no longer exists (deleted before it was read): final."""


class ObjectChanged(ObjectGone):
    """The key no longer holds the bytes the event named (its ETag differs: overwritten in an
    unversioned bucket). Final too: the newer object has an event of its own."""


@dataclass(frozen=True, slots=True)
class SaleWrite:
    """Put `sale` (at `version`) if storage still holds `expected` (None: no such sale yet)."""

    sale: Sale
    version: str
    import_id: str
    first_import_id: str
    expected: StoredSale | None
    change: SaleChange
    content_hash: str
    # The earlier versions the item keeps (newest first, at most MAX_HOLDERS), written with it.
    history: tuple[Holder, ...] = ()


@dataclass(frozen=True, slots=True)
class SaleDelete:
    """Delete a sale if storage still holds `expected` (a retraction of its only holder)."""

    expected: StoredSale

    @property
    def sale_id(self) -> str:
        return self.expected.sale_id


@dataclass(slots=True)
class WriteBatch:
    """Sale writes and the day-aggregate and breakdown deltas they cause; stored atomically, or
    not at all."""

    writes: list[SaleWrite] = field(default_factory=list)
    day_deltas: dict[date, DayTotals] = field(default_factory=dict)
    breakdowns: dict[ShardRef, ShardDelta] = field(default_factory=dict)
    deletes: list[SaleDelete] = field(default_factory=list)  # after the others: positional callers

    def item_count(self) -> int:
        return (
            len(self.writes)
            + len(self.deletes)
            + sum(1 for d in self.day_deltas.values() if not d.is_zero())
            + sum(1 for d in self.breakdowns.values() if not d.is_zero())
        )


class Conflicts(dict[str, StoredSale | None]):
    """Storage.commit's answer: the sales whose expected state was wrong, with what storage holds
    now (None: the sale does not exist), and the breakdown shards whose condition failed (full,
    or not holding a key the plan expected there). Neither: the whole batch was written."""

    __slots__ = ("full_shards",)

    def __init__(
        self, sales: Mapping[str, StoredSale | None] | None = None, full_shards: Iterable[ShardRef] = ()
    ) -> None:
        super().__init__(sales or {})
        self.full_shards: frozenset[ShardRef] = frozenset(full_shards)

    @property
    def written(self) -> bool:
        return not self and not self.full_shards


@dataclass(frozen=True, slots=True)
class DayAggregate:
    day: date
    totals: DayTotals
    rev: int


class Storage(Protocol):
    # sales and aggregates
    def read_sales(self, sale_ids: Sequence[str]) -> dict[str, StoredSale]: ...
    def commit(self, batch: WriteBatch) -> Conflicts: ...
    def day_totals(self, start: date, end: date) -> dict[date, DayTotals]: ...
    def day_aggregates(self) -> Iterator[DayAggregate]: ...
    def iter_sales(self) -> Iterator[StoredSale]: ...
    def replace_day(self, day: date, totals: DayTotals, expected_rev: int | None) -> bool: ...
    def breakdown_shards(self, dimension: str, start: date, end: date) -> Iterator[BreakdownShard]: ...
    # Each key's figures summed over the shards of start..end (keys summing to zero left out).
    def breakdown_totals(self, dimension: str, start: date, end: date) -> dict[str, KeyTotals]: ...
    def replace_breakdown(
        self, dimension: str, day: date, figures: Mapping[str, KeyTotals], expected: Sequence[BreakdownShard]
    ) -> bool: ...

    # imports
    def put_import(self, record: ImportRecord) -> None: ...
    def get_import(self, import_id: str) -> ImportRecord | None: ...
    def list_imports(self, limit: int, cursor: str | None) -> tuple[list[ImportRecord], str | None]: ...

    # objects
    def open_object(self, bucket: str, key: str, version_id: str, *, etag: str = "") -> BinaryIO:
        """The object's bytes (its `version_id`, else the key's current object). `ObjectGone` if
        there is no such object; with an `etag` (S3's `If-Match`), `ObjectChanged` unless the
        object read has that ETag (quoted or not)."""
        ...

    def put_rejects(self, bucket: str, key: str, body: BinaryIO) -> None: ...
    def put_changes(self, bucket: str, key: str, body: bytes) -> None: ...
    def object_versions(self, bucket: str, key: str) -> list[tuple[str, bool]]:
        """The key's versions, newest first: (version id, whether it is a delete marker)."""
        ...

    def presign_upload(self, bucket: str, key: str, content_type: str, expires_in: int) -> str: ...
    def presign_download(self, bucket: str, key: str, expires_in: int) -> str: ...

    # health
    def check_table(self) -> None: ...
    def check_bucket(self, bucket: str) -> None: ...
