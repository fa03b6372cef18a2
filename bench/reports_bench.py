"""Target 4 for the reports: a year's series, comparison and breakdowns, 1,000 vs 1,000,000 sales.

Through the real metrics handler on in-process moto, as `bench/api.py` measures the revenue
routes (and with its helpers): the table holds the day aggregates and the breakdown shards of
all the generated sales, as ingest would have written them (items, locations and payment
methods drawn with the sample generator's odds), plus up to `max_sale_items` sale items.

The breakdown routes read one shard item per dimension and day, so their DynamoDB requests do
not depend on the number of sales; the bytes they read do depend on how many distinct keys a
day has, which grows with sales until a day sells every item of the catalogue. So a second
comparison, the *saturated control*, sets fewer sales that already have (about) as many keys a
day against the large case: 20,000 sales for locations and payment methods (fifty times fewer),
500,000 for items (the rarest catalogue items sell a few times a year).
"""

from __future__ import annotations

import contextlib
import io
import random
import time
import warnings
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from bench import api_bench
from bench.common import environment
from bench.ddbcost import item_size
from devtools import sourceroots

TARGET = 1.2
ROUTES: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("series_month", "/metrics/revenue/series", {"granularity": "month"}),
    ("series_week", "/metrics/revenue/series", {"granularity": "week"}),
    ("compare", "/metrics/revenue", {"compare": "previous_period"}),
    ("by_item", "/metrics/revenue/by/item", {}),
    ("by_location", "/metrics/revenue/by/location", {}),
    ("by_payment_method", "/metrics/revenue/by/payment_method", {}),
)
BREAKDOWN_ROUTES = ("by_item", "by_location", "by_payment_method")


def _catalogue() -> tuple[list[str], list[float], list[str], list[str]]:
    from devtools import samplegen  # noqa: PLC0415 - after sys.path is set

    names = [item.name for item in samplegen.CATALOGUE]
    weights = [item.weight for item in samplegen.CATALOGUE]
    return names, weights, [samplegen.STUDIO, samplegen.ONLINE_STORE, samplegen.COMP], [*samplegen._PAYMENTS, ""]


def store(client: Any, sales: int, max_sale_items: int, seed: int = 7) -> dict[str, Any]:
    """Day aggregates and sale items as `api_bench.store` writes them, and the breakdown shards
    of `sales` one-line sales spread the same way over the year."""
    import boto3  # noqa: PLC0415

    from salesmetrics.breakdowns import KeyTotals, key_of, layout  # noqa: PLC0415
    from salesmetrics.storage.items import shard_item  # noqa: PLC0415

    stored = api_bench.store(boto3.resource("dynamodb").Table(api_bench.TABLE), sales, max_sale_items, seed)
    names, weights, locations, payments = _catalogue()
    rng = random.Random(seed + 1)
    days = [api_bench.YEAR_START + timedelta(days=d) for d in range(365)]
    sums: dict[tuple[str, date], dict[str, list[int]]] = {}
    cents = Decimal("0.01")
    for n in range(sales):
        day = days[n] if n < len(days) else days[rng.randrange(365)]
        refund = rng.random() < 0.03
        total = -rng.randrange(500, 20_000) if refund else rng.randrange(0, 40_000)
        picked = (
            ("item", key_of(rng.choices(names, weights)[0])),
            ("location", rng.choice(locations)),
            ("payment_method", key_of(rng.choice(payments))),
        )
        for dimension, key in picked:
            figures = sums.setdefault((dimension, day), {}).setdefault(key, [0, 0, 0, 0])
            figures[0] += total
            figures[1] += total * 9 // 109
            figures[2] += -1 if refund else 1
            figures[3] += 1
    items = []
    for (dimension, day), keys in sums.items():
        totals = {k: KeyTotals(f[0] * cents, f[1] * cents, Decimal(f[2]), f[3], f[3]) for k, f in keys.items()}
        for number, content in enumerate(layout(totals)):
            items.append(shard_item(dimension, day, number, content, 1, "2026-12-01T00:00:00.000Z"))
    for start in range(0, len(items), 25):
        batch = {api_bench.TABLE: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]}
        for _ in range(20):  # bounded: moto processes every item
            batch = client.batch_write_item(RequestItems=batch).get("UnprocessedItems") or {}
            if not batch:
                break
    per_day = {
        dim: round(sum(len(k) for (d, _), k in sums.items() if d == dim) / 365, 1)
        for dim in ("item", "location", "payment_method")
    }
    return {**stored, "shard_items_stored": len(items), "keys_per_day": per_day}


class _Counter(api_bench._Counter):
    """api_bench's counter, also adding up the bytes of the items read."""

    def __init__(self) -> None:
        super().__init__()
        self.bytes = 0

    def reset(self) -> None:
        super().reset()
        self.bytes = 0

    def after(self, parsed: Any = None, **kw: Any) -> None:
        super().after(parsed=parsed, **kw)
        if isinstance(parsed, dict):
            self.bytes += sum(item_size(i) for i in parsed.get("Items", []))


def _time(handler: Any, path: str, extra: dict[str, str], counter: _Counter, repeats: int) -> dict[str, Any]:
    query = {"start": api_bench.YEAR_START.isoformat(), "end": api_bench.YEAR_END.isoformat(), **extra}
    handler(api_bench._event(path, query), api_bench._context())  # warm
    samples, outside = [], []
    requests = items = read = 0
    operations: set[str] = set()
    body = ""
    for _ in range(repeats):
        counter.reset()
        started = time.perf_counter()
        result = handler(api_bench._event(path, query), api_bench._context())
        elapsed = time.perf_counter() - started
        if result["statusCode"] != 200:
            raise RuntimeError(f"{path}: {result['statusCode']} {result['body']}")
        samples.append(elapsed)
        outside.append(elapsed - counter.seconds)
        requests += len(counter.requests)
        items += counter.items
        read += counter.bytes
        operations |= set(counter.requests)
        body = result["body"]
    return {
        "requests": requests / repeats,
        "operations": sorted(operations),
        "items": items / repeats,
        "kb_read": round(read / repeats / 1024, 1),
        "response_bytes": len(body),
        "total": api_bench._summary(samples),
        "excluding_dynamodb": api_bench._summary(outside),
    }


def measure(sizes: tuple[int, ...], repeats: int, max_sale_items: int) -> dict[str, Any]:
    sourceroots.add_to_sys_path()
    out: dict[str, Any] = {}
    with environment(api_bench._ENV):
        import boto3  # noqa: PLC0415
        import metrics_handler  # noqa: PLC0415
        from moto import mock_aws  # noqa: PLC0415

        from salesmetrics.config import get_settings  # noqa: PLC0415

        for size in sizes:
            with mock_aws():
                get_settings.cache_clear()
                client = boto3.client("dynamodb")
                api_bench._create_table(client)
                stored = store(client, size, max_sale_items)
                counter = _Counter()
                session = boto3._get_default_session()
                session.events.register("before-call.dynamodb", counter.before)
                session.events.register("after-call.dynamodb", counter.after)
                try:
                    entry: dict[str, Any] = {"stored": stored}
                    for name, path, extra in ROUTES:
                        entry[name] = _time(metrics_handler.handler, path, extra, counter, repeats)
                    out[str(size)] = entry
                finally:
                    session.events.unregister("before-call.dynamodb", counter.before)
                    session.events.unregister("after-call.dynamodb", counter.after)
        get_settings.cache_clear()
    return out


def _compare(
    small: int, large: int, repeats: int, passes: int, max_sale_items: int, routes: tuple[str, ...]
) -> dict[str, Any]:
    results = []
    for n in range(passes):
        sizes = (small, large) if n % 2 == 0 else (large, small)
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="No application metrics to publish")
            results.append(measure(sizes, repeats, max_sale_items))
    latency: dict[str, Any] = {}
    for name in routes:
        detail: dict[str, Any] = {}
        for label, size in (("small", small), ("large", large)):
            entries = [r[str(size)] for r in results]
            detail[label] = {
                "stored": entries[0]["stored"],
                "requests": max(e[name]["requests"] for e in entries),
                "items": max(e[name]["items"] for e in entries),
                "kb_read": max(e[name]["kb_read"] for e in entries),
                "medians_ms": [e[name]["total"]["median_ms"] for e in entries],
                "p95_ms": max(e[name]["total"]["p95_ms"] for e in entries),
                "handler_only_medians_ms": [e[name]["excluding_dynamodb"]["median_ms"] for e in entries],
                "response_bytes": entries[0][name]["response_bytes"],
            }
        ratio = min(detail["large"]["medians_ms"]) / min(detail["small"]["medians_ms"])
        own = min(detail["large"]["handler_only_medians_ms"]) / min(detail["small"]["handler_only_medians_ms"])
        path = next(p for n, p, _ in ROUTES if n == name)
        extra = next(e for n, _, e in ROUTES if n == name)
        latency[name] = {
            "path": path,
            "query": extra,
            "small": small,
            "large": large,
            "detail": detail,
            "ratio": round(ratio, 3),
            "handler_only_ratio": round(own, 3),
            "target": TARGET,
            "passed": ratio <= TARGET,
            "same_requests": detail["small"]["requests"] == detail["large"]["requests"],
        }
    return {"passes": [list(r) for r in results], "repeats_per_pass": repeats, "latency": latency}


def run(
    small: int = 1_000,
    large: int = 1_000_000,
    repeats: int = 10,
    passes: int = 2,
    max_sale_items: int = 20_000,
    control_small: int = 20_000,
    control_small_items: int = 500_000,
) -> dict[str, Any]:
    """`control_small` sales already have every location and payment method on every day;
    items need `control_small_items` (the catalogue's rarest items sell a few times a year)."""
    main = _compare(small, large, repeats, passes, max_sale_items, tuple(n for n, _, _ in ROUTES))
    control: dict[str, Any] | None = None
    if control_small:
        control = {"latency": {}}
        for size, routes in (
            (control_small_items, ("by_item",)),
            (control_small, ("by_location", "by_payment_method")),
        ):
            control["latency"].update(_compare(size, large, repeats, passes, max_sale_items, routes)["latency"])
    return {
        "large_sales": large,
        "small_sales": small,
        **main,
        "control": control,
        "passed": all(q["passed"] for q in main["latency"].values()),
    }
