"""Exact money: parsing the export's number formats and rounding at the API edge.

Two conventions, chosen per file from what its numbers show (see `formats.DecimalEvidence`): a
decimal point with `,` thousands (`1,234.50`) and a decimal comma with `.` or space thousands
(`1.234,50`, `1 234,50`). A number with one separator followed by exactly three digits (`34.880`,
`1,234`) reads both ways, a thousand times apart: it is read by the file's convention when the
file proved it; otherwise `TwoWay` says which of these numbers are refused, and why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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
# What one number cell shows about its file's decimal mark (`decimal_evidence`).
POINT, COMMA, BOTH_WAYS, NOTHING = ".", ",", "?", ""


@dataclass(frozen=True, slots=True)
class TwoWay:
    """Which numbers that read two ways (`34.880`: 34.88 or 34880) are refused, where a file did not
    prove its decimal mark, and `why` (the end of the reason)."""

    refuse_all: bool  # False: only those the convention would read with a thousands separator
    why: str


# Memo of parsed cells (the parser reads it directly on its hot path); cleared, never rebound.
# One per convention (`1,234` is 1234 in one and 1.234 in the other) and per way of treating
# numbers that read two ways (read, refused if read as thousands, refused).
AMOUNT_CACHE: dict[str, Decimal | None] = {}
DECIMAL_COMMA_CACHE: dict[str, Decimal | None] = {}
_CACHES: dict[tuple[bool, bool | None], dict[str, Decimal | None]] = {
    (False, None): AMOUNT_CACHE,
    (True, None): DECIMAL_COMMA_CACHE,
    (False, False): {},
    (True, False): {},
    (False, True): {},
    (True, True): {},
}
_cache = AMOUNT_CACHE
_CACHE_LIMIT = 50_000
DECIMAL_MARK = {False: ".", True: ","}  # by `decimal_comma`


def amount_cache(decimal_comma: bool, two_way: TwoWay | None = None) -> dict[str, Decimal | None]:
    """The memo `parse_amount` fills for these arguments."""
    return _CACHES[decimal_comma, None if two_way is None else two_way.refuse_all]


def _readable(match: re.Match[str] | None) -> bool:
    return match is not None and (match["int"] is not None or match["frac"] is not None)


def decimal_evidence(raw: str) -> str:
    """Which decimal mark a cell proves: `POINT` or `COMMA` when it is a number under only that
    convention (`12.50`, `0.436`, `1,234.5`, `1234.567`; `4,36`, `1.234.567`, `1 234,5`), `BOTH_WAYS`
    when it is a number under both with values a thousand-fold apart (`34.880`, `-1,234`),
    `NOTHING` when it shows neither (an integer, `1 234`, an empty cell, text): a space is no
    decimal mark."""
    if "." not in raw and "," not in raw:
        return NOTHING
    point = _readable(_NUMBER.match(raw))
    comma = _readable(_NUMBER_DECIMAL_COMMA.match(raw))
    if point and comma:
        # Both accept it, and its one mark is a decimal mark in one and a thousands separator in
        # the other: the values differ.
        return BOTH_WAYS
    return POINT if point else COMMA if comma else NOTHING


class AmountError(ValueError):
    """A cell that should hold a number does not."""


def parse_amount(
    raw: str, max_decimals: int = MAX_MONEY_DECIMALS, *, decimal_comma: bool = False, two_way: TwoWay | None = None
) -> Decimal | None:
    """Parse an export number: `1,234.50`, `-S$5`, `$0.436`; `---` and empty mean no value.

    With `decimal_comma`: `1.234,50`, `1 234,50`, `-S$4,36`. A number that reads both ways
    (`1.234`) is read by the convention given, unless `two_way` refuses it (with its reason).
    Exports repeat the same few prices thousands of times, so results are memoised: this is
    the hot path of ingest.
    """
    cache = amount_cache(decimal_comma, two_way)
    key = raw if max_decimals == MAX_MONEY_DECIMALS else f"{max_decimals}\x00{raw}"
    try:
        cached = cache[key]
    except KeyError:
        pass
    else:
        return cached
    # A number that reads two ways has one mark: read as a decimal mark, or as thousands.
    if (
        two_way is not None
        and decimal_evidence(raw) == BOTH_WAYS
        and (two_way.refuse_all or (DECIMAL_MARK[decimal_comma] not in raw))
    ):
        point = _parse(raw, MAX_MONEY_DECIMALS + 9, False)
        comma = _parse(raw, MAX_MONEY_DECIMALS + 9, True)
        raise AmountError(
            f"'{_clip(raw)}' reads two ways, {point} with a decimal point or {comma} with a decimal "
            f"comma, and {two_way.why}: it is not guessed"
        )
    value = _parse(raw, max_decimals, decimal_comma, two_way.why if two_way is not None else None)
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def _parse(raw: str, max_decimals: int, decimal_comma: bool = False, context: str | None = None) -> Decimal | None:
    if raw.strip() in _EMPTY:
        return None
    match = (_NUMBER_DECIMAL_COMMA if decimal_comma else _NUMBER).match(raw)
    if match is None or (match["int"] is None and match["frac"] is None):
        why = f"; {context}" if context else ""
        if not decimal_comma and _LOOKS_DECIMAL_COMMA.match(raw):
            raise AmountError(
                f"'{_clip(raw)}' looks like a decimal comma, but numbers in this file take a decimal "
                f"point ('{_clip(raw.strip().replace(',', '.'))}'){why}"
            )
        if decimal_comma and _LOOKS_DECIMAL_POINT.match(raw):
            raise AmountError(
                f"'{_clip(raw)}' looks like a decimal point, but numbers in this file take a decimal "
                f"comma ('{_clip(raw.strip().replace('.', ','))}'){why}"
            )
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
