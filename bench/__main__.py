"""`python -m bench` (`make bench`): run the benchmarks, print a summary, write docs/benchmarks.md.

    python -m bench                      every benchmark at full size (~10 minutes here)
    python -m bench --quick              smaller sizes, a smoke run; writes bench-out/benchmarks.quick.md
    python -m bench --only parse,memory  some of them; the other sections of the output are kept
    python -m bench --profile            the parse breakdown even when the parse target passes

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

NAMES = ("parse", "memory", "requests", "api", "coldstart")

FULL: dict[str, dict[str, Any]] = {
    "parse": {"lines": 1_000_000, "rounds": 3, "profile_lines": 100_000},
    "memory": {"small_lines": 10_000, "large_lines": 1_000_000},
    "requests": {"lines": 20_000},
    "api": {"small": 1_000, "large": 1_000_000, "repeats": 15, "passes": 2, "max_sale_items": 20_000},
    "coldstart": {"runs": 5},
}
QUICK: dict[str, dict[str, Any]] = {
    "parse": {"lines": 100_000, "rounds": 2, "profile_lines": 20_000},
    "memory": {"small_lines": 10_000, "large_lines": 100_000},
    "requests": {"lines": 2_000},
    "api": {"small": 1_000, "large": 20_000, "repeats": 5, "passes": 2, "max_sale_items": 2_000},
    "coldstart": {"runs": 2},
}


def _command(argv: list[str]) -> str:
    env = "PYTHONPATH=" + os.pathsep.join(("layers/common", "functions/ingest", "functions/metrics",
                                          "functions/health", "."))
    safe = " ".join(f"{k}={SAFE_ENV[k]}" for k in ("AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",
                                                   "AWS_SECRET_ACCESS_KEY", "HTTPS_PROXY", "NO_PROXY"))
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
    from bench import api  # noqa: PLC0415

    return lambda: api.run_imports(**sizes)


def _analysis(name: str, result: dict[str, Any]) -> str:
    if name == "parse":
        from bench import parse_bench  # noqa: PLC0415

        return parse_bench.analysis(result)
    if name == "requests":
        from bench import requests_bench  # noqa: PLC0415

        return requests_bench.analysis(result)
    return ""


def _line(name: str, result: dict[str, Any]) -> str:
    if name == "parse":
        return (f"parse      reader (parse + validate + group) / csv.reader = {result['ratio']}x CPU (wall "
                f"{result['ratio_wall']}x; with the write-time hash {result['ratio_with_hash']}x), limit 3x")
    if name == "memory":
        a, b = result["local"], result["s3"]
        return (f"memory     peak RSS large/small: disk {a['ratio']}x ({a['peak_mib']['large']} vs "
                f"{a['peak_mib']['small']} MiB), S3 stream {b['ratio']}x ({b['peak_mib']['large']} vs "
                f"{b['peak_mib']['small']} MiB), limit 1.5x")
    if name == "requests":
        parts = [f"{n}: {s['requests_per_1000_lines']}/1k lines, {s['wcu_per_line']} WCU/line"
                 for n, s in result["scenarios"].items()]
        return "requests   " + "\n           ".join(parts) + "\n           limit 15/1k lines for the first ingest"
    if name == "api":
        return "api        " + ", ".join(
            f"{q['path']} latency large/small {q['ratio']}x, {q['requests_per_query']:g} request(s)/query"
            for q in result["latency"].values()) + ", limit 1.2x"
    return "coldstart  " + ", ".join(f"{m} {t} ms" for m, t in result["import_ms"].items())


def _passed(name: str, result: dict[str, Any]) -> bool | None:
    if name == "memory":
        return bool(result["passed"])
    return result.get("passed")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {', '.join(NAMES)}")
    parser.add_argument("--profile", action="store_true", help="parse breakdown even when it passes")
    parser.add_argument("--out", type=Path, default=None,
                        help="markdown output (default docs/benchmarks.md; bench-out/benchmarks.quick.md with --quick)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(NAMES)
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    sizes = QUICK if args.quick else FULL
    out: Path = args.out or (OUT / "benchmarks.quick.md" if args.quick else ROOT / "docs" / "benchmarks.md")
    command = _command(argv)
    facts = machine()
    previous = report.load(out).get("runs", {})
    runs: dict[str, Any] = {k: v for k, v in previous.items() if k in NAMES and k not in names}
    failures: list[str] = []
    started_all = time.perf_counter()
    print(f"bench: {', '.join(names)} ({'quick' if args.quick else 'full'}); {facts['nproc']} CPUs, "
          f"Python {facts['python']}", flush=True)
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
            runs[name] = {"result": result, "sizes": sizes[name], "command": command, "seconds": round(seconds, 1),
                          "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                          "analysis": _analysis(name, result)}
            verdict = _passed(name, result)
            print(_line(name, result), flush=True)
            print(f"   {'' if verdict is None else ('PASS' if verdict else 'FAIL')} in {seconds:.0f} s", flush=True)
    (OUT).mkdir(exist_ok=True)
    (OUT / ("results.quick.json" if args.quick else "results.json")).write_text(
        json.dumps({"machine": facts, "runs": runs}, indent=1, default=str))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report.render(runs, facts, command, datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")))
    print(f"bench: {time.perf_counter() - started_all:.0f} s in all; wrote {out.relative_to(ROOT)}")
    if failures:
        print(f"bench: these could not run: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
