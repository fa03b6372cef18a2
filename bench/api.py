"""Targets 4 and 5 through `bench/api_bench.py` (another helper's module, used as it is).

4: `api_bench.measure_queries` is run in `passes` passes with the sizes in opposite orders, so
drift on the shared machine does not favour one size; a size's latency is the lower of its
per-pass medians, and the ratio is large over small. A control run stores as many sale items
for the large case as for the small one (the day aggregates still those of all `large` sales):
moto's Query walks every item of the table, so this separates moto's table-size cost from the
service's.
5: `api_bench.import_time_ms` per handler module, interleaved, judged against IMPORT_LIMITS.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import warnings
from typing import Any

from bench import api_bench

TARGET = 1.2
ROUTES = (("revenue", "/metrics/revenue"), ("daily", "/metrics/revenue/daily"))


def _times(entry: dict[str, Any]) -> dict[str, Any]:
    """api_bench's latency summary of one route (nested under "total" in its newer shape)."""
    return dict(entry.get("total", entry))


def _compare(small: int, large: int, repeats: int, passes: int, max_sale_items: int) -> dict[str, Any]:
    results = []
    for n in range(passes):
        sizes = (small, large) if n % 2 == 0 else (large, small)
        # Powertools (3.37) prints a metric set once one metric holds 100 values, even with
        # POWERTOOLS_METRICS_DISABLED (its flush neither prints nor clears then): keep that, and
        # the "no metrics to publish" warnings of a disabled flush, out of the benchmark's output.
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="No application metrics to publish")
            results.append(api_bench.measure_queries(sizes, repeats, max_sale_items))
    latency: dict[str, Any] = {}
    for route, path in ROUTES:
        detail: dict[str, Any] = {}
        for label, size in (("small", small), ("large", large)):
            entries = [r["by_size"][str(size)] for r in results]
            times = [_times(e[route]) for e in entries]
            # api_bench also times the DynamoDB calls (here: moto); the rest is the handler's own work
            own = [e[route]["excluding_dynamodb"] for e in entries if "excluding_dynamodb" in e[route]]
            stored = entries[0]["stored"]
            detail[label] = {
                "stored": f"{stored['day_items_stored']} / {stored['sale_items_stored']:,}",
                "requests": max(e[route]["dynamodb_requests_per_query"] for e in entries),
                "operations": sorted({op for e in entries for op in e[route]["dynamodb_operations"]}),
                "items": max(e[route]["items_read_per_query"] for e in entries),
                "medians_ms": [t["median_ms"] for t in times],
                "p95_ms": max(t["p95_ms"] for t in times),
                "handler_only_medians_ms": [o["median_ms"] for o in own],
                "response_bytes": entries[0][route]["response_bytes"],
            }
        ratio = min(detail["large"]["medians_ms"]) / min(detail["small"]["medians_ms"])
        own_small, own_large = detail["small"]["handler_only_medians_ms"], detail["large"]["handler_only_medians_ms"]
        handler_ratio = min(own_large) / min(own_small) if own_small and own_large else None
        inside = None  # inside the DynamoDB call = total - outside, per pass (of medians: approximate)
        if own_small and own_large:
            inside = {
                label: min(
                    t - o
                    for t, o in zip(detail[label]["medians_ms"], detail[label]["handler_only_medians_ms"], strict=True)
                )
                for label in ("small", "large")
            }
        latency[route] = {
            "path": path,
            "small": small,
            "large": large,
            "detail": detail,
            "ratio": round(ratio, 3),
            "target": TARGET,
            "passed": ratio <= TARGET,
            "handler_only_ratio": round(handler_ratio, 3) if handler_ratio is not None else None,
            "inside_dynamodb_ms": {k: round(v, 1) for k, v in inside.items()} if inside else None,
            "inside_dynamodb_ratio": round(inside["large"] / inside["small"], 3) if inside else None,
            "same_dynamodb_work": (
                detail["small"]["requests"] == detail["large"]["requests"]
                and detail["small"]["items"] == detail["large"]["items"]
            ),
            "requests_per_query": max(detail["small"]["requests"], detail["large"]["requests"]),
        }
    return {
        "large_sale_items": min(large, max_sale_items),
        "repeats_per_pass": repeats,
        "passes": [list(r["by_size"]) for r in results],
        "latency": latency,
        "raw": results,
    }


def run_queries(
    small: int = 1_000,
    large: int = 1_000_000,
    repeats: int = 15,
    passes: int = 2,
    max_sale_items: int = 20_000,
    control_repeats: int = 10,
) -> dict[str, Any]:
    main = _compare(small, large, repeats, passes, max_sale_items)
    control = _compare(small, large, control_repeats, passes, min(small, max_sale_items)) if control_repeats else None
    for route, q in main["latency"].items():
        c = control["latency"][route] if control else None
        if c is not None:
            q["control_ratio"] = c["ratio"]
        # Same DynamoDB work at both sizes, and the gap gone once both tables hold as many items:
        # the gap is moto's (its Query walks every item of the table; DynamoDB's reads one partition).
        q["moto_artefact"] = bool(
            not q["passed"]
            and q["same_dynamodb_work"]
            and c is not None
            and c["passed"]
            and (q["handler_only_ratio"] is None or q["handler_only_ratio"] <= TARGET)
        )
    return {
        "large_sales": large,
        **{k: v for k, v in main.items() if k != "raw"},
        "control": {k: v for k, v in control.items() if k != "raw"} if control else None,
        "passed": all(q["passed"] for q in main["latency"].values()),
        "raw": main["raw"],
    }


# Cold start: a handler module's import time at most this many times a bare `import boto3`.
IMPORT_LIMITS = {"metrics_handler": 2.0, "ingest_handler": 1.8}


_IMPORT_LINE = re.compile(r"import time:\s+\d+\s+\|\s+(\d+)\s+\|( *)(\S+)\s*$")


def _direct_imports(module: str) -> dict[str, float]:
    """Cumulative ms of each module `module` imports directly (one run of `-X importtime`)."""
    env = {
        **os.environ,
        **api_bench.IMPORT_ENV,  # the same environment import_time_ms uses
        "PYTHONPATH": api_bench.import_pythonpath(),
    }
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=api_bench.ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    out: dict[str, float] = {}
    for line in done.stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if match and len(match[2]) == 3:  # one level below the module itself
            out[match[3]] = int(match[1]) / 1000
    return out


def run_imports(runs: int = 5) -> dict[str, Any]:
    """`api_bench.import_time_ms` of each module, the modules interleaved run by run (so drift
    on the shared machine hits them alike), fastest of `runs` each."""
    modules = ["boto3", "metrics_handler", "health_handler", "ingest_handler"]
    best: dict[str, float] = {}
    for _ in range(runs):
        for module in modules:
            best[module] = min(best.get(module, float("inf")), api_bench.import_time_ms(module, 1))
    result: dict[str, Any] = {
        "runs": runs,
        "statistic": "fastest",
        "import_ms": best,
        "over_boto3_ms": {m: round(t - best["boto3"], 1) for m, t in best.items() if m != "boto3"},
    }
    base = result["import_ms"]["boto3"]
    ratios = {m: round(t / base, 2) for m, t in result["import_ms"].items() if m != "boto3"}
    limits = {m: x for m, x in IMPORT_LIMITS.items() if m in ratios}
    # Where each handler's import time goes: its direct imports, fastest of `runs` each.
    parts: dict[str, dict[str, float]] = {}
    for _ in range(runs):
        for module in ("metrics_handler", "ingest_handler"):
            for name, ms in _direct_imports(module).items():
                parts.setdefault(module, {})[name] = min(parts.get(module, {}).get(name, float("inf")), ms)
    result["direct_imports_ms"] = {
        m: {n: round(t, 1) for n, t in sorted(p.items(), key=lambda kv: -kv[1]) if t >= 3} for m, p in parts.items()
    }
    return {**result, "ratios": ratios, "limits": limits, "passed": all(ratios[m] <= x for m, x in limits.items())}
