"""The words the storage capabilities speak: what a transaction writes, what it answers, and the
errors that cross the boundary. The capabilities themselves are one protocol module each
(`sales_store`, `import_log`, `object_store`, `health_probe`; `salesmetrics.storage` lists them)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from ..breakdowns import ShardDelta, ShardRef
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


class SaleWrite(NamedTuple):
    """Put `sale` (at `version`) if storage still holds `expected` (None: no such sale yet).

    A NamedTuple, not a frozen dataclass: the planner makes one per sale written, and a frozen
    dataclass sets each field through object.__setattr__.
    """

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
    """SalesStore.commit's answer: the sales whose expected state was wrong, with what storage holds
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
