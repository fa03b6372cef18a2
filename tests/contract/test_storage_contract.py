"""One contract, two implementations: the in-memory fake and `AwsStorage` on moto answer alike.

Every property the ingest's exactness rests on is checked here against both, so a test that
passes on the fake says something about DynamoDB too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws

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
from salesmetrics.errors import InvalidCursor
from salesmetrics.imports import ImportRecord, ImportStatus
from salesmetrics.sales import DayTotals, Sale, SaleLine, StoredSale
from salesmetrics.storage.aws import AwsStorage
from salesmetrics.storage.base import ObjectChanged, ObjectGone, SaleWrite, WriteBatch
from salesmetrics.storage.items import shard_item
from tests.fakes.storage import MemoryStorage
from tests.ingest.support import BUCKET
from tests.moto_resources import create_resources

D1, D2 = date(2025, 3, 1), date(2025, 3, 2)


@dataclass
class Backend:
    storage: Any
    put_object: Any
    delete_version: Any
    # PUT into a bucket without versioning; returns the ETag as S3 events carry it (unquoted).
    put_unversioned: Any


@pytest.fixture(params=["memory", "dynamodb"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "memory":
        fake = MemoryStorage()

        def put_fake(bucket: str, key: str, data: bytes) -> str:
            fake.put_object(bucket, key, data)
            return fake.etag(bucket, key)

        yield Backend(fake, fake.put_object, fake.delete_version, put_fake)
        return
    with mock_aws():
        s3 = boto3.client("s3")
        storage = AwsStorage(create_resources(boto3.client("dynamodb"), s3), sleep=lambda _: None)

        def put_object(bucket: str, key: str, data: bytes) -> str:
            return str(s3.put_object(Bucket=bucket, Key=key, Body=data)["VersionId"])

        def delete_version(bucket: str, key: str, version_id: str) -> None:
            s3.delete_object(Bucket=bucket, Key=key, VersionId=version_id)

        created: set[str] = set()

        def put_unversioned(bucket: str, key: str, data: bytes) -> str:
            if bucket not in created:
                s3.create_bucket(Bucket=bucket)  # versioning never enabled
                created.add(bucket)
            return str(s3.put_object(Bucket=bucket, Key=key, Body=data)["ETag"]).strip('"')

        yield Backend(storage, put_object, delete_version, put_unversioned)


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


def test_a_committed_batch_stores_its_sales_and_adds_its_day_deltas(backend: Backend) -> None:
    st = backend.storage
    assert st.commit(batch(write(sale("1", "10.50"), "v1"), write(sale("2", "-3.25", D2), "v1"))) == {}
    stored = st.read_sales(["1", "2", "3"])
    assert set(stored) == {"1", "2"}
    assert (stored["1"].version, stored["1"].total, stored["1"].sale_date) == ("v1", Decimal("10.50"), D1)
    days = st.day_totals(D1, D2)
    assert days[D1].revenue == Decimal("10.50") and days[D1].order_count == 1
    assert days[D2].refunds == Decimal("-3.25") and days[D2].refund_count == 1
    assert sorted(s.sale_id for s in st.iter_sales()) == ["1", "2"]


def test_a_failed_condition_cancels_the_whole_batch_and_names_the_stored_sale(backend: Backend) -> None:
    st = backend.storage
    st.commit(batch(write(sale("1", "10.00"), "v1")))
    before = st.day_totals(D1, D2)
    conflicts = st.commit(batch(write(sale("2", "5.00"), "v2"), write(sale("1", "12.00"), "v2")))
    assert set(conflicts) == {"1"}
    assert conflicts["1"] is not None and conflicts["1"].version == "v1" and conflicts["1"].total == Decimal("10.00")
    assert st.read_sales(["2"]) == {}  # all or nothing
    assert st.day_totals(D1, D2) == before


def test_every_failed_condition_is_reported_including_a_sale_that_does_not_exist(backend: Backend) -> None:
    st = backend.storage
    st.commit(batch(write(sale("1", "10.00"), "v1")))
    ghost = StoredSale("9", D1, "v0", "h", Decimal(1), Decimal(0), Decimal(0), "imp_x", "imp_x")
    conflicts = st.commit(batch(write(sale("1", "11.00"), "v2"), write(sale("9", "1.00"), "v2", ghost)))
    assert set(conflicts) == {"1", "9"} and conflicts["9"] is None


def test_an_update_conditioned_on_the_stored_version_moves_the_sale_between_days(backend: Backend) -> None:
    st = backend.storage
    st.commit(batch(write(sale("1", "10.00"), "v1")))
    (stored,) = st.read_sales(["1"]).values()
    assert st.commit(batch(write(sale("1", "4.00", D2), "v2", stored))) == {}
    days = st.day_totals(D1, D2)
    assert days.get(D1, DayTotals()).revenue == 0 and days.get(D1, DayTotals()).sales_count == 0
    assert days[D2].revenue == Decimal("4.00") and days[D2].sales_count == 1


def test_a_transaction_over_100_items_is_refused(backend: Backend) -> None:
    writes = [write(sale(str(i), "1.00", date(2025, 1, 1 + i % 28)), "v1") for i in range(80)]
    with pytest.raises(ValueError, match="at most 100"):
        backend.storage.commit(batch(*writes))
    assert backend.storage.read_sales(["1"]) == {}


def test_replace_day_lands_only_on_the_revision_it_read(backend: Backend) -> None:
    st = backend.storage
    st.commit(batch(write(sale("1", "10.00"), "v1")))
    (agg,) = list(st.day_aggregates())
    assert not st.replace_day(D1, DayTotals(), agg.rev + 5)
    assert not st.replace_day(D2, DayTotals(), 3)  # expected a day that does not exist
    assert st.replace_day(D1, DayTotals(), agg.rev)
    assert st.day_totals(D1, D1)[D1].revenue == 0
    assert st.replace_day(D2, DayTotals.of(Decimal(2), Decimal(0), Decimal(0)), None)
    assert not st.replace_day(D2, DayTotals(), None)


def record(n: int) -> ImportRecord:
    return ImportRecord(
        import_id=f"imp_{n:04d}",
        bucket=BUCKET,
        key=f"uploads/{n}.csv",
        status=ImportStatus.SUCCEEDED,
        started_at=f"2026-11-01T10:00:{n:02d}.000Z",
        rows_total=n,
    )


def test_imports_are_listed_newest_first_across_pages(backend: Backend) -> None:
    st = backend.storage
    for n in range(7):
        st.put_import(record(n))
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page, cursor = st.list_imports(3, cursor)
        seen += [r.import_id for r in page]
        if cursor is None:
            break
    assert seen == [f"imp_{n:04d}" for n in reversed(range(7))]
    got = st.get_import("imp_0003")
    assert got is not None and got.rows_total == 3 and got.status == ImportStatus.SUCCEEDED
    assert st.get_import("imp_nope") is None


@pytest.mark.parametrize("token", ["%%%", "bm90LWpzb24", "e30"])
def test_a_pagination_token_that_is_not_ours_is_an_invalid_cursor(backend: Backend, token: str) -> None:
    with pytest.raises(InvalidCursor, match="next_token") as raised:
        backend.storage.list_imports(3, token)
    assert isinstance(raised.value, ValueError)  # what callers caught before InvalidCursor existed


def test_an_object_version_reads_as_uploaded_and_a_deleted_one_is_gone(backend: Backend) -> None:
    if isinstance(backend.storage, AwsStorage):
        boto3.client("s3").create_bucket(Bucket="contract-objects")
        boto3.client("s3").put_bucket_versioning(
            Bucket="contract-objects", VersioningConfiguration={"Status": "Enabled"}
        )
    first = backend.put_object("contract-objects", "uploads/a.csv", b"one")
    second = backend.put_object("contract-objects", "uploads/a.csv", b"two")
    with backend.storage.open_object("contract-objects", "uploads/a.csv", first) as stream:
        assert stream.read() == b"one"
    backend.delete_version("contract-objects", "uploads/a.csv", first)
    with pytest.raises(ObjectGone):
        backend.storage.open_object("contract-objects", "uploads/a.csv", first)
    with backend.storage.open_object("contract-objects", "uploads/a.csv", second) as stream:
        assert stream.read() == b"two"
    with pytest.raises(ObjectGone):
        backend.storage.open_object("contract-objects", "uploads/never.csv", "")


def test_an_object_read_by_its_etag_is_changed_once_overwritten_in_an_unversioned_bucket(backend: Backend) -> None:
    # S3 GetObject with If-Match: 412 PreconditionFailed once the key holds other bytes.
    bucket, key = "contract-unversioned", "uploads/a.csv"
    first = backend.put_unversioned(bucket, key, b"one")
    assert first == hashlib.md5(b"one", usedforsecurity=False).hexdigest()  # a single-part upload's ETag
    for etag in (first, f'"{first}"'):  # as S3 events carry it, and as GetObject answers it
        with backend.storage.open_object(bucket, key, "", etag=etag) as stream:
            assert stream.read() == b"one"
    assert backend.put_unversioned(bucket, key, b"one") == first  # the same bytes again: the same ETag
    second = backend.put_unversioned(bucket, key, b"two")
    with pytest.raises(ObjectChanged, match="no longer has ETag") as raised:
        backend.storage.open_object(bucket, key, "", etag=first)
    assert isinstance(raised.value, ObjectGone)  # final, as a deleted object is: never retried
    with backend.storage.open_object(bucket, key, "", etag=second) as stream:
        assert stream.read() == b"two"
    with backend.storage.open_object(bucket, key, "") as stream:  # no ETag: whatever the key holds
        assert stream.read() == b"two"
    with pytest.raises(ObjectGone) as gone:
        backend.storage.open_object(bucket, "uploads/never.csv", "", etag=first)
    assert not isinstance(gone.value, ObjectChanged)


def test_a_version_read_with_another_version_s_etag_is_changed(backend: Backend) -> None:
    if isinstance(backend.storage, AwsStorage):
        boto3.client("s3").create_bucket(Bucket="contract-objects")
        boto3.client("s3").put_bucket_versioning(
            Bucket="contract-objects", VersioningConfiguration={"Status": "Enabled"}
        )
    first = backend.put_object("contract-objects", "uploads/b.csv", b"one")
    backend.put_object("contract-objects", "uploads/b.csv", b"two")
    one, two = (hashlib.md5(b, usedforsecurity=False).hexdigest() for b in (b"one", b"two"))
    with backend.storage.open_object("contract-objects", "uploads/b.csv", first, etag=one) as stream:
        assert stream.read() == b"one"
    with pytest.raises(ObjectChanged):
        backend.storage.open_object("contract-objects", "uploads/b.csv", first, etag=two)


# -- breakdown shards -----------------------------------------------------------------------------


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


def test_breakdown_figures_are_added_per_key_and_read_back_per_shard(backend: Backend) -> None:
    st = backend.storage
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


def test_a_shard_without_room_cancels_the_whole_batch_and_is_named(backend: Backend) -> None:
    st = backend.storage
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


def test_a_key_expected_in_a_shard_that_lacks_it_is_refused(backend: Backend) -> None:
    st = backend.storage
    assert st.commit(shard_batch(ITEMS_0, {"a": line_totals("1")})).written
    conflicts = st.commit(shard_batch(ITEMS_0, {"b": line_totals("1")}, {"b"}))
    assert conflicts.full_shards == {ITEMS_0}
    missing = st.commit(shard_batch(ShardRef("item", D2, 0), {"a": line_totals("1")}, {"a"}))
    assert missing.full_shards == {ShardRef("item", D2, 0)}  # expected in a shard that does not exist


def test_a_shard_update_of_more_keys_than_an_expression_holds_is_refused(backend: Backend) -> None:
    figures = {f"k{n}": line_totals("1") for n in range(MAX_KEYS_PER_UPDATE + 1)}
    with pytest.raises(ValueError, match="at most"):
        backend.storage.commit(shard_batch(ITEMS_0, figures))


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


def test_a_shard_fills_to_its_units_and_refuses_one_more_key(backend: Backend) -> None:
    st = backend.storage
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


def test_a_long_key_takes_a_unit_per_started_256_bytes(backend: Backend) -> None:
    st = backend.storage
    long_key = "é" * 300  # 600 UTF-8 bytes: three units
    assert units(long_key) == 3
    assert st.commit(shard_batch(ITEMS_0, {long_key: line_totals("2.5"), "short": line_totals("1")})).written
    (shard,) = st.breakdown_shards("item", D1, D1)
    assert shard.units == 4 and shard.keys == {long_key, "short"}
    assert shard.figures[long_key] == line_totals("2.5")


def test_replace_breakdown_rewrites_a_day_only_on_the_revisions_it_read(backend: Backend) -> None:
    st = backend.storage
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
