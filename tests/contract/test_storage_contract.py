"""One contract, two implementations: the in-memory fake and `DynamoStorage` on moto answer alike.

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

from salesmetrics.errors import InvalidCursor
from salesmetrics.imports import ImportRecord, ImportStatus
from salesmetrics.sales import DayTotals, Sale, SaleLine, StoredSale
from salesmetrics.storage.base import ObjectChanged, ObjectGone, SaleWrite, WriteBatch
from salesmetrics.storage.dynamodb import DynamoStorage
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
        storage = DynamoStorage(create_resources(boto3.client("dynamodb"), s3), sleep=lambda _: None)

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
    return ImportRecord(import_id=f"imp_{n:04d}", bucket=BUCKET, key=f"uploads/{n}.csv",
                        status=ImportStatus.SUCCEEDED, started_at=f"2026-11-01T10:00:{n:02d}.000Z", rows_total=n)


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
    if isinstance(backend.storage, DynamoStorage):
        boto3.client("s3").create_bucket(Bucket="contract-objects")
        boto3.client("s3").put_bucket_versioning(Bucket="contract-objects",
                                                 VersioningConfiguration={"Status": "Enabled"})
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
    if isinstance(backend.storage, DynamoStorage):
        boto3.client("s3").create_bucket(Bucket="contract-objects")
        boto3.client("s3").put_bucket_versioning(Bucket="contract-objects",
                                                 VersioningConfiguration={"Status": "Enabled"})
    first = backend.put_object("contract-objects", "uploads/b.csv", b"one")
    backend.put_object("contract-objects", "uploads/b.csv", b"two")
    one, two = (hashlib.md5(b, usedforsecurity=False).hexdigest() for b in (b"one", b"two"))
    with backend.storage.open_object("contract-objects", "uploads/b.csv", first, etag=one) as stream:
        assert stream.read() == b"one"
    with pytest.raises(ObjectChanged):
        backend.storage.open_object("contract-objects", "uploads/b.csv", first, etag=two)
