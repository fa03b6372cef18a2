"""Hostile tests: defects found by attacking the ingest as real files and real delivery do.

Tests under "FOUND, THEN FIXED" failed on the code they were written against (each is named after the
behaviour a user expects); "ATTACKS ON THOSE FIXES" tried to break the fixes and are kept as guards,
as are "PASSING ATTACKS", which passed when written.
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


def ref_for(
    storage: MemoryStorage,
    data: bytes,
    key: str = "uploads/x.csv",
    *,
    when: datetime = T0,
    n: int = 0,
    versioned: bool = True,
) -> ObjectRef:
    version = storage.put_object(BUCKET, key, data)
    return ObjectRef(
        bucket=BUCKET,
        key=key,
        version_id=version if versioned else "",
        etag=storage.etag(BUCKET, key, version),
        size=len(data),
        event_time=when,
        sequencer=f"{n:016X}",
        request_id=f"req-{n}",
    )


def ingest(data: bytes, storage: MemoryStorage | None = None, **options: Any) -> tuple[MemoryStorage, ImportRecord]:
    storage = storage or MemoryStorage()
    record = Ingestor(storage, "rejects/", **options).run(ref_for(storage, data))
    return storage, record


def revenue(storage: MemoryStorage) -> Decimal:
    return sum((d.totals.revenue for d in storage.days.values()), Decimal(0))


# == FOUND, THEN FIXED (each failed on the code it was written against) ===========================


def test_a_semicolon_file_written_with_decimal_points_is_read_with_decimal_points() -> None:
    # Excel in a locale whose list separator is ';' but whose decimal mark is '.' (de-CH, for one)
    # writes this. '12.50' proves the file uses decimal points, so line 2's three-decimal total -
    # the export's normal tax precision - is 34.880, not 34880.
    data = b"Sale Date;Sale ID;Item name;Item Total;Tax\n3/1/2025;1;Lesson;34.880;0\n3/1/2025;2;Lesson;12.50;0\n"
    storage, record = ingest(data)
    assert record.status == ImportStatus.SUCCEEDED, record.message
    assert storage.sales["1"].total == Decimal("34.880") and revenue(storage) == Decimal("47.380")


def test_a_comma_file_with_quoted_decimal_commas_is_read_with_decimal_commas() -> None:
    # The mirror image: a comma-delimited export from a decimal-comma locale quotes its amounts.
    # '12,50' proves the decimal comma, so '34,880' is 34.880.
    data = (HEADER + '3/1/2025,1,Lesson,"34,880",0\n3/1/2025,2,Lesson,"12,50",0\n').encode()
    storage, record = ingest(data)
    assert record.status == ImportStatus.SUCCEEDED, record.message
    assert storage.sales["1"].total == Decimal("34.880") and revenue(storage) == Decimal("47.380")


class _OverwrittenBetweenPasses(MemoryStorage):
    """An unversioned bucket: the key is overwritten after pass number `after` opened it."""

    replacement: bytes = b""
    opened: int = 0
    after: int = 1

    def open_object(self, bucket: str, key: str, version_id: str, *, etag: str = "") -> BinaryIO:
        stream = super().open_object(bucket, key, version_id, etag=etag)
        self.opened += 1
        if self.opened == self.after:
            self.put_object(bucket, key, self.replacement)
        return stream


OLD = (HEADER + "3/1/2025,7,a,10,0\n3/1/2025,7,b,5,0\n3/1/2025,8,c,1,0\n").encode()
NEW = (HEADER + "3/1/2025,7,a,10,0\n3/1/2025,8,c,1,0\n3/1/2025,7,b,5,0\n").encode()  # sale 7 re-sorted


def test_an_object_overwritten_between_the_passes_fails_clearly_and_the_newer_upload_is_exact() -> None:
    # docs/ingest.md: "Without bucket versioning the ETag stands in". The first pass read the old
    # bytes (no scattered sale); the main pass would read the new upload (sale 7 in two runs) and
    # split it, the second run replacing the first. Both passes read only the event's ETag now.
    storage = _OverwrittenBetweenPasses()
    storage.replacement = NEW
    ref = ref_for(storage, OLD, versioned=False)
    record = Ingestor(storage, "rejects/").run(ref)  # returns: a retry could never read those bytes again
    assert record.status == ImportStatus.FAILED and record.attempts == 1
    assert "the file changed while it was being read" in record.message, record.message
    assert "newer upload" in record.message and not storage.sales and not storage.days
    # The overwrite's own event: the file as it is now, exactly.
    newer = ObjectRef(
        bucket=BUCKET,
        key=ref.key,
        version_id="",
        etag=storage.etag(BUCKET, ref.key),
        size=len(NEW),
        event_time=T0 + timedelta(seconds=1),
        sequencer="0000000000000001",
        request_id="req-1",
    )
    record = Ingestor(storage, "rejects/").run(newer)
    assert record.status == ImportStatus.SUCCEEDED, record.message
    assert storage.sales["7"].total == Decimal(15) and revenue(storage) == Decimal(16)


def test_a_file_with_classic_mac_line_endings_is_read_exactly() -> None:
    # Excel for Mac's "CSV (Macintosh)" ends lines in a bare CR: it used to be reported as empty.
    data = (HEADER + "3/1/2025,1,a,10,1\n3/1/2025,2,b,20,2\n3/1/2025,3,c,xx,0\n").replace("\n", "\r").encode()
    storage, record = ingest(data)
    assert record.status == ImportStatus.PARTIAL, record.message
    assert [storage.sales[s].total for s in "12"] == [10, 20] and revenue(storage) == Decimal(30)
    assert storage.sale_lines["2"].first_line == 3
    rejects = storage.rejects[(BUCKET, f"rejects/{record.import_id}.csv")].decode()
    assert rejects.splitlines()[1].startswith("4,3,")  # the line number an editor shows


# == ATTACKS ON THOSE FIXES (passed once fixed; kept as guards) ====================================


def test_an_object_overwritten_before_its_first_pass_fails_as_changed() -> None:
    # The event arrives after the key was overwritten again: its ETag is already gone.
    storage = MemoryStorage()
    ref = ref_for(storage, OLD, versioned=False)
    storage.put_object(BUCKET, ref.key, NEW)
    record = Ingestor(storage, "rejects/").run(ref)
    assert record.status == ImportStatus.FAILED and "changed while it was being read" in record.message
    assert not storage.sales


def test_an_overwrite_with_the_same_bytes_between_the_passes_changes_nothing() -> None:
    # Same bytes, same ETag: S3's If-Match still holds and the import is exact.
    storage = _OverwrittenBetweenPasses()
    storage.replacement = OLD
    record = Ingestor(storage, "rejects/").run(ref_for(storage, OLD, versioned=False))
    assert record.status == ImportStatus.SUCCEEDED and revenue(storage) == Decimal(16)


def test_a_versioned_object_overwritten_during_the_import_is_read_as_its_version() -> None:
    # With a version id the bytes cannot change: the overwrite is another import, not a failure.
    storage = _OverwrittenBetweenPasses()
    storage.replacement = NEW
    record = Ingestor(storage, "rejects/").run(ref_for(storage, OLD))
    assert record.status == ImportStatus.SUCCEEDED and storage.sales["7"].total == Decimal(15)


def test_mixed_line_ends_and_line_breaks_inside_quoted_cells_are_read_exactly() -> None:
    # LF, CRLF and bare CR line ends in one file (lines pasted from three editors), and quoted
    # cells holding a CRLF, an LF and a bare CR: every row read, every in-cell break kept as written.
    rows = [
        '3/1/2025,1,"two\r\nlines",10,1\r\n',
        "3/1/2025,1,b,5,0\r",
        '3/1/2025,2,"lf\ninside",20,2\n',
        '3/1/2025,3,"cr\rinside",30,3\r',
        "3/1/2025,4,d,xx,0\r\n",
        "3/1/2025,5,e,1.5,0\n",
    ]
    storage, record = ingest((HEADER.replace("\n", "\r") + "".join(rows)).encode())
    assert record.status == ImportStatus.PARTIAL and record.rows_rejected == 1, record.message
    assert {k: v.total for k, v in storage.sales.items()} == {"1": 15, "2": 20, "3": 30, "5": Decimal("1.5")}
    names = [ln.item_name for s in ("1", "2", "3") for ln in storage.sale_lines[s].lines]
    assert names == ["two\r\nlines", "b", "lf\ninside", "cr\rinside"]
    rejects = storage.rejects[(BUCKET, f"rejects/{record.import_id}.csv")].decode()
    # Physical lines: header 1, sale 1 on 2-4, sale 2 on 5-6, sale 3 on 7-8: sale 4 is line 9.
    assert rejects.split("\r\n")[1].startswith("9,4,"), rejects


def test_crlf_and_bare_cr_cut_by_the_reader_s_block_boundary_keep_line_numbers() -> None:
    from salesmetrics.parsing import BLOCK_BYTES

    for end in (b"\r\n", b"\r"):
        body = bytearray(HEADER.replace("\n", "").encode() + end)
        i = 100
        while len(body) < BLOCK_BYTES - 100:
            body += f"3/1/2025,{i},a,1,0".encode() + end
            i += 1
        n = body.count(end)  # lines so far: the header and sales 100 .. i-1
        # Sale B's line end starts at the first block's last byte: a CRLF cut in two, or a bare CR
        # the reader cannot yet tell from one.
        prefix, suffix = b"3/1/2025,B,", b",2,0"
        body += prefix + b"b" * (BLOCK_BYTES - 1 - len(body) - len(prefix) - len(suffix)) + suffix + end
        assert body[BLOCK_BYTES - 1 : BLOCK_BYTES] == b"\r"
        body += b"3/1/2025,C,c,xx,0" + end + b"3/1/2025,D,d,4,0" + end
        storage, record = ingest(bytes(body))
        assert record.status == ImportStatus.PARTIAL, (end, record.message)
        rejects = storage.rejects[(BUCKET, f"rejects/{record.import_id}.csv")].decode()
        assert rejects.splitlines()[1].startswith(f"{n + 2},C,"), (end, rejects[:200])
        assert (storage.sales["B"].total, storage.sales["D"].total) == (Decimal(2), Decimal(4))
        assert record.rows_total == n - 1 + 3 and revenue(storage) == (n - 1) + 2 + 4


def test_cr_cr_lf_line_ends_and_a_utf16_classic_mac_file_are_read_exactly() -> None:
    # Some exporters end lines in CR CR LF (an editor shows a blank line between rows), and Excel
    # for Mac's "UTF-16 Unicode text" ends them in a bare CR.
    rows = HEADER + "3/1/2025,1,a,10,1\n3/1/2025,1,b,5,0\n3/1/2025,2,c,xx,0\n3/1/2025,3,d,7.25,0\n"
    storage, record = ingest(rows.replace("\n", "\r\r\n").encode())
    assert record.status == ImportStatus.PARTIAL and record.rows_rejected == 1, record.message
    assert {k: v.total for k, v in storage.sales.items()} == {"1": Decimal(15), "3": Decimal("7.25")}
    rejects = storage.rejects[(BUCKET, f"rejects/{record.import_id}.csv")].decode()
    assert rejects.splitlines()[1].startswith("7,2,")  # lines 1, 3, 5, 7: a blank line after each
    storage, record = ingest(b"\xff\xfe" + rows.replace(",", "\t").replace("\n", "\r").encode("utf-16-le"))
    assert record.status == ImportStatus.PARTIAL and record.rows_rejected == 1, record.message
    assert {k: v.total for k, v in storage.sales.items()} == {"1": Decimal(15), "3": Decimal("7.25")}


def test_rows_with_trailing_empty_cells_still_show_the_decimal_mark() -> None:
    # Excel writes trailing separators on data rows when a column beyond the header was touched:
    # the rows are read (docs/ingest.md), so their numbers are evidence too.
    data = b"Sale Date;Sale ID;Item name;Item Total;Tax\n3/1/2025;1;Lesson;34.880;0;;\n3/1/2025;2;Lesson;12.50;0;;\n"
    storage, record = ingest(data)
    assert record.status == ImportStatus.SUCCEEDED, record.message
    assert revenue(storage) == Decimal("47.380")


def test_a_file_whose_only_decimals_are_three_decimal_taxes_is_never_read_a_thousand_fold_too_large() -> None:
    head = "Sale Date;Sale ID;Item name;Item Total;Tax\n"
    # Totals in whole units, taxes to three decimals: nothing proves the mark. In a semicolon file
    # '3,266' is read with the semicolon's usual decimal comma, 3.266 ...
    storage, record = ingest((head + "3/1/2025;1;a;35;3,266\n3/1/2025;2;b;12;1,120\n").encode())
    assert record.status == ImportStatus.SUCCEEDED, record.message
    assert [storage.sales[s].tax for s in "12"] == [Decimal("3.266"), Decimal("1.120")]
    # ... but '3.266' would be 3266 that way, so it is refused, saying both readings ...
    alone = head + "3/1/2025;1;a;35;3.266\n3/1/2025;2;b;12;1.120\n"
    storage, record = ingest(alone.encode())
    assert record.status == ImportStatus.FAILED and not storage.sales
    reason = storage.rejects[(BUCKET, f"rejects/{record.import_id}.csv")].decode().splitlines()[1]
    assert (
        reason.startswith("2,1,")
        and "Tax '3.266' reads two ways, 3.266 with a decimal point or 3266 with "
        "a decimal comma, and no other number in this file shows which decimal mark it uses"
        in reason
    ), reason
    # ... until one tax below 1 ('0.436': no thousands separator follows a 0) settles it.
    storage, record = ingest((alone + "3/1/2025;3;c;5;0.436\n").encode())
    assert record.status == ImportStatus.SUCCEEDED, record.message
    assert [storage.sales[s].tax for s in "123"] == [Decimal("3.266"), Decimal("1.120"), Decimal("0.436")]
    # The same in a comma file, the other way round: '3.266' is read, a quoted '1,234' refused.
    storage, record = ingest((HEADER + '3/1/2025,1,a,35,3.266\n3/1/2025,2,b,"1,234",0\n').encode())
    assert record.status == ImportStatus.PARTIAL and storage.sales["1"].tax == Decimal("3.266")
    assert "2" not in storage.sales


def test_thousands_separators_of_either_convention_are_read_in_a_file_that_uses_it() -> None:
    comma = HEADER + '3/1/2025,1,a,"1,234.50",0\n3/1/2025,2,b,"-1,234",0\n3/1/2025,3,c,"$12,345,678.9",0\n'
    storage, record = ingest(comma.encode())
    assert record.status == ImportStatus.SUCCEEDED, record.message
    assert [storage.sales[s].total for s in "123"] == [Decimal("1234.50"), -1234, Decimal("12345678.9")]
    semi = (
        "Sale Date;Sale ID;Item name;Item Total;Tax\n3/1/2025;1;a;1.234,50;0\n3/1/2025;2;b;-1.234;0\n"
        "3/1/2025;3;c;S$-12.345.678,9;0\n3/1/2025;4;d;-34,880;0\n"
    )
    storage, record = ingest(semi.encode())
    assert record.status == ImportStatus.SUCCEEDED, record.message
    assert [storage.sales[s].total for s in "1234"] == [
        Decimal("1234.50"),
        -1234,
        Decimal("-12345678.9"),
        Decimal("-34.880"),
    ]


def test_a_file_that_writes_numbers_both_ways_refuses_what_it_cannot_settle_and_names_both_lines() -> None:
    # Comma-delimited (so read with decimal points), proving points on line 2 and commas on line 4.
    data = (
        HEADER + '3/1/2025,1,a,12.50,0\n3/1/2025,2,b,-34.880,0\n3/1/2025,3,c,"1.234,50",0\n'
        '3/1/2025,4,d,"12,5",0\n3/1/2025,5,e,7,0\n'
    ).encode()
    storage, record = ingest(data)
    assert record.status == ImportStatus.PARTIAL and record.rows_rejected == 3, record.message
    assert {k: v.total for k, v in storage.sales.items()} == {"1": Decimal("12.50"), "5": 7}
    reasons = dict(
        line.split(",", 1)
        for line in storage.rejects[(BUCKET, f"rejects/{record.import_id}.csv")].decode().splitlines()[1:]
    )
    both = (
        "writes numbers both ways, with a decimal point (line 2: '12.50') and with a decimal comma (line 4: '1.234,50')"
    )
    assert "'-34.880' reads two ways" in reasons["3"] and both in reasons["3"]
    assert "'12,5' looks like a decimal comma" in reasons["5"] and both in reasons["5"]
    assert "'1.234,50' is not a number" in reasons["4"]


def test_the_decimal_mark_is_settled_by_the_whole_file_not_its_first_256_kib() -> None:
    # 400 KiB of three-decimal amounts that read both ways, then the one line that settles them.
    lines = [f"3/1/2025;{i};Lesson {i};{1 + i % 900}.{i % 1000:03d};0\n" for i in range(14_000)]
    body = "Sale Date;Sale ID;Item name;Item Total;Tax\n" + "".join(lines) + "3/1/2025;Z;y;2.5;0\n"
    assert len(body) > 400_000
    storage, record = ingest(body.encode())
    assert record.status == ImportStatus.SUCCEEDED, record.message
    want = sum((Decimal(f"{1 + i % 900}.{i % 1000:03d}") for i in range(14_000)), Decimal("2.5"))
    assert revenue(storage) == want
    # And the other way round: a decimal comma only at the end makes the file contradict itself.
    tail = (
        HEADER
        + "3/1/2025,1,x,10.50,0\n3/1/2025,2,x,3.266,0\n"
        + "".join(f"3/1/2025,{i},x,1.25,0\n" for i in range(3, 20_000))
        + '3/1/2025,Z,y,"0,436",0\n'
    )
    storage, record = ingest(tail.encode())
    assert record.status == ImportStatus.PARTIAL and record.rows_rejected == 2 and "2" not in storage.sales
    assert revenue(storage) == Decimal("10.50") + Decimal("1.25") * 19_997


def test_a_refund_in_parentheses_is_refused_not_read_as_a_sale() -> None:
    storage, record = ingest((HEADER + "3/1/2025,1,a,(12.50),0\n3/1/2025,2,b,-12.50,0\n").encode())
    assert record.status == ImportStatus.PARTIAL and "1" not in storage.sales
    assert storage.sales["2"].total == Decimal("-12.50")


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
    data = (
        "\ufeffSale Date,Sale ID,Item name,Item Total,Tax,,\r\n3/1/2025,1,a,10,1,,\r\n\r\n"
        '3/1/2025,1,b,"1,000.50",1,,\r\n\ufeffSale Date,Sale ID,Item name,Item Total,Tax,,\r\n'
        "3/1/2025,2,c,5,0,,\r\n"
    ).encode()
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
            expected.status,
            expected.sales_created,
            expected.rows_ingested,
        ), k


def test_passing_concurrent_overlapping_resorted_imports_in_any_order_are_exact() -> None:
    sales = sample_sales(seed=5, lines=900, start=date(2025, 3, 1), per_day=30)
    a = export_bytes(sales[:420])
    b = resorted(
        export_bytes(
            [
                corrected(s, Decimal(3), move_days=1 if i % 5 == 0 else 0) if i % 3 == 0 else s
                for i, s in enumerate(sales[120:])
            ]
        ),
        seed=1,
    )
    c = resorted(
        export_bytes([corrected(s, Decimal("0.005")) if i % 4 == 0 else s for i, s in enumerate(sales[60:540])]),
        column="Sale Date",
    )
    for trial in range(3):
        storage = MemoryStorage()
        refs = [
            ref_for(storage, d, f"uploads/{i}.csv", when=T0 + timedelta(minutes=i), n=i)
            for i, d in enumerate((a, b, c))
        ]
        order = [refs[(trial + j) % 3] for j in range(3)]
        threads = [
            threading.Thread(target=Ingestor(storage, "rejects/", sales_per_flush=60).run, args=(r,)) for r in order
        ]
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
