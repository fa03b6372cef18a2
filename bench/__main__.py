"""`python -m bench` (`make bench`): run the benchmarks, print a summary, write docs/benchmarks.md.

    python -m bench                      every benchmark at full size (~10 minutes here)
    python -m bench --quick              smaller sizes, a smoke run; writes bench-out/benchmarks.quick.md
    python -m bench --only parse,memory  some of them; the other sections of the output are kept
    python -m bench --profile            the parse breakdown even when the parse target passes
    python -m bench --only ingest --set ingest.sizes=100000 --set ingest.rounds=1
                                         one benchmark's sizes changed for this run (`make bench
                                         BENCH_ARGS="..."`); the 1,000,000-line runs are the long ones

Run it with the environment `make bench` sets (fake AWS credentials, a dead proxy, PYTHONPATH).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report
from bench.common import OUT, ROOT, SAFE_ENV, environment, machine
from devtools import sourceroots

NAMES = ("parse", "memory", "requests", "api", "reports", "coldstart", "ingest")

FULL: dict[str, dict[str, Any]] = {
    "parse": {"lines": 1_000_000, "rounds": 3, "profile_lines": 100_000},
    "memory": {"small_lines": 10_000, "large_lines": 1_000_000},
    "requests": {"lines": 20_000},
    "api": {"small": 1_000, "large": 1_000_000, "repeats": 15, "passes": 2, "max_sale_items": 20_000},
    "reports": {
        "small": 1_000,
        "large": 1_000_000,
        "repeats": 3,
        "passes": 2,
        "max_sale_items": 20_000,
        "control_small": 20_000,
    },
    "coldstart": {"runs": 5},
    "ingest": {
        "sizes": [100_000, 1_000_000],
        "rounds": 2,
        "delay_sizes": [100_000],
        "delay_ms": 25,
        "profile_lines": 20_000,
    },
}
QUICK: dict[str, dict[str, Any]] = {
    "parse": {"lines": 100_000, "rounds": 2, "profile_lines": 20_000},
    "memory": {"small_lines": 10_000, "large_lines": 100_000},
    "requests": {"lines": 2_000},
    "api": {"small": 1_000, "large": 20_000, "repeats": 5, "passes": 2, "max_sale_items": 2_000},
    "reports": {
        "small": 1_000,
        "large": 20_000,
        "repeats": 2,
        "passes": 1,
        "max_sale_items": 2_000,
        "control_small": 0,
    },
    "coldstart": {"runs": 2},
    "ingest": {
        "sizes": [20_000, 100_000],
        "rounds": 1,
        "delay_sizes": [20_000],
        "delay_ms": 25,
        "profile_lines": 20_000,
    },
}


def _override(sizes: dict[str, dict[str, Any]], settings: list[str]) -> dict[str, dict[str, Any]]:
    """`--set name.key=value` (value: an int, a float, or comma-separated ints for a list)."""
    out = {name: dict(values) for name, values in sizes.items()}
    for setting in settings:
        target, _, raw = setting.partition("=")
        name, _, key = target.partition(".")
        if name not in out or key not in out[name] or not raw:
            raise SystemExit(
                f"--set {setting}: expected NAME.KEY=VALUE with KEY one of "
                f"{', '.join(f'{n}.{k}' for n, v in out.items() for k in v)}"
            )
        current = out[name][key]
        if isinstance(current, list):
            out[name][key] = [int(v) for v in raw.split(",") if v]
        else:
            out[name][key] = type(current)(raw)
    return out


def _command(argv: list[str]) -> str:
    env = "PYTHONPATH=" + os.pathsep.join(os.path.relpath(p) for p in sourceroots.paths())
    safe = " ".join(
        f"{k}={SAFE_ENV[k]}"
        for k in ("AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "HTTPS_PROXY", "NO_PROXY")
    )
    return " ".join([env, safe, ".venv/bin/python -m bench", *map(shlex.quote, argv)]).strip()


def _runner(name: str, sizes: dict[str, Any], profile: bool) -> Callable[[], dict[str, Any]]:
    if name == "parse":
        from bench import parse_bench  # noqa: PLC0415

        return lambda: parse_bench.run(**sizes, profile=profile)
    if name == "memory":
        from bench import memory_bench  # noqa: PLC0415

        return lambda: memory_bench.run(**sizes)
    if name == "requests":
        from bench import requests_bench  # noqa: PLC0415

        return lambda: requests_bench.run(**sizes)
    if name == "api":
        from bench import api  # noqa: PLC0415

        return lambda: api.run_queries(**sizes)
    if name == "reports":
        from bench import reports_bench  # noqa: PLC0415

        return lambda: reports_bench.run(**sizes)
    if name == "ingest":
        from bench import ingest_bench  # noqa: PLC0415

        args: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in sizes.items()}
        return lambda: ingest_bench.run(**args)
    from bench import api  # noqa: PLC0415

    return lambda: api.run_imports(**sizes)


def _analysis(name: str, result: dict[str, Any]) -> str:
    if name == "parse":
        from bench import parse_bench  # noqa: PLC0415

        return parse_bench.analysis(result)
    if name == "requests":
        from bench import requests_bench  # noqa: PLC0415

        return requests_bench.analysis(result)
    if name == "ingest":
        from bench import ingest_bench  # noqa: PLC0415

        return ingest_bench.analysis(result)
    return ""


def _line(name: str, result: dict[str, Any]) -> str:
    if name == "parse":
        return (
            f"parse      reader (parse + validate + group) / csv.reader = {result['ratio']}x CPU (wall "
            f"{result['ratio_wall']}x; with the write-time hash {result['ratio_with_hash']}x), limit 3x"
        )
    if name == "memory":
        a, b = result["local"], result["s3"]
        text = (
            f"memory     peak RSS large/small: disk {a['ratio']}x ({a['peak_mib']['large']} vs "
            f"{a['peak_mib']['small']} MiB), S3 stream {b['ratio']}x ({b['peak_mib']['large']} vs "
            f"{b['peak_mib']['small']} MiB)"
        )
        c = result.get("write")
        if c:
            text += f", real writes {c['ratio']}x ({c['peak_mib']['large']} vs {c['peak_mib']['small']} MiB)"
        return text + ", limit 1.5x"
    if name == "ingest":
        cpu = ", ".join(f"{int(k):,} lines {v['ratio']}x" for k, v in result["cpu"].items() if v["judged"])
        lat = ", ".join(f"{int(k):,} lines {v['ratio']}x" for k, v in result["latency"].items())
        return (
            f"ingest     whole ingest CPU / bare csv.reader from S3: {cpu} (limit {result['cpu_target']:g}x)\n"
            f"           wall with DynamoDB 25 ms slower / instant: {lat} (limit {result['latency_target']:g}x)"
        )
    if name == "requests":
        parts = [
            f"{n}: {s['requests_per_1000_lines']}/1k lines, {s['wcu_per_line']} WCU/line"
            for n, s in result["scenarios"].items()
        ]
        return "requests   " + "\n           ".join(parts) + "\n           limit 15/1k lines for the first ingest"
    if name == "reports":
        return (
            "reports    "
            + ", ".join(
                f"{q['path']}{'?' + next(iter(q['query'].values())) if q['query'] else ''} {q['ratio']}x"
                for q in result["latency"].values()
            )
            + ", limit 1.2x"
            + (
                "; saturated control "
                + ", ".join(f"{q['path']} {q['ratio']}x" for q in result["control"]["latency"].values())
                if result.get("control")
                else ""
            )
        )
    if name == "api":
        return (
            "api        "
            + ", ".join(
                f"{q['path']} latency large/small {q['ratio']}x, {q['requests_per_query']:g} request(s)/query"
                for q in result["latency"].values()
            )
            + ", limit 1.2x"
        )
    return (
        "coldstart  "
        + ", ".join(f"{m} {t} ms" for m, t in result["import_ms"].items())
        + (
            "; × boto3: "
            + ", ".join(
                f"{m} {x}x (limit {result['limits'][m]}x)"
                for m, x in result["ratios"].items()
                if m in result.get("limits", {})
            )
            if "ratios" in result
            else ""
        )
    )


def _passed(name: str, result: dict[str, Any]) -> bool | None:
    if name == "memory":
        return bool(result["passed"])
    return result.get("passed")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {', '.join(NAMES)}")
    parser.add_argument("--profile", action="store_true", help="parse breakdown even when it passes")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME.KEY=VALUE",
        help="change one size of one benchmark for this run, e.g. ingest.sizes=100000",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="markdown output (default docs/benchmarks.md; bench-out/benchmarks.quick.md with --quick)",
    )
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(NAMES)
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    sizes = _override(QUICK if args.quick else FULL, args.set)
    out: Path = args.out or (OUT / "benchmarks.quick.md" if args.quick else ROOT / "docs" / "benchmarks.md")
    command = _command(argv)
    facts = machine()
    previous = report.load(out).get("runs", {})
    runs: dict[str, Any] = {k: v for k, v in previous.items() if k in NAMES and k not in names}
    failures: list[str] = []
    started_all = time.perf_counter()
    print(
        f"bench: {', '.join(names)} ({'quick' if args.quick else 'full'}); {facts['nproc']} CPUs, "
        f"Python {facts['python']}",
        flush=True,
    )
    with environment(dict(SAFE_ENV)):
        for name in names:
            started = time.perf_counter()
            print(f"-- {name} ...", flush=True)
            try:
                result = _runner(name, sizes[name], args.profile)()
            except Exception:  # one broken benchmark must not hide the others' results
                traceback.print_exc()
                failures.append(name)
                continue
            seconds = time.perf_counter() - started
            try:
                text = _analysis(name, result)
            except Exception:  # a broken paragraph must not lose the measurement
                traceback.print_exc()
                text = ""
            runs[name] = {
                "result": result,
                "sizes": sizes[name],
                "command": command,
                "seconds": round(seconds, 1),
                "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "analysis": text,
            }
            verdict = _passed(name, result)
            print(_line(name, result), flush=True)
            print(f"   {'' if verdict is None else ('PASS' if verdict else 'FAIL')} in {seconds:.0f} s", flush=True)
    (OUT).mkdir(exist_ok=True)
    (OUT / ("results.quick.json" if args.quick else "results.json")).write_text(
        json.dumps({"machine": facts, "runs": runs}, indent=1, default=str)
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    kept = report.notes(out) or (report.notes(ROOT / "docs" / "benchmarks.md") if args.quick else "")
    out.write_text(report.render(runs, facts, command, datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), kept))
    shown = out.resolve().relative_to(ROOT) if out.resolve().is_relative_to(ROOT) else out  # --out may be anywhere
    print(f"bench: {time.perf_counter() - started_all:.0f} s in all; wrote {shown}")
    if failures:
        print(f"bench: these could not run: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
