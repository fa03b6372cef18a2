"""Helpers for ingest tests: real-shaped S3 events, sample exports, a Lambda context (the moto
resources are tests/moto_resources.py's, re-exported here)."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from devtools.lambdacontext import LambdaContext
from devtools.s3events import build_put_event
from devtools.samplegen import GenSale, generate_sales, write_export
from salesmetrics.events import objects_in
from salesmetrics.imports import ImportRecord
from salesmetrics.ingest import Ingestor
from tests.moto_resources import BUCKET

REJECTS_PREFIX = "rejects/"
T0 = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)


def no_sleep(_: float) -> None:
    """A storage's back-off sleep, skipped (moto answers at once)."""
    return None


def run_ingestor(storage: Any, event: dict[str, Any], per_flush: int) -> ImportRecord:
    """The import use case on the one object of an S3 event, flushing every `per_flush` sales."""
    (ref,) = objects_in(event)
    return Ingestor(storage, REJECTS_PREFIX, sales_per_flush=per_flush).run(ref)


def context(name: str = "IngestFunction", timeout: int = 900) -> LambdaContext:
    return LambdaContext(function_name=name, memory_limit_in_mb=1024, timeout_seconds=timeout)


def put(s3: Any, key: str, data: bytes, when: datetime | None = None) -> dict[str, Any]:
    """PUT an object and return the S3 ObjectCreated:Put notification real S3 would send for it."""
    response = s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    return build_put_event(
        bucket=BUCKET,
        key=key,
        size=len(data),
        etag=response["ETag"].strip('"'),
        version_id=response.get("VersionId"),
        when=when or datetime.now(UTC),
    )


def export_bytes(sales: list[GenSale], **options: Any) -> bytes:
    out = io.BytesIO()
    write_export(sales, out, **options)
    return out.getvalue()


def sample_sales(seed: int, lines: int, start: date = date(2025, 3, 1), per_day: int = 12) -> list[GenSale]:
    return list(generate_sales(seed=seed, lines=lines, start=start, sales_per_day=per_day))


def corrected(sale: GenSale, bump: Decimal = Decimal("1.5"), move_days: int = 0, relabel: int = 0) -> GenSale:
    """A corrected version of a sale: its first line's total (and paid) raised, optionally re-dated;
    with `relabel`, that line also gets another item name (1), payment method (2) or location and
    quantity (3), so that the correction moves figures between breakdown keys."""
    first = sale.lines[0]
    total = Decimal(first.item_total) + bump
    first = replace(first, item_total=format(total, "f"), total_paid=format(total, "f"))
    if relabel == 1:
        first = replace(first, item_name=first.item_name.strip() + " (corrected) ")
    elif relabel == 2:
        first = replace(first, payment_method="" if first.payment_method else "Misc. (HitPay)")
    elif relabel == 3:
        first = replace(
            first,
            location="Online Store" if first.location != "Online Store" else "",
            quantity=str(int(Decimal(first.quantity or "1")) + 1),
        )
    lines = [first, *sale.lines[1:]]
    new_date = sale.sale_date + timedelta(days=move_days)
    if move_days:
        text = f"{new_date.month}/{new_date.day}/{new_date.year}"
        lines = [replace(ln, sale_date=text) for ln in lines]
    return replace(sale, lines=tuple(lines), sale_date=new_date)


@dataclass
class Figures:
    revenue: Decimal
    net: Decimal
    tax: Decimal
    discounts: Decimal
    orders: int
    order_value: Decimal
    refunds: int
    refund_total: Decimal
    sales: int


def check_exact(storage: Any, files_in_upload_order: list[bytes]) -> None:
    """The two exactly-once invariants: every day aggregate equals the sum of its stored sales,
    and the stored figures equal an independent reckoning of the files in upload order."""
    from salesmetrics.reconcile import reconcile
    from tests.reckoning import reckon

    report = reconcile(storage)
    assert report.clean, report.to_dict()
    truth = reckon(files_in_upload_order)
    start, end = truth.first_day(), truth.last_day()
    stored = storage.day_totals(start - timedelta(days=60), end + timedelta(days=60))
    want = truth.range(start, end)
    total = sum((t.revenue for t in stored.values()), Decimal(0))
    assert total == want.total_revenue
    assert sum((t.net for t in stored.values()), Decimal(0)) == want.net_revenue
    assert sum((t.tax for t in stored.values()), Decimal(0)) == want.tax
    assert sum((t.discounts for t in stored.values()), Decimal(0)) == want.discounts
    assert sum(t.order_count for t in stored.values()) == want.order_count
    assert sum((t.order_value for t in stored.values()), Decimal(0)) == want.order_value
    assert sum(t.refund_count for t in stored.values()) == want.refund_count
    assert sum((t.refunds for t in stored.values()), Decimal(0)) == want.refunds
    assert sum(t.sales_count for t in stored.values()) == want.sales_count
    for day in truth.daily(start, end):
        got = stored.get(day.day)
        assert (got.revenue if got else Decimal(0)) == day.revenue, day
        assert (got.order_count if got else 0) == day.order_count, day
    check_breakdowns(storage, truth, start, end)


def check_breakdowns(storage: Any, truth: Any, start: date, end: date) -> None:
    """Every breakdown (item, location, payment method), over the whole range and per day, equals
    the reckoning's from the lines of the latest version of each sale."""
    from salesmetrics.breakdowns import DIMENSIONS, day_key_totals, key_totals

    for dimension in DIMENSIONS:
        shards = list(storage.breakdown_shards(dimension, start - timedelta(days=60), end + timedelta(days=60)))
        assert _figures(key_totals(shards)) == _reckoned(truth.breakdown(dimension, start, end)), dimension
        per_day = day_key_totals(shards)
        day = start
        while day <= end:
            want = _reckoned(truth.breakdown(dimension, day, day))
            assert _figures(per_day.get(day, {})) == want, (dimension, day)
            day += timedelta(days=1)


def _figures(stored: Any) -> dict[str, tuple[Decimal, Decimal, Decimal, int, int]]:
    return {k: (t.revenue, t.net, t.quantity, t.lines, t.sales) for k, t in stored.items()}


def _reckoned(figures: Any) -> dict[str, tuple[Decimal, Decimal, Decimal, int, int]]:
    return {k: (f.revenue, f.net_revenue, f.quantity, f.line_count, f.sale_count) for k, f in figures.items()}


def resorted(data: bytes, seed: int | None = None, column: str = "Item name") -> bytes:
    """The export as a spreadsheet would save it after sorting its rows by `column` (or, with a
    seed, shuffling them): every sale's lines scattered, the header kept on top."""
    import csv
    import random

    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], [r for r in rows[1:] if any(c.strip() for c in r)]
    if seed is None:
        index = header.index(column)
        body.sort(key=lambda r: r[index].strip().casefold())
    else:
        random.Random(seed).shuffle(body)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(body)
    return out.getvalue().encode("utf-8")


def _rewrite(data: bytes, delimiter: str, cell: Any = None) -> str:
    import csv

    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    header = rows[0]
    writer.writerow(header)
    for row in rows[1:]:
        writer.writerow([cell(header[i], c) if cell else c for i, c in enumerate(row)])
    return out.getvalue()


def as_gzip(data: bytes) -> bytes:
    """The export gzip-compressed, as some schedulers deliver it."""
    import gzip

    return gzip.compress(data, mtime=0)


def as_unicode_text(data: bytes) -> bytes:
    """The export as Excel saves "Unicode text": UTF-16 LE with a byte order mark, tab-delimited."""
    return b"\xff\xfe" + _rewrite(data, "\t").encode("utf-16-le")


_MONEY_HEADERS = {
    "Item price (excluding tax)",
    "Subtotal (excluding tax)",
    "Discount amount",
    "Tax",
    "Item Total",
    "Total Paid w/ Payment Method",
    "Quantity",
    "Discount %",
}


def as_european(data: bytes) -> bytes:
    """The export as a European spreadsheet saves it: semicolons, decimal commas, `.` for thousands."""
    import re

    def cell(name: str, value: str) -> str:
        if name.strip() not in _MONEY_HEADERS or not re.fullmatch(r"-?[S$]*-?[\d,]*\.?\d*", value.strip()):
            return value
        text = value.strip().replace(",", "")
        whole, _, frac = text.partition(".")
        sign = "-" if whole.startswith("-") else ""
        digits = whole.lstrip("-")
        prefix = re.match(r"[S$]*", digits)
        symbol = prefix.group(0) if prefix else ""
        digits = digits[len(symbol) :]
        groups: list[str] = []
        while len(digits) > 3:
            groups.insert(0, digits[-3:])
            digits = digits[:-3]
        grouped = ".".join([digits, *groups]) if digits else ".".join(groups)
        return f"{sign}{symbol}{grouped}" + (f",{frac}" if frac else "")

    return _rewrite(data, ";", cell).encode("utf-8")


def as_cr_only(data: bytes) -> bytes:
    """The export as Excel for Mac's "CSV (Macintosh)" saves it: every line ends in a bare CR. A
    line break inside a quoted cell stays what it was (Excel writes an in-cell break as LF)."""
    return data.replace(b"\r\n", b"\r")


def as_semicolon_with_points(data: bytes) -> bytes:
    """The export as Excel saves it where the list separator is `;` but the decimal mark a point
    (de-CH, for one): semicolons between cells, the numbers untouched."""
    return _rewrite(data, ";").encode("utf-8")


def as_comma_with_decimal_commas(data: bytes) -> bytes:
    """The export from a decimal-comma locale that still separates cells with commas: the numbers
    written as `as_european` writes them (`1.362,50`), quoted because they hold a comma."""
    import csv

    european = as_european(data).decode("utf-8")
    rows = list(csv.reader(io.StringIO(european, newline=""), delimiter=";"))
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")
