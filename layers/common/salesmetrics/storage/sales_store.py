"""Capability: the sales and what is summed from them (day aggregates, breakdown shards).

Written together or not at all: a sale's write and the deltas it causes share one transaction, so
no reader ever sees a sale without its sums. Used by the import (`ingest`), the reports
(`metrics`, `breakdowns` via the API) and the reconciliation (`reconcile`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Protocol

from ..breakdowns import BreakdownShard, KeyTotals
from ..sales import DayTotals, StoredSale
from .base import Conflicts, DayAggregate, WriteBatch


class SalesStore(Protocol):
    def read_sales(self, sale_ids: Sequence[str]) -> dict[str, StoredSale]:
        """The stored sales among `sale_ids` (strongly consistent); absent ids are left out."""
        ...

    def commit(self, batch: WriteBatch) -> Conflicts:
        """Write the whole batch in one transaction if every write's expected state and every
        shard's condition hold; otherwise write nothing and name what failed. `ValueError` for a
        batch no transaction can hold (over `MAX_TRANSACTION_ITEMS` items, too many keys for one
        shard update); `TransientStorageError` when the store kept refusing past its retries."""
        ...

    def day_totals(self, start: date, end: date) -> dict[date, DayTotals]:
        """The day aggregates of `start`..`end` (inclusive); days without any are left out."""
        ...

    def day_aggregates(self) -> Iterator[DayAggregate]:
        """Every day aggregate in day order, each with the revision `replace_day` is conditioned on."""
        ...

    def iter_sales(self) -> Iterator[StoredSale]:
        """Every stored sale, in no particular order."""
        ...

    def replace_day(self, day: date, totals: DayTotals, expected_rev: int | None) -> bool:
        """Overwrite a day's aggregate only if it still has `expected_rev` (None: no aggregate
        yet); False when it did not."""
        ...

    def breakdown_shards(self, dimension: str, start: date, end: date) -> Iterator[BreakdownShard]:
        """The shards of `dimension` over `start`..`end`, in (day, shard) order."""
        ...

    def breakdown_totals(self, dimension: str, start: date, end: date) -> dict[str, KeyTotals]:
        """Each key's figures summed over the shards of `start`..`end` (keys summing to zero left out)."""
        ...

    def replace_breakdown(
        self, dimension: str, day: date, figures: Mapping[str, KeyTotals], expected: Sequence[BreakdownShard]
    ) -> bool:
        """Rewrite a day's shards to hold `figures`, only if none changed since `expected` was
        read (each shard's revision; a shard not in `expected` must not exist); False otherwise."""
        ...
