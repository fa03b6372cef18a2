"""The reckoner's breakdowns on hand-computed figures (the files of tests/test_samplegen.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from tests.reckoning import KeyFigures, reckon
from tests.test_samplegen import _FIRST, _SECOND

MARCH_1, MARCH_3 = date(2025, 3, 1), date(2025, 3, 3)


def test_reckoner_breakdowns_on_hand_computed_figures() -> None:
    both = reckon([_FIRST.encode(), _SECOND.encode()])  # 1006 lost its rental line; 1008 is new
    items = both.breakdown("item", MARCH_1, MARCH_3)
    assert items == {
        "10 Practice Credits": KeyFigures(D(0), D(0), D(0), 2, 2),  # 1001 and its refund 1005
        "Mineral Water": KeyFigures(D("0.872"), D("0.800"), D(2), 2, 1),  # "Mineral Water " twice in 1002
        "Trial Lesson": KeyFigures(D("21.582"), D("19.800"), D(1), 1, 1),
        "30 Mins Practice Credit": KeyFigures(D(0), D(0), D(1), 1, 1),  # the comp
        "60 Mins Practise": KeyFigures(D("8.72"), D("8.00"), D(1), 1, 1),
        "25 Practice Credits": KeyFigures(D("81.75"), D("75.00"), D(1), 1, 1),
        "1 month storage": KeyFigures(D("13.08"), D("12.00"), D(2), 1, 1),
    }
    assert sum((f.revenue for f in items.values()), D(0)) == both.range(MARCH_1, MARCH_3).total_revenue
    # The correction's file has no Location or Payment Method column: its sales count as (none).
    assert both.breakdown("location", MARCH_1, MARCH_3) == {
        "Golf - experience": KeyFigures(D("13.952"), D("12.800"), D(5), 6, 5),
        "Online Store": KeyFigures(D("21.582"), D("19.800"), D(1), 1, 1),
        "(none)": KeyFigures(D("90.47"), D("83.00"), D(2), 2, 2),
    }
    payments = both.breakdown("payment_method", MARCH_1, MARCH_3)
    assert payments["Credit card (Visa/MC-Keyed)"] == KeyFigures(D("0.872"), D("0.800"), D(2), 4, 3)
    assert payments["Misc. (Comp/Guest)"] == KeyFigures(D(0), D(0), D(1), 1, 1)
    assert payments["(none)"] == KeyFigures(D("90.47"), D("83.00"), D(2), 2, 2)
    # Before the correction 1006 still has its rental line under its own payment method.
    first = reckon([_FIRST.encode()]).breakdown("payment_method", MARCH_1, MARCH_3)
    assert "(none)" not in first and first["Credit card (Visa/MC-Keyed)"].line_count == 6
