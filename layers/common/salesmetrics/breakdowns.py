"""Revenue by item, location and payment method: per-day aggregates written with the sales.

What a line adds to its key (docs/api.md, "Breakdowns"): its Item Total, its Tax, its Quantity,
one line, and - once per sale, however many of the sale's lines share the key - one sale. The
figures are additive, so a sale replaced by a newer version subtracts exactly what its stored
version added and adds what the new one says, in the same transaction as the sale itself
(`ingest.SaleWriter`), as the day aggregates do.

Storage (docs/architecture.md, "Breakdown shards"): per dimension and day, one *shard* item holds
many keys, each as five top-level numbers (DynamoDB can `ADD` to those atomically, not to a map
entry that may not exist yet), named after a 96-bit digest of the key, and the key itself in the
shard's string set `keys`. A shard takes at most `SHARD_UNITS` units (a key of up to 255 UTF-8
bytes is one unit, each further 256 bytes another), which keeps it under DynamoDB's 400 KB item
limit whatever the keys; the update that would pass the limit is refused by its condition and the
keys go to the next shard of the day. A key may have figures in several shards of a day (a
concurrent import, or a sale subtracting where its key was not known): readers sum them.

The writer remembers where it put each key (`ShardDirectory`), so a key keeps going to the shard
that holds it and shards fill only with new keys: the number of shards of a day grows with the
distinct keys of that day, never with its sales. A writer that finds a shard full or a key not
where it thought reads the day's shards once and plans again.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from .money import ZERO
from .sales import SaleLine

DIMENSIONS = ("item", "location", "payment_method")
NONE_KEY = "(none)"

SHARD_UNITS = 700  # 700 units of at most ~450 bytes each: ~315 KB, well under the 400 KB item limit
UNIT_BYTES = 256
# One shard's update lists up to five numbers per key in its UpdateExpression. DynamoDB takes
# 4 KB of expression (80 keys' 400 terms of 8 characters); moto, which the tests and the local
# stack run on, parses an expression recursively and fails above ~150 terms. 24 keys (120 terms)
# suit both; a transaction with more distinct keys of one day spreads them over more shards.
MAX_KEYS_PER_UPDATE = 24
MAX_SHARDS_PER_DAY = 10_000  # bounds the search for a shard with room; far beyond any real day


def key_of(text: str) -> str:
    """The key a line counts under: its value trimmed, `(none)` when empty."""
    return text.strip() or NONE_KEY


def units(key: str) -> int:
    """Units `key` takes in a shard: one per started 256 bytes of its UTF-8 text."""
    return 1 + len(key.encode("utf-8")) // UNIT_BYTES


def key_id(key: str) -> str:
    """The 16-character name a key's figures are stored under (a 96-bit digest: two keys of one
    shard sharing it is as likely as two different sales sharing a content hash)."""
    return base64.urlsafe_b64encode(hashlib.blake2b(key.encode("utf-8"), digest_size=12).digest()).decode()


@dataclass(frozen=True, slots=True)
class KeyTotals:
    """Additive figures of one key; net revenue is revenue - tax."""

    revenue: Decimal = ZERO
    tax: Decimal = ZERO
    quantity: Decimal = ZERO
    lines: int = 0
    sales: int = 0

    @property
    def net(self) -> Decimal:
        return self.revenue - self.tax

    def __add__(self, other: KeyTotals) -> KeyTotals:
        return KeyTotals(
            self.revenue + other.revenue,
            self.tax + other.tax,
            self.quantity + other.quantity,
            self.lines + other.lines,
            self.sales + other.sales,
        )

    def __neg__(self) -> KeyTotals:
        return KeyTotals(-self.revenue, -self.tax, -self.quantity, -self.lines, -self.sales)

    def __sub__(self, other: KeyTotals) -> KeyTotals:
        return self + (-other)

    def is_zero(self) -> bool:
        return not (self.revenue or self.tax or self.quantity or self.lines or self.sales)


ZERO_KEY = KeyTotals()
Contribution = dict[tuple[str, str], KeyTotals]  # (dimension, key) -> figures


def contribution(lines: Iterable[SaleLine]) -> Contribution:
    """What one sale adds to each (dimension, key) it has a line in."""
    sums: dict[tuple[str, str], list[Decimal]] = {}
    for ln in lines:
        tax = ln.tax if ln.tax is not None else ZERO
        quantity = ln.quantity if ln.quantity is not None else ZERO
        for dimension, text in (
            ("item", ln.item_name),
            ("location", ln.location),
            ("payment_method", ln.payment_method),
        ):
            entry = sums.get((dimension, key := key_of(text)))
            if entry is None:
                sums[dimension, key] = [ln.item_total, tax, quantity, Decimal(1)]
            else:
                entry[0] += ln.item_total
                entry[1] += tax
                entry[2] += quantity
                entry[3] += 1
    return {k: KeyTotals(v[0], v[1], v[2], int(v[3]), 1) for k, v in sums.items()}


DayDeltas = dict[tuple[str, date, str], KeyTotals]  # (dimension, day, key) -> delta


def sale_deltas(
    new_day: date, new_lines: Iterable[SaleLine] | None, old_day: date | None, old_lines: Iterable[SaleLine] | None
) -> DayDeltas:
    """What writing a sale version changes: + the new version's lines, - the stored version's
    (either may be absent); keys whose delta is zero are left out."""
    out: DayDeltas = {}
    if new_lines is not None:
        for (dimension, key), totals in contribution(new_lines).items():
            out[dimension, new_day, key] = totals
    if old_lines is not None and old_day is not None:
        for (dimension, key), totals in contribution(old_lines).items():
            slot = (dimension, old_day, key)
            left = out.get(slot, ZERO_KEY) - totals
            if left.is_zero():
                out.pop(slot, None)
            else:
                out[slot] = left
    return out


class ShardRef(NamedTuple):
    dimension: str
    day: date
    shard: int


@dataclass(slots=True)
class ShardDelta:
    """One shard's part of a transaction: figures to add per key; the keys the plan expects the
    shard to hold already (`present`, checked by the write's condition); the units of the other
    keys, which the shard must have room for (`new_units`)."""

    figures: dict[str, KeyTotals] = field(default_factory=dict)
    present: set[str] = field(default_factory=set)
    new_units: int = 0

    def is_zero(self) -> bool:
        return all(t.is_zero() for t in self.figures.values())


@dataclass(frozen=True, slots=True)
class BreakdownShard:
    """A shard as stored: its keys (every key ever added, figures zero or not), the units its
    `keys` set counts, its write counter, and its figures."""

    dimension: str
    day: date
    shard: int
    rev: int
    keys: frozenset[str]
    units: int
    figures: Mapping[str, KeyTotals]


# -- where keys live: the writer's knowledge ---------------------------------------------------------


@dataclass(slots=True)
class _Known:
    keys: set[str] = field(default_factory=set)
    units: int = 0


class ShardDirectory:
    """What one writer knows of the shards of each (dimension, day): at least these keys in each,
    at least this many units used. Learnt from its own committed writes and from reads; shared by
    the writer's lanes (threads), so guarded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._days: dict[tuple[str, date], list[_Known]] = {}

    def snapshot(self, dimension: str, day: date) -> list[tuple[frozenset[str], int]]:
        with self._lock:
            return [(frozenset(k.keys), k.units) for k in self._days.get((dimension, day), [])]

    def committed(self, deltas: Mapping[ShardRef, ShardDelta]) -> None:
        with self._lock:
            for ref, delta in deltas.items():
                shards = self._days.setdefault((ref.dimension, ref.day), [])
                while len(shards) <= ref.shard:
                    shards.append(_Known())
                known = shards[ref.shard]
                # A key whose delta summed to zero was not written, so the shard may not hold it.
                known.keys.update(k for k, t in delta.figures.items() if not t.is_zero())
                known.units += delta.new_units

    def learn(self, dimension: str, day: date, stored: Iterable[BreakdownShard]) -> None:
        """Replace what is known of a day by what storage holds."""
        shards: list[_Known] = []
        for shard in stored:
            while len(shards) <= shard.shard:
                shards.append(_Known())
            shards[shard.shard] = _Known(set(shard.keys), shard.units)
        with self._lock:
            self._days[dimension, day] = shards


class Placement(NamedTuple):
    ref: ShardRef
    key: str
    totals: KeyTotals
    present: bool  # the shard is known to hold the key: the write checks it, no room needed
    new_units: int  # room the key takes (0 when present, or already placed in this plan)


class BreakdownPlan:
    """The breakdown part of one transaction being planned: every key placed in a shard.

    `place` finds a shard for each of a sale's deltas without changing the plan, so that the
    planner can see how many shard items the sale would add (the transaction holds at most 100
    items) before it `apply`s them or leaves the sale for the next transaction.
    """

    def __init__(self, directory: ShardDirectory) -> None:
        self.directory = directory
        self.deltas: dict[ShardRef, ShardDelta] = {}
        self._views: dict[tuple[str, date], list[tuple[frozenset[str], int]]] = {}
        self._placed: dict[tuple[str, date, str], tuple[int, bool]] = {}

    def _view(self, dimension: str, day: date) -> list[tuple[frozenset[str], int]]:
        view = self._views.get((dimension, day))
        if view is None:
            view = self._views[dimension, day] = self.directory.snapshot(dimension, day)
        return view

    def _planned(self, ref: ShardRef, extra: Mapping[ShardRef, tuple[int, int]]) -> tuple[int, int]:
        """(keys, new units) this plan (and the sale being placed) puts in a shard."""
        delta = self.deltas.get(ref)
        keys, new = (len(delta.figures), delta.new_units) if delta is not None else (0, 0)
        more = extra.get(ref, (0, 0))
        return keys + more[0], new + more[1]

    def _shard_for(
        self, dimension: str, day: date, key: str, need: int, extra: Mapping[ShardRef, tuple[int, int]]
    ) -> tuple[int, bool]:
        view = self._view(dimension, day)
        for number, (keys, _) in enumerate(view):
            if key in keys and self._planned(ShardRef(dimension, day, number), extra)[0] < MAX_KEYS_PER_UPDATE:
                return number, True
        for number in range(MAX_SHARDS_PER_DAY):
            used = view[number][1] if number < len(view) else 0
            planned_keys, planned_units = self._planned(ShardRef(dimension, day, number), extra)
            if planned_keys < MAX_KEYS_PER_UPDATE and used + planned_units + need <= SHARD_UNITS:
                return number, False
        raise RuntimeError(f"no shard of {dimension} on {day} has room after {MAX_SHARDS_PER_DAY}")

    def place(self, deltas: DayDeltas) -> list[Placement]:
        extra: dict[ShardRef, tuple[int, int]] = {}
        out: list[Placement] = []
        for (dimension, day, key), totals in deltas.items():
            placed = self._placed.get((dimension, day, key))
            if placed is not None:  # the key is in this plan already: add to it there
                out.append(Placement(ShardRef(dimension, day, placed[0]), key, totals, placed[1], 0))
                continue
            need = units(key)
            number, present = self._shard_for(dimension, day, key, need, extra)
            ref = ShardRef(dimension, day, number)
            keys, new = extra.get(ref, (0, 0))
            extra[ref] = (keys + 1, new + (0 if present else need))
            out.append(Placement(ref, key, totals, present, 0 if present else need))
        return out

    def new_items(self, placements: Iterable[Placement]) -> int:
        """How many shard items `placements` would add to the transaction."""
        return len({p.ref for p in placements if p.ref not in self.deltas})

    def apply(self, placements: Iterable[Placement]) -> None:
        for p in placements:
            delta = self.deltas.get(p.ref)
            if delta is None:
                delta = self.deltas[p.ref] = ShardDelta()
            before = delta.figures.get(p.key)
            if before is None:
                delta.figures[p.key] = p.totals
                self._placed[p.ref.dimension, p.ref.day, p.key] = (p.ref.shard, p.present)
                if p.present:
                    delta.present.add(p.key)
                delta.new_units += p.new_units
            else:
                delta.figures[p.key] = before + p.totals

    def item_count(self) -> int:
        return len(self.deltas)


# -- reading: summing shards into a report ------------------------------------------------------------


def key_totals(shards: Iterable[BreakdownShard]) -> dict[str, KeyTotals]:
    """Each key's figures summed over the shards (any days); keys that sum to zero are left out."""
    sums: dict[str, list[Decimal]] = {}
    for shard in shards:
        for key, t in shard.figures.items():
            acc = sums.get(key)
            if acc is None:
                sums[key] = [t.revenue, t.tax, t.quantity, Decimal(t.lines), Decimal(t.sales)]
            else:
                acc[0] += t.revenue
                acc[1] += t.tax
                acc[2] += t.quantity
                acc[3] += t.lines
                acc[4] += t.sales
    totals = {key: KeyTotals(f[0], f[1], f[2], int(f[3]), int(f[4])) for key, f in sums.items()}
    return {key: t for key, t in totals.items() if not t.is_zero()}


def day_key_totals(shards: Iterable[BreakdownShard]) -> dict[date, dict[str, KeyTotals]]:
    """As `key_totals`, per day."""
    by_day: dict[date, list[BreakdownShard]] = {}
    for shard in shards:
        by_day.setdefault(shard.day, []).append(shard)
    return {day: key_totals(group) for day, group in by_day.items()}


def layout(figures: Mapping[str, KeyTotals]) -> list[dict[str, KeyTotals]]:
    """Keys packed into as few shards as their units allow (in key order), for a repair."""
    shards: list[dict[str, KeyTotals]] = []
    used = SHARD_UNITS
    for key in sorted(figures):
        need = units(key)
        if used + need > SHARD_UNITS:
            shards.append({})
            used = 0
        shards[-1][key] = figures[key]
        used += need
    return shards


@dataclass(frozen=True, slots=True)
class BreakdownRow:
    key: str
    totals: KeyTotals


@dataclass(frozen=True, slots=True)
class Breakdown:
    """The answer of GET /metrics/revenue/by/{dimension}, exact (rounded when presented)."""

    rows: list[BreakdownRow]
    others: KeyTotals | None
    others_keys: int
    total_revenue: Decimal


def breakdown(figures: Mapping[str, KeyTotals], limit: int, rounded: Callable[[Decimal], Decimal]) -> Breakdown:
    """Rows by revenue rounded to cents (`rounded`), descending, then key ascending; the first
    `limit` as rows, the rest summed as others (None when there are none)."""
    ordered = sorted(figures.items(), key=lambda kv: (-rounded(kv[1].revenue), kv[0]))
    rows = [BreakdownRow(key, totals) for key, totals in ordered[:limit]]
    rest = [totals for _, totals in ordered[limit:]]
    others = sum(rest, ZERO_KEY) if rest else None
    total = sum((t.revenue for t in figures.values()), ZERO)
    return Breakdown(rows, others, len(rest), total)


def iter_members(keys: Iterable[str]) -> Iterator[str]:
    """The `keys` set members of these keys: `=<key>`, and for a long key one marker per further
    unit, so that the set's size counts units."""
    for key in keys:
        yield "=" + key
        extra = units(key) - 1
        if extra:
            ident = key_id(key)
            for n in range(1, extra + 1):
                yield f"+{n}:{ident}"
