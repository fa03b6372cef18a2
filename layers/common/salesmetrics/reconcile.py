"""Recompute every day aggregate and every breakdown (by item, location, payment method) from the
stored sales; report, and optionally repair, drift."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .breakdowns import DIMENSIONS, BreakdownShard, KeyTotals, contribution, key_totals
from .money import ZERO
from .sales import ZERO_TOTALS, DayTotals
from .storage.sales_store import SalesStore


@dataclass(slots=True)
class Drift:
    day: date
    stored: DayTotals
    recomputed: DayTotals
    repaired: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        diff = self.stored - self.recomputed
        return {
            "date": self.day.isoformat(),
            "repaired": self.repaired,
            "note": self.note,
            "stored_revenue": str(self.stored.revenue),
            "recomputed_revenue": str(self.recomputed.revenue),
            "revenue_difference": str(diff.revenue),
            "sales_count_difference": diff.sales_count,
        }


@dataclass(slots=True)
class BreakdownDrift:
    dimension: str
    day: date
    stored: dict[str, KeyTotals]
    recomputed: dict[str, KeyTotals]
    repaired: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        keys = sorted(
            k for k in set(self.stored) | set(self.recomputed) if self.stored.get(k) != self.recomputed.get(k)
        )
        stored = sum((t.revenue for t in self.stored.values()), ZERO)
        recomputed = sum((t.revenue for t in self.recomputed.values()), ZERO)
        # Key names are the shop's own words (items, places, tenders), never personal data.
        return {
            "dimension": self.dimension,
            "date": self.day.isoformat(),
            "repaired": self.repaired,
            "note": self.note,
            "keys_with_drift": len(keys),
            "first_keys": keys[:5],
            "stored_revenue": str(stored),
            "recomputed_revenue": str(recomputed),
        }


@dataclass(slots=True)
class ReconcileReport:
    days_checked: int = 0
    sales_scanned: int = 0
    drift: list[Drift] = field(default_factory=list)
    breakdown_days_checked: int = 0
    breakdown_drift: list[BreakdownDrift] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.drift and not self.breakdown_drift

    def to_dict(self) -> dict[str, Any]:
        return {
            "days_checked": self.days_checked,
            "sales_scanned": self.sales_scanned,
            "days_with_drift": len(self.drift),
            "drift": [d.to_dict() for d in self.drift],
            "breakdown_days_checked": self.breakdown_days_checked,
            "breakdown_days_with_drift": len(self.breakdown_drift),
            "breakdown_drift": [d.to_dict() for d in self.breakdown_drift],
        }


def reconcile(storage: SalesStore, *, repair: bool = False) -> ReconcileReport:
    """Run when no import is in flight: sales are scanned, not snapshotted. A repair only lands if
    the aggregate has not been written since it was read (its `rev`), so a concurrent import is
    never overwritten; such a day is reported as changed, to be checked again."""
    report = ReconcileReport()
    recomputed: dict[date, DayTotals] = {}
    lines: dict[tuple[str, date], dict[str, KeyTotals]] = {}
    for sale in storage.iter_sales():
        report.sales_scanned += 1
        recomputed[sale.sale_date] = recomputed.get(sale.sale_date, ZERO_TOTALS) + sale.totals()
        for (dimension, key), totals in contribution(sale.lines).items():
            keys = lines.setdefault((dimension, sale.sale_date), {})
            keys[key] = keys[key] + totals if key in keys else totals
    stored = {agg.day: agg for agg in storage.day_aggregates()}
    for day in sorted(set(stored) | set(recomputed)):
        report.days_checked += 1
        have = stored[day].totals if day in stored else ZERO_TOTALS
        want = recomputed.get(day, ZERO_TOTALS)
        if have == want:
            continue
        drift = Drift(day, have, want)
        if repair:
            drift.repaired = storage.replace_day(day, want, stored[day].rev if day in stored else None)
            if not drift.repaired:
                drift.note = "aggregate changed during reconcile (an import ran?); run again"
        report.drift.append(drift)
    for dimension in DIMENSIONS:
        _reconcile_breakdown(storage, dimension, lines, report, repair)
    return report


def _reconcile_breakdown(
    storage: SalesStore,
    dimension: str,
    lines: dict[tuple[str, date], dict[str, KeyTotals]],
    report: ReconcileReport,
    repair: bool,
) -> None:
    shards: dict[date, list[BreakdownShard]] = {}
    for shard in storage.breakdown_shards(dimension, date.min, date.max):
        shards.setdefault(shard.day, []).append(shard)
    days = {day for dim, day in lines if dim == dimension} | set(shards)
    for day in sorted(days):
        report.breakdown_days_checked += 1
        have = key_totals(shards.get(day, []))
        want = {k: t for k, t in lines.get((dimension, day), {}).items() if not t.is_zero()}
        if have == want:
            continue
        drift = BreakdownDrift(dimension, day, have, want)
        if repair:
            try:
                drift.repaired = storage.replace_breakdown(dimension, day, want, shards.get(day, []))
            except ValueError as exc:  # more shards than one transaction can rewrite
                drift.note = str(exc)
            else:
                if not drift.repaired:
                    drift.note = "breakdown changed during reconcile (an import ran?); run again"
        report.breakdown_drift.append(drift)
