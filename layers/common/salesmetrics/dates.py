"""Sale dates as exports write them: US order M/D/YYYY (zero-padded or not) or ISO YYYY-MM-DD."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

_US = re.compile(r"\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*\Z")
_ISO = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})\s*\Z")
# Memo of parsed cells (the parser reads it directly on its hot path); cleared, never rebound.
DATE_CACHE: dict[str, date] = {}
_cache = DATE_CACHE


class DateError(ValueError):
    """A cell that should hold a date does not."""


def parse_sale_date(raw: str) -> date:
    try:
        return _cache[raw]
    except KeyError:
        pass
    if (m := _US.match(raw)) is not None:
        month, day, year = int(m[1]), int(m[2]), int(m[3])
    elif (m := _ISO.match(raw)) is not None:
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    else:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise DateError(f"'{shown}' is not a date (expected M/D/YYYY or YYYY-MM-DD)")
    try:
        value = date(year, month, day)
    except ValueError as exc:
        raise DateError(f"'{raw.strip()}' is not a calendar date") from exc
    if len(_cache) > 20_000:
        _cache.clear()
    _cache[raw] = value
    return value


def utc_now() -> str:
    """Now as stored timestamps are written: ISO 8601 UTC to the millisecond, with a Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
