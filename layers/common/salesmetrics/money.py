"""Exact money: parsing the export's number formats and rounding at the API edge."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal(0)
MAX_MONEY_DECIMALS = 3

# Optional minus (before or after the currency sign), optional S$/$ sign, digits with optional
# thousands separators, optional fraction. Exponents, NaN and Infinity are refused on purpose.
_NUMBER = re.compile(
    r"\s*(?P<sign1>-)?\s*(?:S\$|\$)?\s*(?P<sign2>-)?\s*"
    r"(?P<int>\d{1,3}(?:,\d{3})+|\d+)?(?P<frac>\.\d+)?\s*\Z"
)
_EMPTY = frozenset({"", "---"})
# Memo of parsed cells (the parser reads it directly on its hot path); cleared, never rebound.
AMOUNT_CACHE: dict[str, Decimal | None] = {}
_cache = AMOUNT_CACHE
_CACHE_LIMIT = 50_000


class AmountError(ValueError):
    """A cell that should hold a number does not."""


def parse_amount(raw: str, max_decimals: int = MAX_MONEY_DECIMALS) -> Decimal | None:
    """Parse an export number: `1,234.50`, `-S$5`, `$0.436`; `---` and empty mean no value.

    Exports repeat the same few prices thousands of times, so results are memoised: this is
    the hot path of ingest.
    """
    key = raw if max_decimals == MAX_MONEY_DECIMALS else f"{max_decimals}\x00{raw}"
    try:
        cached = _cache[key]
    except KeyError:
        pass
    else:
        return cached
    value = _parse(raw, max_decimals)
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()
    _cache[key] = value
    return value


def _parse(raw: str, max_decimals: int) -> Decimal | None:
    if raw.strip() in _EMPTY:
        return None
    match = _NUMBER.match(raw)
    if match is None or (match["int"] is None and match["frac"] is None):
        raise AmountError(f"'{_clip(raw)}' is not a number")
    if match["sign1"] and match["sign2"]:
        raise AmountError(f"'{_clip(raw)}' has two minus signs")
    frac = match["frac"] or ""
    if len(frac) - 1 > max_decimals:
        raise AmountError(f"'{_clip(raw)}' has more than {max_decimals} decimals")
    digits = (match["int"] or "0").replace(",", "") + frac
    try:
        value = Decimal(digits)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid digits
        raise AmountError(f"'{_clip(raw)}' is not a number") from exc
    return -value if (match["sign1"] or match["sign2"]) and value else value


def round_cents(value: Decimal) -> Decimal:
    """Round half-up to cents, as the API reports money."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _clip(raw: str, limit: int = 40) -> str:
    return raw if len(raw) <= limit else raw[:limit] + "…"
