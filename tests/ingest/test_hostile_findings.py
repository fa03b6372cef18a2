"""Hostile tests: defects found by attacking the ingest as real files and real delivery do.

Tests under "DEFECTS" fail on the code they were written against (each is named after the behaviour
a user expects); tests under "PASSING ATTACKS" passed and are kept as regression guards.
All run on the in-memory storage fake (tests/fakes), whose semantics the contract suite ties to
DynamoDB; figures are hand-computed.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, BinaryIO

from salesmetrics.events import ObjectRef
from salesmetrics.imports import ImportRecord, ImportStatus
from salesmetrics.ingest import Ingestor
from tests.fakes.storage import MemoryStorage
from tests.ingest.support import check_exact, corrected, export_bytes, resorted, sample_sales

BUCKET = "hostile"
T0 = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
HEADER = "Sale Date,Sale ID,Item name,Item Total,Tax\n"


def ref_for(storage: MemoryStorage, data: bytes, key: str = "uploads/x.csv", *, when: datetime = T0,
            n: int = 0, versioned: bool = True) -> ObjectRef:
    version = storage.put_object(BUCKET, key, data)
    return ObjectRef(bucket=BUCKET, key=key, version_id=version if versioned else "", etag=f"etag-{version}",
                     size=len(data), event_time=when, sequencer=f"{n:016X}", request_id=f"req-{n}")


def ingest(data: bytes, storage: MemoryStorage | None = None, **options: Any) -> tuple[MemoryStorage, ImportRecord]:
    storage = storage or MemoryStorage()
    record = Ingestor(storage, "rejects/", **options).run(ref_for(storage, data))
    return storage, record


def revenue(storage: MemoryStorage) -> Decimal:
    return sum((d.totals.revenue for d in storage.days.values()), Decimal(0))


# == DEFECTS (fail on the current code) ============================================================


def test_a_semicolon_file_written_with_decimal_points_never_stores_34_880_as_34880() -> None:
    # Excel in a locale whose list separator is ';' but whose decimal mark is '.' (de-CH, for one)
    # writes this. Line 3 proves the file uses decimal points ('12.50' is rejected as "looks like
    # a decimal point"), yet line 2's three-decimal total - the export's normal tax precision -
    # is silently stored 1000 times too large.
    data = (b"Sale Date;Sale ID;Item name;Item Total;Tax\n"
            b"3/1/2025;1;Lesson;34.880;0\n"
            b"3/1/2025;2;Lesson;12.50;0\n")
    storage, _record = ingest(data)
    assert revenue(storage) <= Decimal("34.880"), f"stored {revenue(storage)} for a file worth 47.38"
    assert storage.sales.get("1") is None or storage.sales["1"].total == Decimal("34.880")


def test_a_comma_file_with_quoted_decimal_commas_never_stores_34_880_as_34880() -> None:
    # The mirror image: a comma-delimited export from a decimal-comma locale quotes its amounts.
    # '12,50' is rejected as "looks like a decimal comma", but '34,880' becomes 34880.
    data = (HEADER + '3/1/2025,1,Lesson,"34,880",0\n'
                     '3/1/2025,2,Lesson,"12,50",0\n').encode()
    storage, _record = ingest(data)
    assert revenue(storage) <= Decimal("34.880"), f"stored {revenue(storage)} for a file worth 47.38"


class _OverwrittenBetweenPasses(MemoryStorage):
    """An unversioned bucket: the key is overwritten after the first pass opened it."""

    replacement: bytes = b""
    opened: int = 0

    def open_object(self, bucket: str, key: str, version_id: str) -> BinaryIO:
        stream = super().open_object(bucket, key, version_id)
        self.opened += 1
        if self.opened == 1:
            self.put_object(bucket, key, self.replacement)
        return stream


def test_an_object_overwritten_during_an_import_in_an_unversioned_bucket_loses_no_sale() -> None:
    # docs/ingest.md: "Without bucket versioning the ETag stands in". The first pass reads the old
    # bytes (no scattered sale), the main pass reads the new upload (sale 7 re-sorted into two
    # runs) and, with no IfMatch on the ETag, splits it: the second run replaces the first.
    old = (HEADER + "3/1/2025,7,a,10,0\n3/1/2025,7,b,5,0\n3/1/2025,8,c,1,0\n").encode()
    new = (HEADER + "3/1/2025,7,a,10,0\n3/1/2025,8,c,1,0\n3/1/2025,7,b,5,0\n").encode()
    storage = _OverwrittenBetweenPasses()
    storage.replacement = new
    ref = ref_for(storage, old, versioned=False)
    try:
        record = Ingestor(storage, "rejects/").run(ref)
    except Exception:  # a retry that reads a consistent object is an acceptable answer too
        return
    if record.status != ImportStatus.FAILED:
        # Both files say: sale 7 is 15, sale 8 is 1.
        assert storage.sales["7"].total == Decimal(15), f"sale 7 stored as {storage.sales['7'].total}"
        assert revenue(storage) == Decimal(16)


def test_a_file_with_classic_mac_line_endings_is_not_reported_as_empty() -> None:
    # Excel for Mac's "CSV (Macintosh)" ends lines in a bare CR. Whether or not CR-only files are
    # read, a 60-byte file with a header and two sales is not "empty": the message misleads.
    data = (HEADER + "3/1/2025,1,a,10,1\n3/1/2025,2,b,20,2\n").replace("\n", "\r").encode()
    _, record = ingest(data)
    assert record.status == ImportStatus.SUCCEEDED or "empty" not in record.message, record.message


# == PASSING ATTACKS (kept as guards) ==============================================================


def test_passing_a_scattered_sale_with_a_bad_line_in_one_run_is_rejected_whole() -> None:
    data = (HEADER + "3/1/2025,1,a,10,1\n3/1/2025,2,b,20,2\n3/1/2025,1,c,xx,1\n3/1/2025,3,d,5,0\n").encode()
    storage, record = ingest(data)
    assert record.status == ImportStatus.PARTIAL and record.rows_rejected == 2
    assert "1" not in storage.sales and revenue(storage) == Decimal(25)


def test_passing_a_scattered_sale_of_more_than_500_lines_is_rejected_and_of_500_is_kept() -> None:
    over = [f"3/1/2025,{'A' if i < 300 or i >= 600 else f'B{i}'},x,1,0\n" for i in range(900)]
    storage, record = ingest((HEADER + "".join(over)).encode())
    assert "A" not in storage.sales and record.rows_rejected == 600 and revenue(storage) == 300
    exact = [f"3/1/2025,{'A' if i < 250 or i >= 350 else f'B{i}'},x,1,0\n" for i in range(600)]
    storage, record = ingest((HEADER + "".join(exact)).encode())
    assert storage.sales["A"].total == 500 and record.status == ImportStatus.SUCCEEDED


def test_passing_excel_bom_crlf_trailing_columns_blank_lines_and_a_repeated_header() -> None:
    data = ("\ufeffSale Date,Sale ID,Item name,Item Total,Tax,,\r\n3/1/2025,1,a,10,1,,\r\n\r\n"
            "3/1/2025,1,b,\"1,000.50\",1,,\r\n\ufeffSale Date,Sale ID,Item name,Item Total,Tax,,\r\n"
            "3/1/2025,2,c,5,0,,\r\n").encode()
    storage, record = ingest(data)
    assert record.status == ImportStatus.SUCCEEDED
    assert storage.sales["1"].total == Decimal("1010.50") and revenue(storage) == Decimal("1015.50")


def test_passing_a_gzip_of_a_semicolon_utf16_file_is_read_with_decimal_commas() -> None:
    text = "\ufeffSale Date;Sale ID;Item name;Item Total;Tax\r\n3/1/2025;1;a;1.234,50;0\r\n3/1/2025;2;b;0,436;0\r\n"
    for encoding in ("utf-16-le", "utf-16-be"):
        storage, record = ingest(gzip.compress(text.encode(encoding)))
        assert record.status == ImportStatus.SUCCEEDED, record.message
        assert revenue(storage) == Decimal("1234.936")


def test_passing_an_empty_gzip_and_a_bom_only_file_fail_as_empty() -> None:
    for data in (gzip.compress(b""), b"\xef\xbb\xbf", b"\xff\xfe"):
        storage, record = ingest(data)
        assert record.status == ImportStatus.FAILED and "empty" in record.message and not storage.sales


def test_passing_a_crash_after_any_commit_of_a_scattered_file_then_a_retry_is_exact() -> None:
    rows = []
    for s in range(300):
        rows += [f"3/{1 + s % 20}/2025,{s},x{j},{(s * 7 + j) % 40 - 5}.{s % 100:02d},0.5\n" for j in range(1 + s % 3)]
    rows = rows[::2] + rows[1::2]  # every multi-line sale scattered
    data = (HEADER + "".join(rows)).encode()
    clean, expected = ingest(data, writers=8, sales_per_flush=40)
    want = {d: v.totals for d, v in clean.days.items()}

    class Crash(Exception):
        pass

    for k in range(1, 25):
        storage = MemoryStorage()
        ref = ref_for(storage, data)
        commits = [0]

        def crash_at_k(_: Any, commits: list[int] = commits, k: int = k) -> None:
            commits[0] += 1
            if commits[0] == k:
                raise Crash

        storage.after_commit = crash_at_k
        ingestor = Ingestor(storage, "rejects/", writers=8, sales_per_flush=40)
        with contextlib.suppress(Crash):
            ingestor.run(ref)
        storage.after_commit = None
        record = ingestor.run(ref)
        assert {d: v.totals for d, v in storage.days.items()} == want, k
        assert (record.status, record.sales_created, record.rows_ingested) == (
            expected.status, expected.sales_created, expected.rows_ingested), k


def test_passing_concurrent_overlapping_resorted_imports_in_any_order_are_exact() -> None:
    sales = sample_sales(seed=5, lines=900, start=date(2025, 3, 1), per_day=30)
    a = export_bytes(sales[:420])
    b = resorted(export_bytes([corrected(s, Decimal(3), move_days=1 if i % 5 == 0 else 0) if i % 3 == 0 else s
                               for i, s in enumerate(sales[120:])]), seed=1)
    c = resorted(export_bytes([corrected(s, Decimal("0.005")) if i % 4 == 0 else s
                               for i, s in enumerate(sales[60:540])]), column="Sale Date")
    for trial in range(3):
        storage = MemoryStorage()
        refs = [ref_for(storage, d, f"uploads/{i}.csv", when=T0 + timedelta(minutes=i), n=i)
                for i, d in enumerate((a, b, c))]
        order = [refs[(trial + j) % 3] for j in range(3)]
        threads = [threading.Thread(target=Ingestor(storage, "rejects/", sales_per_flush=60).run, args=(r,))
                   for r in order]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        check_exact(storage, [a, b, c])


def test_passing_one_sale_at_the_start_and_the_end_of_a_large_file_is_one_sale() -> None:
    body = io.StringIO()
    body.write(HEADER + "3/1/2025,S,x,1.5,0\n")
    for i in range(50_000):
        body.write(f"3/{1 + i % 28}/2025,{i},x,2,0\n")
    body.write("3/1/2025,S,y,2.5,0\n")
    storage, record = ingest(body.getvalue().encode())
    assert record.status == ImportStatus.SUCCEEDED and storage.sales["S"].total == Decimal(4)
    assert revenue(storage) == Decimal(100_004)
