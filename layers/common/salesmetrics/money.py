"""Exact money: parsing the export's number formats and rounding at the API edge.

Two conventions, chosen per file (see `formats.Dialect`): a decimal point with `,` thousands
(comma- and tab-delimited files: `1,234.50`) and a decimal comma with `.` or space thousands
(semicolon-delimited files: `1.234,50`, `1 234,50`).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal(0)
MAX_MONEY_DECIMALS = 3

# Optional minus (before or after the currency sign), optional S$/$ sign, digits with optional
# thousands separators, optional fraction. Exponents, NaN and Infinity are refused on purpose.
# A first group of `0` is never a thousands group (no formatter writes `0,436` for 436): such a
# cell is a decimal comma in a file that uses decimal points, and is refused.
_SIGNS = r"\s*(?P<sign1>-)?\s*(?:S\$|\$)?\s*(?P<sign2>-)?\s*"
_NUMBER = re.compile(_SIGNS + r"(?P<int>[1-9]\d{0,2}(?:,\d{3})+|\d+)?(?P<frac>\.\d+)?\s*\Z")
# The decimal-comma convention: `.` or a space (plain, no-break, narrow no-break) between
# thousands, one kind per number.
THOUSANDS_SPACES = " \u00a0\u202f"
_NUMBER_DECIMAL_COMMA = re.compile(
    _SIGNS + r"(?P<int>[1-9]\d{0,2}(?:\.\d{3})+|[1-9]\d{0,2}(?:[ \u00a0\u202f]\d{3})+|\d+)?"
    r"(?P<frac>,\d+)?\s*\Z"
)
_THOUSANDS_DECIMAL_COMMA = str.maketrans("", "", "." + THOUSANDS_SPACES)
# Cells that fail only because they use the other convention's decimal mark: said so in the reason.
_LOOKS_DECIMAL_COMMA = re.compile(r"\s*-?\s*(?:S\$|\$)?\s*-?\s*\d+,\d+\s*\Z")
_LOOKS_DECIMAL_POINT = re.compile(r"\s*-?\s*(?:S\$|\$)?\s*-?\s*\d+\.\d+\s*\Z")
_EMPTY = frozenset({"", "---"})
# Memo of parsed cells (the parser reads it directly on its hot path); cleared, never rebound.
# One per convention: `1,234` is 1234 in one and 1.234 in the other.
AMOUNT_CACHE: dict[str, Decimal | None] = {}
DECIMAL_COMMA_CACHE: dict[str, Decimal | None] = {}
_cache = AMOUNT_CACHE
_CACHE_LIMIT = 50_000


class AmountError(ValueError):
    """A cell that should hold a number does not."""


def parse_amount(raw: str, max_decimals: int = MAX_MONEY_DECIMALS, *, decimal_comma: bool = False) -> Decimal | None:
    """Parse an export number: `1,234.50`, `-S$5`, `$0.436`; `---` and empty mean no value.

    With `decimal_comma` (semicolon-delimited files): `1.234,50`, `1 234,50`, `-S$4,36`.
    Exports repeat the same few prices thousands of times, so results are memoised: this is
    the hot path of ingest.
    """
    cache = DECIMAL_COMMA_CACHE if decimal_comma else _cache
    key = raw if max_decimals == MAX_MONEY_DECIMALS else f"{max_decimals}\x00{raw}"
    try:
        cached = cache[key]
    except KeyError:
        pass
    else:
        return cached
    value = _parse(raw, max_decimals, decimal_comma)
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def _parse(raw: str, max_decimals: int, decimal_comma: bool = False) -> Decimal | None:
    if raw.strip() in _EMPTY:
        return None
    match = (_NUMBER_DECIMAL_COMMA if decimal_comma else _NUMBER).match(raw)
    if match is None or (match["int"] is None and match["frac"] is None):
        if not decimal_comma and _LOOKS_DECIMAL_COMMA.match(raw):
            raise AmountError(f"'{_clip(raw)}' looks like a decimal comma: numbers in a comma- or tab-delimited "
                              f"file take a decimal point ('{_clip(raw.strip().replace(',', '.'))}')")
        if decimal_comma and _LOOKS_DECIMAL_POINT.match(raw):
            raise AmountError(f"'{_clip(raw)}' looks like a decimal point: numbers in a semicolon-delimited "
                              f"file take a decimal comma ('{_clip(raw.strip().replace('.', ','))}')")
        raise AmountError(f"'{_clip(raw)}' is not a number")
    if match["sign1"] and match["sign2"]:
        raise AmountError(f"'{_clip(raw)}' has two minus signs")
    frac = match["frac"] or ""
    if len(frac) - 1 > max_decimals:
        raise AmountError(f"'{_clip(raw)}' has more than {max_decimals} decimals")
    if decimal_comma:
        digits = (match["int"] or "0").translate(_THOUSANDS_DECIMAL_COMMA) + ("." + frac[1:] if frac else "")
    else:
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
