"""What an import did to each sale it wrote: the per-import change list (docs/architecture.md, "Undo").

The ingest writes one JSON-lines part per flush to the uploads bucket, under
`changes/<import_id>/<part>.jsonl`, after the flush's transactions committed. Parts are numbered
by flush, so a retried attempt (which re-plans the same flushes of the same file) overwrites the
same part with the same lines: what a sale's stored version says regenerates what the attempt
that died wrote. A part lists every sale of the flush the import holds or recorded its version
on, `unchanged` ones too: those are what a retraction walks (GET /imports/{id}/changes shows only
`created` and `updated`).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from json.encoder import encode_basestring as _escape  # a str as a JSON string literal, non-ASCII kept
from typing import Any, NamedTuple

from .errors import InvalidCursor
from .sales import SaleChange
from .storage.base import ObjectGone
from .storage.object_store import ObjectStore

CHANGES_PREFIX = "changes/"  # in the uploads bucket, outside the uploads prefix (no event)
MAX_PARTS = 100_000  # bounds every walk: 6,000 sales a part, 600 million sales an import
# A page reads at most this many parts (~42,000 lines, as 20 parts of 2,000 did); a short page
# still has a next_token.
PARTS_PER_PAGE = 7
VISIBLE = frozenset({SaleChange.CREATED, SaleChange.UPDATED})


class ChangeEntry(NamedTuple):
    """What an import did to one sale (a NamedTuple: one is made per sale of every import)."""

    sale_id: str
    change: SaleChange
    sale_date: date
    total: Decimal
    previous_sale_date: date | None = None
    previous_total: Decimal | None = None


def part_key(import_id: str, part: int) -> str:
    return f"{CHANGES_PREFIX}{import_id}/{part:06d}.jsonl"


def encode_part(entries: Iterable[ChangeEntry]) -> bytes:
    """One JSON object a line, as `_entry` reads it back.

    Written by hand, not by `json.dumps` per entry (this runs once per sale of every import, and
    the encoder's set-up per call cost more than the line): strings go through the json module's
    own escaping, non-ASCII kept; dates, `str(Decimal)` and the change's value need none.
    """
    e = _escape
    lines = [
        f'{{"sale_id":{e(x.sale_id)},"change":"{x.change.value}","sale_date":"{x.sale_date.isoformat()}",'
        f'"total":"{x.total!s}","previous_sale_date":'
        f"{'null' if (pd := x.previous_sale_date) is None else f'"{pd.isoformat()}"'},"
        f'"previous_total":{"null" if (pt := x.previous_total) is None else f'"{pt!s}"'}}}'
        for x in entries
    ]
    return ("\n".join(lines) + "\n").encode() if lines else b""


def _entry(data: dict[str, Any]) -> ChangeEntry:
    previous_date = data.get("previous_sale_date")
    previous_total = data.get("previous_total")
    return ChangeEntry(
        sale_id=str(data["sale_id"]),
        change=SaleChange(data["change"]),
        sale_date=date.fromisoformat(data["sale_date"]),
        total=Decimal(data["total"]),
        previous_sale_date=date.fromisoformat(previous_date) if previous_date else None,
        previous_total=None if previous_total is None else Decimal(previous_total),
    )


def decode_part(data: bytes) -> list[ChangeEntry]:
    # Split on "\n" alone: JSON leaves U+2028, U+2029 and U+0085 unescaped inside a string (a
    # Sale ID may hold them), and str.splitlines would cut a line there.
    return [_entry(json.loads(line)) for line in data.decode().split("\n") if line.strip()]


def read_part(storage: ObjectStore, bucket: str, import_id: str, part: int) -> list[ChangeEntry] | None:
    """One part, or None past the last one."""
    try:
        stream = storage.open_object(bucket, part_key(import_id, part), "")
    except ObjectGone:
        return None
    try:
        return decode_part(stream.read())
    finally:
        stream.close()


def iter_parts(
    storage: ObjectStore, bucket: str, import_id: str, start: int = 0
) -> Iterator[tuple[int, list[ChangeEntry]]]:
    for part in range(start, MAX_PARTS):
        entries = read_part(storage, bucket, import_id, part)
        if entries is None:
            return
        yield part, entries


def encode_cursor(part: int, line: int) -> str:
    raw = json.dumps({"p": part, "l": line}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[int, int]:
    """A `next_token` of /changes; anything else raises InvalidCursor (HTTP 400)."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor("next_token is not a valid pagination token") from exc
    if (
        not isinstance(data, dict)
        or set(data) != {"p", "l"}
        or not all(type(data[k]) is int and 0 <= data[k] < 10**9 for k in ("p", "l"))
        or data["p"] >= MAX_PARTS
    ):
        raise InvalidCursor("next_token is not a valid pagination token")
    return data["p"], data["l"]


def changes_page(
    storage: ObjectStore, bucket: str, import_id: str, limit: int, cursor: str | None
) -> tuple[list[ChangeEntry], str | None]:
    """The created and updated sales of an import, in the order it wrote them, `limit` at a time."""
    part, line = decode_cursor(cursor) if cursor else (0, 0)
    page: list[ChangeEntry] = []
    for read, (number, entries) in enumerate(iter_parts(storage, bucket, import_id, part)):
        if read >= PARTS_PER_PAGE:
            return page, encode_cursor(number, 0)
        start = line if number == part else 0
        for index in range(start, len(entries)):
            if entries[index].change not in VISIBLE:
                continue
            if len(page) == limit:
                return page, encode_cursor(number, index)
            page.append(entries[index])
    return page, None
