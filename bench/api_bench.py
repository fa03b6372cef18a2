"""API benchmarks: revenue queries against few vs many stored sales, and handler cold-start imports.

`run()` returns a dict (the caller formats it for docs/benchmarks.md):

- `queries`: GET /metrics/revenue and /metrics/revenue/daily over one year (365 days), through the
  real handler with payload 2.0 events, on in-process moto, for 1,000 and for 1,000,000 sales.
  For each: DynamoDB requests per query and items they returned (counted with a botocore event
  hook), and latency (median / p95 / max of `repeats` runs). Queries read only day aggregates,
  so both sizes cost the same: one Query returning 365 items.
- `imports`: `python -X importtime` of each handler module vs a bare `import boto3`, fastest of
  `import_runs` fresh interpreters (what a cold start pays before the first event).

Storing a million sale items in moto would take minutes and gigabytes, and would measure moto,
not the design. The large case therefore stores the day aggregates of all its sales (computed
from the generated sales, exactly as ingest would) plus `max_sale_items` of the sale items
themselves (default 20,000), so the table really holds sales next to the aggregates. The result
says how many were stored. moto's wall times are not DynamoDB's: read the request and item
counts as the cost, the times as relative.
"""

from __future__ import annotations

import compileall
import functools
import os
import py_compile
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.common import OUT, environment
from devtools import sourceroots
from devtools.lambdacontext import LambdaContext

ROOT = Path(__file__).resolve().parents[1]
TABLE = "bench-sales"
BUCKET = "bench-uploads"
YEAR_START = date(2024, 1, 1)
YEAR_END = date(2024, 12, 30)  # 365 days inclusive (2024 is a leap year)
_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "HTTPS_PROXY": "http://127.0.0.1:9",  # nothing may reach real AWS
    "TABLE_NAME": TABLE,
    "BUCKET_NAME": BUCKET,
    "RETRACT_FUNCTION_NAME": "bench-ingest:live",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


# What the Lambda runtime sets in every execution environment, and the deployed functions' own
# settings (template.yaml: tracing Active, so Powertools' Tracer is on). The X-Ray SDK reads
# LAMBDA_TASK_ROOT at import: outside Lambda it creates two X-Ray API clients for centralised
# sampling (~100 ms here), in Lambda it never does; a cold start measured without it would time
# work Lambda never does.
IMPORT_ENV = {
    **{k: v for k, v in _ENV.items() if k != "POWERTOOLS_TRACE_DISABLED"},
    "LAMBDA_TASK_ROOT": str(ROOT),
    "AWS_LAMBDA_FUNCTION_NAME": "bench-coldstart",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
}

# -- stored data ---------------------------------------------------------------------------------


def generate_day_cents(sales: int, seed: int = 7) -> dict[date, list[int]]:
    """Per day of the year: [revenue, tax, discounts, orders, order value, refunds count, refunds,
    sales] in integer cents, from `sales` generated sales (~3% refunds, ~2% zero-total)."""
    rng = random.Random(seed)
    days = [YEAR_START + timedelta(days=d) for d in range(365)]
    figures = {day: [0] * 8 for day in days}
    for n in range(sales):
        # Every day gets a sale first (365 aggregates for both sizes), then days at random.
        day = days[n] if n < len(days) else days[rng.randrange(365)]
        roll = rng.random()
        if roll < 0.02:
            total = 0
        elif roll < 0.05:
            total = -rng.randrange(500, 20_000)
        else:
            total = rng.randrange(500, 40_000)
        tax = total * 9 // 109
        f = figures[day]
        f[0] += total
        f[1] += tax
        f[2] += rng.randrange(0, 500) if total > 0 and roll > 0.9 else 0
        if total > 0:
            f[3] += 1
            f[4] += total
        elif total < 0:
            f[5] += 1
            f[6] += total
        f[7] += 1
    return figures


def store(table: Any, sales: int, max_sale_items: int, seed: int = 7) -> dict[str, int]:
    """Day aggregates of `sales` generated sales, plus up to `max_sale_items` sale items."""
    cents = Decimal("0.01")
    figures = generate_day_cents(sales, seed)
    with table.batch_writer() as batch:
        for day, f in figures.items():
            if f[7]:
                batch.put_item(
                    Item={
                        "pk": "DAYS",
                        "sk": day.isoformat(),
                        "rev": 1,
                        "revenue": f[0] * cents,
                        "net": (f[0] - f[1]) * cents,
                        "tax": f[1] * cents,
                        "discounts": f[2] * cents,
                        "order_count": f[3],
                        "order_value": f[4] * cents,
                        "refund_count": f[5],
                        "refunds": f[6] * cents,
                        "sales_count": f[7],
                    }
                )
        items = min(sales, max_sale_items)
        for n in range(items):
            day = YEAR_START + timedelta(days=n % 365)
            batch.put_item(
                Item={
                    "pk": f"SALE#{n}",
                    "sk": "SALE",
                    "sale_id": str(n),
                    "sale_date": day.isoformat(),
                    "ver": f"2024-01-01T00:00:00Z|0|imp_bench|{n}",
                    "hash": f"{n:032x}",
                    "total": Decimal("34.88"),
                    "tax": Decimal("2.88"),
                    "discounts": Decimal(0),
                    "client_id": str(n % 500),
                    "import_id": "imp_bench",
                    "first_import_id": "imp_bench",
                    "lines": [{"line_no": n, "item_name": "Bay hire", "item_total": Decimal("34.88")}],
                }
            )
    return {"sales": sales, "day_items_stored": sum(1 for f in figures.values() if f[7]), "sale_items_stored": items}


# -- measuring -----------------------------------------------------------------------------------


class _Counter:
    """DynamoDB requests, the items they returned and the time spent in them (here: in moto),
    via botocore's event hooks."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.items = 0
        self.seconds = 0.0
        self._started = 0.0

    def reset(self) -> None:
        self.requests.clear()
        self.items = 0
        self.seconds = 0.0

    def before(self, model: Any, **_: Any) -> None:
        self.requests.append(model.name)
        self._started = time.perf_counter()

    def after(self, parsed: Any = None, **_: Any) -> None:
        self.seconds += time.perf_counter() - self._started
        if isinstance(parsed, dict):
            self.items += int(parsed.get("Count", 0))


def _event(path: str, query: dict[str, str]) -> dict[str, Any]:
    from devtools.gateway import build_event  # noqa: PLC0415 - after sys.path is set

    return build_event("GET", path, urlencode(query), [("user-agent", "bench")], None, route_key=f"GET {path}")


def _context() -> LambdaContext:
    return LambdaContext(function_name="bench", memory_limit_in_mb=512, timeout_seconds=30)


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(p95 * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def measure_queries(
    sizes: tuple[int, ...] = (1_000, 1_000_000), repeats: int = 30, max_sale_items: int = 20_000
) -> dict[str, Any]:
    sourceroots.add_to_sys_path()
    results: dict[str, Any] = {
        "range": {"start": YEAR_START.isoformat(), "end": YEAR_END.isoformat(), "days": 365},
        "runs": repeats,
        "by_size": {},
    }
    with environment(_ENV):
        # Imported here, after the environment is set: handlers' module-level Logger/Metrics
        # read it, and no client may be made outside the mock.
        import boto3  # noqa: PLC0415
        import metrics_handler  # noqa: PLC0415
        from moto import mock_aws  # noqa: PLC0415

        for size in sizes:
            with mock_aws():
                metrics_handler.reset()
                client = boto3.client("dynamodb")
                _create_table(client)
                stored = store(boto3.resource("dynamodb").Table(TABLE), size, max_sale_items)
                counter = _Counter()
                session = boto3._get_default_session()
                session.events.register("before-call.dynamodb", counter.before)
                session.events.register("after-call.dynamodb", counter.after)
                try:
                    entry: dict[str, Any] = {"stored": stored}
                    for name, path in (("revenue", "/metrics/revenue"), ("daily", "/metrics/revenue/daily")):
                        entry[name] = _time_route(metrics_handler.handler, path, counter, repeats)
                    results["by_size"][str(size)] = entry
                finally:
                    session.events.unregister("before-call.dynamodb", counter.before)
                    session.events.unregister("after-call.dynamodb", counter.after)
        metrics_handler.reset()
    return results


def _time_route(handler: Callable[..., Any], path: str, counter: _Counter, repeats: int) -> dict[str, Any]:
    query = {"start": YEAR_START.isoformat(), "end": YEAR_END.isoformat()}
    handler(_event(path, query), _context())  # warm: clients made, modules loaded
    requests = items = 0
    operations: set[str] = set()
    samples, outside = [], []
    body = ""
    for _ in range(repeats):
        event = _event(path, query)
        counter.reset()
        started = time.perf_counter()
        result = handler(event, _context())
        elapsed = time.perf_counter() - started
        if result["statusCode"] != 200:
            raise RuntimeError(f"{path}: {result['statusCode']} {result['body']}")
        samples.append(elapsed)
        outside.append(elapsed - counter.seconds)
        requests += len(counter.requests)
        items += counter.items
        operations |= set(counter.requests)
        body = result["body"]
    return {
        "dynamodb_requests_per_query": requests / repeats,
        "dynamodb_operations": sorted(operations),
        "items_read_per_query": items / repeats,
        "response_bytes": len(body),
        "total": _summary(samples),
        # The handler's own work (validation, summing, JSON), without the DynamoDB call.
        "excluding_dynamodb": _summary(outside),
    }


def _create_table(client: Any) -> None:
    def keys(hash_key: str, range_key: str) -> list[dict[str, str]]:
        return [{"AttributeName": hash_key, "KeyType": "HASH"}, {"AttributeName": range_key, "KeyType": "RANGE"}]

    client.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=keys("pk", "sk"),
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "gsi1pk", "gsi1sk")
        ],
        GlobalSecondaryIndexes=[
            {"IndexName": "gsi1", "Projection": {"ProjectionType": "ALL"}, "KeySchema": keys("gsi1pk", "gsi1sk")}
        ],
    )


# -- cold-start imports --------------------------------------------------------------------------

_IMPORT_LINE = re.compile(r"import time:\s+\d+\s+\|\s+(\d+)\s+\|\s*(\S+)\s*$")


@functools.cache
def built_code() -> tuple[Path, ...]:
    """The code `sam build` ships (the Makefiles of layers/common and of each function's
    directory): copies of each function's directory and of the layer's package, with their
    bytecode compiled, unchecked. Installed packages have theirs already (pip compiled them, as
    the layer's build does). Returned in PYTHONPATH order: the functions, then the layer."""
    target = OUT / "coldstart-code"
    shutil.rmtree(target, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "Makefile")
    roots = []
    for directory in sourceroots.FUNCTION_DIRS:
        shutil.copytree(directory, target / "functions" / directory.name, ignore=ignore)
        roots.append(target / "functions" / directory.name)
    shutil.copytree(ROOT / "layers" / "common" / "salesmetrics", target / "layer" / "salesmetrics", ignore=ignore)
    roots.append(target / "layer")
    compileall.compile_dir(target, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    return tuple(roots)


def import_pythonpath() -> str:
    return os.pathsep.join([*(str(p) for p in built_code()), str(ROOT)])


def import_time_ms(module: str, runs: int = 5, python: str = sys.executable) -> float:
    """Cumulative `python -X importtime` of `module` in a fresh interpreter, fastest of `runs`."""
    env = {**os.environ, **IMPORT_ENV, "PYTHONPATH": import_pythonpath()}
    best = float("inf")
    for _ in range(runs):
        done = subprocess.run(
            [python, "-X", "importtime", "-c", f"import {module}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        for line in done.stderr.splitlines():
            match = _IMPORT_LINE.match(line)
            if match and match[2] == module:
                best = min(best, int(match[1]) / 1000)
    if best == float("inf"):
        raise RuntimeError(f"no import time reported for {module}")
    return round(best, 1)


def measure_imports(runs: int = 5) -> dict[str, Any]:
    modules = ["boto3", "metrics_handler", "health_handler"]
    if (ROOT / "functions/ingest/ingest_handler.py").exists():
        modules.append("ingest_handler")
    times = {module: import_time_ms(module, runs) for module in modules}
    return {
        "runs": runs,
        "statistic": "fastest",
        "import_ms": times,
        "over_boto3_ms": {m: round(t - times["boto3"], 1) for m, t in times.items() if m != "boto3"},
    }


def run(
    sizes: tuple[int, ...] = (1_000, 1_000_000), repeats: int = 30, max_sale_items: int = 20_000, import_runs: int = 5
) -> dict[str, Any]:
    return {"queries": measure_queries(sizes, repeats, max_sale_items), "imports": measure_imports(import_runs)}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
