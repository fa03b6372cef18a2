"""Recompute every day aggregate from the stored sales; report, and optionally repair, drift."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .sales import ZERO_TOTALS, DayTotals
from .storage.base import Storage


@dataclass(slots=True)
class Drift:
    day: date
    stored: DayTotals
    recomputed: DayTotals
    repaired: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        diff = self.stored - self.recomputed
        return {"date": self.day.isoformat(), "repaired": self.repaired, "note": self.note,
                "stored_revenue": str(self.stored.revenue), "recomputed_revenue": str(self.recomputed.revenue),
                "revenue_difference": str(diff.revenue), "sales_count_difference": diff.sales_count}


@dataclass(slots=True)
class ReconcileReport:
    days_checked: int = 0
    sales_scanned: int = 0
    drift: list[Drift] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.drift

    def to_dict(self) -> dict[str, Any]:
        return {"days_checked": self.days_checked, "sales_scanned": self.sales_scanned,
                "days_with_drift": len(self.drift), "drift": [d.to_dict() for d in self.drift]}


def reconcile(storage: Storage, *, repair: bool = False) -> ReconcileReport:
    """Run when no import is in flight: sales are scanned, not snapshotted. A repair only lands if
    the aggregate has not been written since it was read (its `rev`), so a concurrent import is
    never overwritten; such a day is reported as changed, to be checked again."""
    report = ReconcileReport()
    recomputed: dict[date, DayTotals] = {}
    for sale in storage.iter_sales():
        report.sales_scanned += 1
        recomputed[sale.sale_date] = recomputed.get(sale.sale_date, ZERO_TOTALS) + sale.totals()
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
    return report
