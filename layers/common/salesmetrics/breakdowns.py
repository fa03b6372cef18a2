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
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
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


@lru_cache(maxsize=20_000)  # the same few keys recur in every update and read; bounded like the reader's shared texts
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


def contribution(lines: Sequence[SaleLine]) -> Contribution:
    """What one sale adds to each (dimension, key) it has a line in."""
    if len(lines) == 1:  # most sales: each of the line's three keys gets the same figures
        ln = lines[0]
        totals = KeyTotals(
            ln.item_total,
            ZERO if ln.tax is None else ln.tax,
            ZERO if ln.quantity is None else ln.quantity,
            1,
            1,
        )
        return {
            ("item", ln.item_name.strip() or NONE_KEY): totals,
            ("location", ln.location.strip() or NONE_KEY): totals,
            ("payment_method", ln.payment_method.strip() or NONE_KEY): totals,
        }
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
    new_day: date, new_lines: Sequence[SaleLine] | None, old_day: date | None, old_lines: Sequence[SaleLine] | None
) -> DayDeltas:
    """What writing a sale version changes: + the new version's lines, - the stored version's
    (either may be absent); keys whose delta is zero are left out."""
    out: DayDeltas = (
        {(dimension, new_day, key): totals for (dimension, key), totals in contribution(new_lines).items()}
        if new_lines is not None
        else {}
    )
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


DIRECTORY_DAYS = 1_500  # (dimension, day)s a writer remembers: ~500 days of the three dimensions


class ShardDirectory:
    """What one writer knows of the shards of each (dimension, day): at least these keys in each,
    at least this many units used. Learnt from its own committed writes and from reads; shared by
    the writer's lanes (threads), so guarded.

    Bounded: it remembers the `limit` (dimension, day)s used last. Forgetting is safe: a key
    written where it is not known to be goes to a shard with room (the same shard, if that is the
    one it is in, whose figures then simply add up), and a shard fuller than remembered refuses
    the write, which makes the writer read that day again. So an export of many years keeps the
    memory of a few hundred days, not of every key it ever wrote.
    """

    def __init__(self, limit: int | None = None) -> None:
        self._lock = threading.Lock()
        self._days: OrderedDict[tuple[str, date], list[_Known]] = OrderedDict()
        self.limit = DIRECTORY_DAYS if limit is None else limit

    def _shards(self, dimension: str, day: date) -> list[_Known]:
        shards = self._days.get((dimension, day))
        if shards is None:
            shards = self._days[dimension, day] = []
            if len(self._days) > self.limit:
                self._days.popitem(last=False)
        else:
            self._days.move_to_end((dimension, day))
        return shards

    def snapshot(self, dimension: str, day: date) -> list[tuple[frozenset[str], int]]:
        with self._lock:
            shards = self._days.get((dimension, day))
            return [(frozenset(k.keys), k.units) for k in shards] if shards else []

    def committed(self, deltas: Mapping[ShardRef, ShardDelta]) -> None:
        with self._lock:
            for ref, delta in deltas.items():
                shards = self._shards(ref.dimension, ref.day)
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
            self._shards(dimension, day)[:] = shards

    def __len__(self) -> int:
        return len(self._days)


Slot = tuple[str, date, str]  # (dimension, day, key)


class Placement(NamedTuple):
    """Where a key new to the plan goes."""

    slot: Slot
    ref: ShardRef
    present: bool  # the shard is known to hold the key: the write checks it, no room needed
    new_units: int  # room the key takes (0 when present)


class Offer(NamedTuple):
    """One sale's deltas and what adding them to the plan would take: the placements of its keys
    new to the plan, the shard items they add to the transaction, and their request bytes."""

    deltas: DayDeltas
    placements: list[Placement]
    new_items: int
    size: int


# The request bytes of one key in a shard's update: its five names and values, and its set member.
KEY_REQUEST_BYTES = 130


class _Figures:
    """One key's figures in one shard of the plan, added to in place while the plan grows."""

    __slots__ = ("lines", "present", "quantity", "ref", "revenue", "sales", "tax")

    def __init__(self, ref: ShardRef, present: bool) -> None:
        self.ref = ref
        self.present = present
        self.revenue = self.tax = self.quantity = ZERO
        self.lines = self.sales = 0


def _line_slots(day: date, ln: SaleLine) -> tuple[Slot, Slot, Slot]:
    """The three slots one line counts under on `day` (`contribution`'s keys, in its order)."""
    return (
        ("item", day, ln.item_name.strip() or NONE_KEY),
        ("location", day, ln.location.strip() or NONE_KEY),
        ("payment_method", day, ln.payment_method.strip() or NONE_KEY),
    )


class BreakdownPlan:
    """The breakdown part of one transaction being planned: every key placed in a shard.

    `place` finds a shard for each of a sale's keys new to the plan without changing the plan, so
    that the planner can see how many shard items the sale would add (the transaction holds at
    most 100 items) before it `apply`s them or leaves the sale for the next transaction. A key
    already in the plan costs a dictionary look-up: most of a transaction's sales add only to
    keys it has. `finish` gives the shard deltas of the transaction.
    """

    def __init__(self, directory: ShardDirectory) -> None:
        self.directory = directory
        self._figures: dict[Slot, _Figures] = {}
        self._shards: dict[ShardRef, list[int]] = {}  # [keys, new units] planned per shard
        self._views: dict[tuple[str, date], list[tuple[frozenset[str], int]]] = {}

    def _view(self, dimension: str, day: date) -> list[tuple[frozenset[str], int]]:
        view = self._views.get((dimension, day))
        if view is None:
            view = self._views[dimension, day] = self.directory.snapshot(dimension, day)
        return view

    def _planned(self, ref: ShardRef, extra: Mapping[ShardRef, tuple[int, int]]) -> tuple[int, int]:
        """(keys, new units) this plan (and the sale being placed) puts in a shard."""
        keys, new = self._shards.get(ref, (0, 0))
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

    def place(self, deltas: DayDeltas) -> Offer:
        figures = self._figures
        unplaced = [slot for slot in deltas if slot not in figures]  # the others add up where they are
        if not unplaced:
            return Offer(deltas, [], 0, 0)
        return self._offer(deltas, unplaced)

    def place_new(self, day: date, lines: Sequence[SaleLine]) -> Offer:
        """`place` for a sale new to storage (most sales of a first ingest): its lines' slots, in
        `contribution`'s order, without the deltas `sale_deltas` would build for them; `apply_new`
        then adds the lines as `apply` would add those deltas."""
        figures = self._figures
        if len(lines) == 1:
            return self._offer({}, [slot for slot in _line_slots(day, lines[0]) if slot not in figures])
        slots = dict.fromkeys(slot for ln in lines for slot in _line_slots(day, ln))
        return self._offer({}, [slot for slot in slots if slot not in figures])

    def apply_new(self, offer: Offer, day: date, lines: Sequence[SaleLine]) -> None:
        self.apply(offer)
        figures = self._figures
        if len(lines) == 1:
            item, location, payment = _line_slots(day, lines[0])
            self.add_line((figures[item], figures[location], figures[payment]), lines[0])
            return
        counted: set[Slot] = set()  # a key counts the sale once, however many of its lines it has
        for ln in lines:
            total = ln.item_total
            tax = ZERO if ln.tax is None else ln.tax
            quantity = ZERO if ln.quantity is None else ln.quantity
            for slot in _line_slots(day, ln):
                f = figures[slot]
                f.revenue += total
                f.tax += tax
                f.quantity += quantity
                f.lines += 1
                if slot not in counted:
                    counted.add(slot)
                    f.sales += 1

    def _offer(self, deltas: DayDeltas, unplaced: list[Slot]) -> Offer:
        placements: list[Placement] = []
        extra: dict[ShardRef, tuple[int, int]] = {}
        for slot in unplaced:
            dimension, day, key = slot
            need = units(key)
            number, present = self._shard_for(dimension, day, key, need, extra)
            ref = ShardRef(dimension, day, number)
            keys, added = extra.get(ref, (0, 0))
            extra[ref] = (keys + 1, added + (0 if present else need))
            placements.append(Placement(slot, ref, present, 0 if present else need))
        return Offer(
            deltas,
            placements,
            sum(1 for ref in extra if ref not in self._shards),
            sum(KEY_REQUEST_BYTES + 2 * len(p.slot[2]) for p in placements),
        )

    def apply(self, offer: Offer) -> None:
        for p in offer.placements:
            self._figures[p.slot] = _Figures(p.ref, p.present)
            planned = self._shards.get(p.ref)
            if planned is None:
                planned = self._shards[p.ref] = [0, 0]
            planned[0] += 1
            planned[1] += p.new_units
        figures = self._figures
        for slot, t in offer.deltas.items():
            f = figures[slot]
            f.revenue += t.revenue
            f.tax += t.tax
            f.quantity += t.quantity
            f.lines += t.lines
            f.sales += t.sales

    def known_line(self, day: date, ln: SaleLine) -> tuple[_Figures, _Figures, _Figures] | None:
        """The plan's figures of a one-line sale's three keys on `day`, when the plan adds to all
        three already (most sales of a transaction): adding the sale then takes no placement."""
        figures = self._figures
        item = figures.get(("item", day, ln.item_name.strip() or NONE_KEY))
        if item is None:
            return None
        location = figures.get(("location", day, ln.location.strip() or NONE_KEY))
        if location is None:
            return None
        payment = figures.get(("payment_method", day, ln.payment_method.strip() or NONE_KEY))
        if payment is None:
            return None
        return item, location, payment

    @staticmethod
    def add_line(known: tuple[_Figures, _Figures, _Figures], ln: SaleLine) -> None:
        """Add a one-line sale to the keys `known_line` found: what `contribution` says of it."""
        total = ln.item_total
        tax = ZERO if ln.tax is None else ln.tax
        quantity = ZERO if ln.quantity is None else ln.quantity
        for f in known:
            f.revenue += total
            f.tax += tax
            f.quantity += quantity
            f.lines += 1
            f.sales += 1

    def item_count(self) -> int:
        return len(self._shards)

    def finish(self) -> dict[ShardRef, ShardDelta]:
        """The shard deltas of the plan, each key's figures summed."""
        out: dict[ShardRef, ShardDelta] = {}
        for (_, _, key), f in self._figures.items():
            delta = out.get(f.ref)
            if delta is None:
                delta = out[f.ref] = ShardDelta(new_units=self._shards[f.ref][1])
            delta.figures[key] = KeyTotals(f.revenue, f.tax, f.quantity, f.lines, f.sales)
            if f.present:
                delta.present.add(key)
        return out


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
