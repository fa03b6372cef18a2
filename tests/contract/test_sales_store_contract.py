"""The sales store's contract: `MemorySalesStore` and `DynamoSalesStore` on moto answer alike.

Every property the ingest's exactness rests on is checked here against both: conditional writes,
all-or-nothing transactions, conflicts naming what storage holds, the shards' room and keys.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from bench.ddbcost import item_size
from salesmetrics.breakdowns import (
    MAX_KEYS_PER_UPDATE,
    SHARD_UNITS,
    UNIT_BYTES,
    KeyTotals,
    ShardDelta,
    ShardRef,
    key_totals,
    units,
)
from salesmetrics.sales import DayTotals, Holder, Sale, SaleLine, StoredSale
from salesmetrics.storage.base import SaleDelete, SaleWrite, WriteBatch
from salesmetrics.storage.items import shard_item

D1, D2 = date(2025, 3, 1), date(2025, 3, 2)


def sale(sale_id: str, total: str, day: date = D1) -> Sale:
    line = SaleLine(1, "Bay hire", Decimal(1), None, None, None, Decimal("0.9"), Decimal(total), "Visa", "Studio")
    return Sale.build(sale_id, day, "c1", (line,))


def write(s: Sale, version: str, expected: StoredSale | None = None) -> SaleWrite:
    change = "created" if expected is None else "updated"
    return SaleWrite(s, version, "imp_a", "imp_a", expected, change, "h" + version)


def batch(*writes: SaleWrite) -> WriteBatch:
    out = WriteBatch(writes=list(writes))
    for w in writes:
        delta = DayTotals.of(w.sale.total, w.sale.tax, w.sale.discounts)
        if w.expected is not None:
            old = w.expected.sale_date
            out.day_deltas[old] = out.day_deltas.get(old, DayTotals()) - w.expected.totals()
        out.day_deltas[w.sale.sale_date] = out.day_deltas.get(w.sale.sale_date, DayTotals()) + delta
    return out


def test_a_committed_batch_stores_its_sales_and_adds_its_day_deltas(sales_store: Any) -> None:
    st = sales_store
    assert st.commit(batch(write(sale("1", "10.50"), "v1"), write(sale("2", "-3.25", D2), "v1"))) == {}
    stored = st.read_sales(["1", "2", "3"])
    assert set(stored) == {"1", "2"}
    assert (stored["1"].version, stored["1"].total, stored["1"].sale_date) == ("v1", Decimal("10.50"), D1)
    days = st.day_totals(D1, D2)
    assert days[D1].revenue == Decimal("10.50") and days[D1].order_count == 1
    assert days[D2].refunds == Decimal("-3.25") and days[D2].refund_count == 1
    assert sorted(s.sale_id for s in st.iter_sales()) == ["1", "2"]


def test_a_failed_condition_cancels_the_whole_batch_and_names_the_stored_sale(sales_store: Any) -> None:
    st = sales_store
    st.commit(batch(write(sale("1", "10.00"), "v1")))
    before = st.day_totals(D1, D2)
    conflicts = st.commit(batch(write(sale("2", "5.00"), "v2"), write(sale("1", "12.00"), "v2")))
    assert set(conflicts) == {"1"}
    assert conflicts["1"] is not None and conflicts["1"].version == "v1" and conflicts["1"].total == Decimal("10.00")
    assert st.read_sales(["2"]) == {}  # all or nothing
    assert st.day_totals(D1, D2) == before


def test_every_failed_condition_is_reported_including_a_sale_that_does_not_exist(sales_store: Any) -> None:
    st = sales_store
    st.commit(batch(write(sale("1", "10.00"), "v1")))
    ghost = StoredSale("9", D1, "v0", "h", Decimal(1), Decimal(0), Decimal(0), "imp_x", "imp_x")
    conflicts = st.commit(batch(write(sale("1", "11.00"), "v2"), write(sale("9", "1.00"), "v2", ghost)))
    assert set(conflicts) == {"1", "9"} and conflicts["9"] is None


def test_an_update_conditioned_on_the_stored_version_moves_the_sale_between_days(sales_store: Any) -> None:
    st = sales_store
    st.commit(batch(write(sale("1", "10.00"), "v1")))
    (stored,) = st.read_sales(["1"]).values()
    assert st.commit(batch(write(sale("1", "4.00", D2), "v2", stored))) == {}
    days = st.day_totals(D1, D2)
    assert days.get(D1, DayTotals()).revenue == 0 and days.get(D1, DayTotals()).sales_count == 0
    assert days[D2].revenue == Decimal("4.00") and days[D2].sales_count == 1


def test_a_delete_conditioned_on_the_stored_version_removes_the_sale_and_its_figures(sales_store: Any) -> None:
    st = sales_store
    st.commit(batch(write(sale("1", "10.00"), "v1"), write(sale("2", "3.00"), "v1")))
    (stored,) = st.read_sales(["1"]).values()
    gone = WriteBatch(deletes=[SaleDelete(stored)], day_deltas={D1: -stored.totals()})
    assert st.commit(gone) == {}
    assert set(st.read_sales(["1", "2"])) == {"2"}
    assert st.day_totals(D1, D1)[D1].revenue == Decimal("3.00") and st.day_totals(D1, D1)[D1].sales_count == 1


def test_a_delete_of_a_version_no_longer_stored_cancels_the_batch_and_names_what_is(sales_store: Any) -> None:
    st = sales_store
    st.commit(batch(write(sale("1", "10.00"), "v1")))
    (old,) = st.read_sales(["1"]).values()
    st.commit(batch(write(sale("1", "12.00"), "v2", old)))
    before = st.day_totals(D1, D1)
    conflicts = st.commit(
        WriteBatch(writes=[write(sale("2", "5.00"), "v3")], deletes=[SaleDelete(old)], day_deltas={D1: -old.totals()})
    )
    assert set(conflicts) == {"1"} and conflicts["1"] is not None and conflicts["1"].version == "v2"
    assert set(st.read_sales(["1", "2"])) == {"1"}  # all or nothing
    assert st.day_totals(D1, D1) == before
    ghost = StoredSale("9", D1, "v0", "h", Decimal(1), Decimal(0), Decimal(0), "imp_x", "imp_x")
    assert st.commit(WriteBatch(deletes=[SaleDelete(ghost)])) == {"9": None}


def test_a_sale_keeps_its_holder_history_and_client_id_as_written(sales_store: Any) -> None:
    st = sales_store
    history = (
        Holder("v2|x|imp_b|0000000002", D2, Decimal("-1.50"), "abcd1234"),
        Holder("v1|x|imp_a|01", D1, Decimal("7"), "00ff00ff"),
    )
    s = sale("1", "10.00")
    st.commit(WriteBatch(writes=[SaleWrite(s, "v3", "imp_c", "imp_a", None, "updated", "h3", history)]))
    (stored,) = st.read_sales(["1"]).values()
    assert stored.history == history and stored.client_id == "c1"
    assert stored.history[0].import_id == "imp_b"
    assert stored.as_sale() == s


def test_a_transaction_over_100_items_is_refused(sales_store: Any) -> None:
    writes = [write(sale(str(i), "1.00", date(2025, 1, 1 + i % 28)), "v1") for i in range(80)]
    with pytest.raises(ValueError, match="at most 100"):
        sales_store.commit(batch(*writes))
    assert sales_store.read_sales(["1"]) == {}


def test_replace_day_lands_only_on_the_revision_it_read(sales_store: Any) -> None:
    st = sales_store
    st.commit(batch(write(sale("1", "10.00"), "v1")))
    (agg,) = list(st.day_aggregates())
    assert not st.replace_day(D1, DayTotals(), agg.rev + 5)
    assert not st.replace_day(D2, DayTotals(), 3)  # expected a day that does not exist
    assert st.replace_day(D1, DayTotals(), agg.rev)
    assert st.day_totals(D1, D1)[D1].revenue == 0
    assert st.replace_day(D2, DayTotals.of(Decimal(2), Decimal(0), Decimal(0)), None)
    assert not st.replace_day(D2, DayTotals(), None)


def shard_batch(
    ref: ShardRef,
    figures: dict[str, KeyTotals],
    present: set[str] | None = None,
    new_units: int | None = None,
    *writes: SaleWrite,
) -> WriteBatch:
    out = batch(*writes)
    keys = set(figures) - (present or set())
    out.breakdowns[ref] = ShardDelta(
        dict(figures), set(present or ()), sum(units(k) for k in keys) if new_units is None else new_units
    )
    return out


def line_totals(revenue: str, tax: str = "0", quantity: str = "1", lines: int = 1, sales: int = 1) -> KeyTotals:
    return KeyTotals(Decimal(revenue), Decimal(tax), Decimal(quantity), lines, sales)


ITEMS_0 = ShardRef("item", D1, 0)


def test_breakdown_figures_are_added_per_key_and_read_back_per_shard(sales_store: Any) -> None:
    st = sales_store
    odd = 'Trial Lesson W/ Eli ,"quoted" = +1 ünïcode'  # any text is a key
    assert st.commit(
        shard_batch(
            ITEMS_0,
            {"Bay hire": line_totals("34.880", "2.88"), odd: line_totals("0.436")},
            None,
            None,
            write(sale("1", "35.316"), "v1"),
        )
    ).written
    assert st.commit(shard_batch(ITEMS_0, {"Bay hire": line_totals("-10.005", "-0.826", "-1")}, {"Bay hire"})).written
    assert st.commit(shard_batch(ShardRef("item", D1, 1), {odd: line_totals("1")})).written
    assert st.commit(shard_batch(ShardRef("location", D2, 0), {"(none)": line_totals("5")})).written
    shards = list(st.breakdown_shards("item", D1, D1))
    assert [(s.day, s.shard) for s in shards] == [(D1, 0), (D1, 1)]
    assert shards[0].keys == {"Bay hire", odd} and shards[0].units == 2 and shards[0].rev == 2
    assert shards[0].figures["Bay hire"] == KeyTotals(Decimal("24.875"), Decimal("2.054"), Decimal(0), 2, 2)
    assert str(shards[0].figures["Bay hire"].revenue) == "24.875"
    assert key_totals(st.breakdown_shards("item", D1, D2))[odd] == line_totals("1.436", quantity="2", lines=2, sales=2)
    assert list(st.breakdown_shards("item", D2, D2)) == []
    assert st.breakdown_totals("item", D1, D2) == key_totals(st.breakdown_shards("item", D1, D2))
    assert st.breakdown_totals("item", D2, D2) == {}
    (location,) = st.breakdown_shards("location", D1, D2)
    assert location.figures == {"(none)": line_totals("5")}


def test_a_shard_without_room_cancels_the_whole_batch_and_is_named(sales_store: Any) -> None:
    st = sales_store
    three = {"a": line_totals("1"), "b": line_totals("1"), "c": line_totals("1")}
    assert st.commit(shard_batch(ITEMS_0, three)).written
    before = st.day_totals(D1, D2)
    # The condition counts the units the shard holds (3) against the room the new keys leave.
    conflicts = st.commit(
        shard_batch(ITEMS_0, {"d": line_totals("1")}, None, SHARD_UNITS - 2, write(sale("7", "3.00"), "v1"))
    )
    assert not conflicts.written and not conflicts and conflicts.full_shards == {ITEMS_0}
    assert st.read_sales(["7"]) == {} and st.day_totals(D1, D2) == before
    assert st.commit(shard_batch(ITEMS_0, {"d": line_totals("1")}, None, SHARD_UNITS - 3)).written  # exactly full


def test_a_key_expected_in_a_shard_that_lacks_it_is_refused(sales_store: Any) -> None:
    st = sales_store
    assert st.commit(shard_batch(ITEMS_0, {"a": line_totals("1")})).written
    conflicts = st.commit(shard_batch(ITEMS_0, {"b": line_totals("1")}, {"b"}))
    assert conflicts.full_shards == {ITEMS_0}
    missing = st.commit(shard_batch(ShardRef("item", D2, 0), {"a": line_totals("1")}, {"a"}))
    assert missing.full_shards == {ShardRef("item", D2, 0)}  # expected in a shard that does not exist


def test_a_shard_update_of_more_keys_than_an_expression_holds_is_refused(sales_store: Any) -> None:
    figures = {f"k{n}": line_totals("1") for n in range(MAX_KEYS_PER_UPDATE + 1)}
    with pytest.raises(ValueError, match="at most"):
        sales_store.commit(shard_batch(ITEMS_0, figures))


WIDEST = KeyTotals(
    Decimal("-1234567890123456789012345678901234.567"),
    Decimal("-" + "9" * 35 + ".999"),
    Decimal("-" + "9" * 38),
    -(10**37),
    -(10**37),
)


def longest_keys(start: int, stop: int) -> dict[str, KeyTotals]:
    """Keys of 255 UTF-8 bytes, the longest that take one unit, with the widest numbers."""
    return {f"{n:05d}".ljust(UNIT_BYTES - 1, "x"): WIDEST for n in range(start, stop)}


def test_a_full_shard_of_the_longest_one_unit_keys_and_widest_numbers_stays_under_400_kb() -> None:
    keys = longest_keys(0, SHARD_UNITS)
    assert all(units(k) == 1 for k in keys)
    item = shard_item("item", D1, 0, keys, 10**9, "2026-12-01T00:00:00.000Z")
    assert item_size(item) < 0.8 * 400 * 1024  # DynamoDB's sizing rules (bench/ddbcost.py)


def test_a_shard_fills_to_its_units_and_refuses_one_more_key(sales_store: Any) -> None:
    st = sales_store
    for start in range(0, SHARD_UNITS, MAX_KEYS_PER_UPDATE):
        keys = longest_keys(start, min(start + MAX_KEYS_PER_UPDATE, SHARD_UNITS))
        assert st.commit(shard_batch(ITEMS_0, keys)).written, start
    (full,) = st.breakdown_shards("item", D1, D1)
    assert full.units == SHARD_UNITS and len(full.keys) == SHARD_UNITS
    assert st.commit(shard_batch(ITEMS_0, {"one more": line_totals("1")})).full_shards == {ITEMS_0}
    assert st.commit(
        shard_batch(
            ITEMS_0, {"00000".ljust(UNIT_BYTES - 1, "x"): line_totals("1")}, {"00000".ljust(UNIT_BYTES - 1, "x")}
        )
    ).written  # a key it holds: no room needed


def test_a_long_key_takes_a_unit_per_started_256_bytes(sales_store: Any) -> None:
    st = sales_store
    long_key = "é" * 300  # 600 UTF-8 bytes: three units
    assert units(long_key) == 3
    assert st.commit(shard_batch(ITEMS_0, {long_key: line_totals("2.5"), "short": line_totals("1")})).written
    (shard,) = st.breakdown_shards("item", D1, D1)
    assert shard.units == 4 and shard.keys == {long_key, "short"}
    assert shard.figures[long_key] == line_totals("2.5")


def test_replace_breakdown_rewrites_a_day_only_on_the_revisions_it_read(sales_store: Any) -> None:
    st = sales_store
    st.commit(shard_batch(ITEMS_0, {"a": line_totals("1"), "b": line_totals("2")}))
    st.commit(shard_batch(ShardRef("item", D1, 1), {"a": line_totals("3")}))
    read = list(st.breakdown_shards("item", D1, D1))
    st.commit(shard_batch(ITEMS_0, {"a": line_totals("1")}, {"a"}))  # written after the read
    assert not st.replace_breakdown("item", D1, {"c": line_totals("9")}, read)
    again = list(st.breakdown_shards("item", D1, D1))
    assert key_totals(again)["a"] == line_totals("5", quantity="3", lines=3, sales=3)
    assert st.replace_breakdown("item", D1, {"c": line_totals("9")}, again)
    after = list(st.breakdown_shards("item", D1, D1))
    assert key_totals(after) == {"c": line_totals("9")}
    assert [(s.shard, s.keys) for s in after] == [(0, frozenset({"c"})), (1, frozenset())]  # emptied, kept
    assert st.commit(shard_batch(ShardRef("item", D1, 1), {"d": line_totals("1")})).written  # an empty shard has room
    assert st.replace_breakdown("location", D2, {"x": line_totals("1")}, [])
    assert not st.replace_breakdown("location", D2, {"x": line_totals("1")}, [])  # it exists now


def test_reading_more_sales_than_one_batch_get_holds_answers_each_stored_one_once(sales_store: Any) -> None:
    # DynamoDB's BatchGetItem takes 100 keys: the store splits the read and drops duplicates.
    for first in (0, 60):
        writes = [write(sale(str(n), "1.00"), "v1") for n in range(first, first + 60)]
        assert sales_store.commit(batch(*writes)).written
    wanted = [str(n) for n in range(130)] + ["5", "5", "119"]
    stored = sales_store.read_sales(wanted)
    assert sorted(stored, key=int) == [str(n) for n in range(120)]
    assert all(s.sale_id == key and s.version == "v1" for key, s in stored.items())


def test_day_aggregates_come_in_day_order_with_one_revision_per_transaction_that_changed_them(
    sales_store: Any,
) -> None:
    sales_store.commit(batch(write(sale("1", "10.00", D2), "v1")))
    sales_store.commit(batch(write(sale("2", "5.00", D1), "v1"), write(sale("3", "1.00", D2), "v1")))
    aggregates = list(sales_store.day_aggregates())
    assert [(a.day, a.rev) for a in aggregates] == [(D1, 1), (D2, 2)]
    assert aggregates[1].totals.revenue == Decimal("11.00") and aggregates[1].totals.order_count == 2
    assert sales_store.day_totals(D2, D2) == {D2: aggregates[1].totals}
    assert sales_store.day_totals(date(2025, 3, 3), date(2025, 3, 9)) == {}
