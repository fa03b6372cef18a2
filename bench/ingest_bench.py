"""Targets 6 and 7: the whole ingest's CPU against a bare csv pass, and DynamoDB latency hidden.

6. CPU: the real ingest handler over an export of N lines costs at most 10x a bare `csv.reader`
   pass over the same object streamed from S3 (S3 client made, GetObject, the pass), both warm
   in one process, on 100,000 and on 1,000,000 lines.
7. Latency: the same ingest with every DynamoDB answer held back 25 ms takes at most 1.5x the
   wall time of the instant run (only concurrent writes within one invocation can do that).

S3 is a moto server in another process (the objects uploaded as a browser would, multipart for
the big ones); DynamoDB is `bench.instantddb` in another process, answering what an empty table
would, at once or after the delay. The measurements run in one fresh child process
(`bench.ingest_child`), so neither server's work is counted, nor anything this process did
before. Ratio = fastest ingest / fastest baseline, in process CPU time (all threads, user +
system). moto is slower than the client it serves and would hide the client's cost; the instant
endpoint shows it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from bench.common import ROOT, child_env, export_file
from bench.instantddb import InstantDynamoDB
from bench.motoserver import MotoServerProcess

CPU_TARGET = 10.0
LATENCY_TARGET = 1.5
BUCKET = "bench-ingest"
TABLE = "bench-ingest"
ENV = {
    "TABLE_NAME": TABLE,
    "POWERTOOLS_SERVICE_NAME": "bench",
    "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "UPLOADS_PREFIX": "uploads/",
    "REJECTS_PREFIX": "rejects/",
}


def run(
    sizes: tuple[int, ...] = (100_000, 1_000_000),
    rounds: int = 2,
    delay_sizes: tuple[int, ...] = (100_000,),
    delay_ms: float = 25.0,
    profile_lines: int = 20_000,
) -> dict[str, Any]:
    # The stage budget on the largest judged size of at most 100,000 lines (it holds the sales in memory).
    stage_lines = max((n for n in sizes if n <= 100_000), default=profile_lines)
    all_sizes = sorted({*sizes, *delay_sizes, profile_lines})
    files = {n: export_file(n) for n in all_sizes}
    with MotoServerProcess() as s3, InstantDynamoDB() as ddb:
        objects = []
        for n in all_sizes:
            path, meta = files[n]
            key = f"uploads/{path.name}"
            version_id, etag = s3.upload(BUCKET, path, key)
            objects.append(
                {
                    "key": key,
                    "version_id": version_id,
                    "etag": etag,
                    "size": meta["bytes"],
                    "lines": n,
                    "sales": meta["sales"],
                }
            )
        by_lines = {o["lines"]: o for o in objects}
        spec = {
            "bucket": BUCKET,
            "objects": objects,
            "rounds": rounds,
            "dynamodb_endpoint": ddb.endpoint_url,
            "delay_ms": delay_ms,
            "delay_keys": [by_lines[n]["key"] for n in delay_sizes],
            "profile_key": by_lines[profile_lines]["key"],
            "stages_key": by_lines[stage_lines]["key"],
        }
        done = subprocess.run(
            [sys.executable, "-m", "bench.ingest_child", json.dumps(spec)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=child_env(AWS_ENDPOINT_URL_S3=s3.endpoint_url, AWS_ENDPOINT_URL_DYNAMODB=ddb.endpoint_url, **ENV),
            check=False,
        )
        sys.stderr.write(done.stderr if done.returncode == 0 else "")
        if done.returncode != 0:
            raise RuntimeError(f"ingest child failed:\n{done.stderr[-4000:]}")
        measured = json.loads(done.stdout.strip().splitlines()[-1])
    cpu: dict[str, Any] = {}
    latency: dict[str, Any] = {}
    for obj in objects:
        m = measured["objects"][obj["key"]]
        base = min(r["cpu_s"] for r in m["runs"]["baseline"])
        ingest = min(r["cpu_s"] for r in m["runs"]["ingest"])
        instant_wall = min(r["wall_s"] for r in m["runs"]["ingest"])
        stubbed = min(r["cpu_s"] for r in m["runs"]["ingest_commit_stubbed"])
        n = obj["lines"]
        row = {
            "lines": n,
            "sales": obj["sales"],
            "bytes": obj["size"],
            "csv_rows": m["csv_rows"],
            "runs": m["runs"],
            "baseline_cpu_s": base,
            "ingest_cpu_s": ingest,
            "ratio": round(ingest / base, 2),
            "ingest_us_per_line": round(ingest / n * 1e6, 1),
            "baseline_us_per_line": round(base / n * 1e6, 2),
            "stubbed_cpu_s": stubbed,
            "stubbed_ratio": round(stubbed / base, 2),
            "write_path_share": round((ingest - stubbed) / ingest, 3),
            "write_path_us_per_sale": round((ingest - stubbed) / obj["sales"] * 1e6, 1),
            "requests": m["requests"],
            "requests_per_1000_lines": round(sum(m["requests"].values()) / n * 1000, 2),
            "record": {
                k: m["record"].get(k)
                for k in ("status", "rows_total", "rows_ingested", "rows_rejected", "sales_created")
            },
            "judged": n in sizes,
        }
        cpu[str(n)] = row
        if "delayed" in m:
            d = m["delayed"]
            latency[str(n)] = {
                "lines": n,
                "delay_ms": d["delay_ms"],
                "instant_wall_s": instant_wall,
                "delayed_wall_s": d["wall_s"],
                "delayed_cpu_s": d["cpu_s"],
                "requests": sum(d["requests"].values()),
                "ratio": round(d["wall_s"] / instant_wall, 2),
                "target": LATENCY_TARGET,
                "passed": d["wall_s"] / instant_wall <= LATENCY_TARGET,
                # what one request at a time would add: every request waits in turn
                "serial_floor_s": round(sum(d["requests"].values()) * d["delay_ms"] / 1000, 1),
            }
    judged = [row for row in cpu.values() if row["judged"]]
    return {
        "cpu": cpu,
        "cpu_target": CPU_TARGET,
        "cpu_passed": all(row["ratio"] <= CPU_TARGET for row in judged),
        "latency": latency,
        "latency_target": LATENCY_TARGET,
        "latency_passed": all(v["passed"] for v in latency.values()),
        "profile": measured.get("profile"),
        "stages": _stage_rows(measured.get("stages"), cpu),
        "passed": all(row["ratio"] <= CPU_TARGET for row in judged) and all(v["passed"] for v in latency.values()),
    }


_STAGE_LABELS = (
    ("baseline", "baseline: S3 client, GetObject, bare `csv.reader` pass"),
    ("first_pass", "first pass (Sale IDs in more than one run, the decimal mark)"),
    ("reader", "reader: every line parsed and validated into sales"),
    ("content_hash", "every sale's content hash (part of planning)"),
    ("planning", "planning the transactions, `commit` answered in process"),
    ("items", "building the transactions' items (DynamoDB JSON)"),
    ("sending", "sending those transactions, bodies written beforehand (signing, HTTP, the answer)"),
    ("rest", "the rest: handler, import record, change list, rejects file, threads"),
    ("ingest", "whole ingest (paced: on one thread while DynamoDB answers at once)"),
    ("fixed_pacing", "whole ingest with the writer lanes concurrent from the first flush (`WritePacing.fixed()`)"),
)


def _stage_rows(stages: dict[str, Any] | None, cpu: dict[str, Any]) -> dict[str, Any] | None:
    """Each stage's CPU per line and against the baseline of the same object (`stage_budget`)."""
    if not stages:
        return None
    row = cpu[str(stages["lines"])]
    t = stages["cpu_s"]
    seconds = {
        "baseline": row["baseline_cpu_s"],
        "first_pass": t["first_pass"],
        "reader": t["reader"],
        "content_hash": t["content_hash"],
        "planning": t["planning"],
        "items": max(0.0, t["planning_and_items"] - t["planning"]),
        "sending": t["sending"],
        "ingest": row["ingest_cpu_s"],
        "fixed_pacing": stages["fixed_pacing_cpu_s"],
    }
    seconds["rest"] = max(
        0.0, row["ingest_cpu_s"] - t["first_pass"] - t["reader"] - t["planning_and_items"] - t["sending"]
    )
    lines = stages["lines"]
    return {
        "lines": lines,
        "sales": stages["sales"],
        "transactions": stages["transactions"],
        "request_bytes": stages["request_bytes"],
        "rows": [
            {
                "stage": name,
                "label": label,
                "cpu_s": round(seconds[name], 3),
                "us_per_line": round(seconds[name] / lines * 1e6, 2),
                "x_baseline": round(seconds[name] / row["baseline_cpu_s"], 2),
            }
            for name, label in _STAGE_LABELS
        ],
    }


def analysis(result: dict[str, Any]) -> str:
    """What this run's figures say about where the ingest's CPU goes."""
    rows = [r for r in result["cpu"].values() if r["judged"]]
    if not rows:
        return ""
    text = []
    for r in rows:
        text.append(
            f"On {r['lines']:,} lines the ingest costs {r['ratio']}× the bare pass ({r['ingest_us_per_line']} µs per "
            f"line against {r['baseline_us_per_line']}); with `commit` answered in process it would still cost "
            f"{r['stubbed_ratio']}×, so the write path (building the transactions, signing, HTTP) is "
            f"{r['write_path_share']:.0%} of it, {r['write_path_us_per_sale']} µs per sale."
        )
    if any(r["stubbed_ratio"] > result["cpu_target"] for r in rows):
        text.append(
            f"Parsing, grouping and planning alone are over the {result['cpu_target']:g}× limit, so no write "
            "path can meet it: the rest has to come from the reader and `SaleWriter`'s planning."
        )
    stages = result.get("stages")
    if stages:
        by = {r["stage"]: r for r in stages["rows"]}
        parse = by["first_pass"]["x_baseline"] + by["reader"]["x_baseline"]
        sending = by["sending"]
        per_request = sending["cpu_s"] / stages["transactions"] * 1e3
        floor = parse + sending["x_baseline"]
        text.append(
            f"Stage by stage on {stages['lines']:,} lines (one thread, in process): the two passes over the file "
            f"cost {parse:.1f}× the baseline, planning {by['planning']['x_baseline']}× (of which the content "
            f"hash {by['content_hash']['x_baseline']}×), the items {by['items']['x_baseline']}×, sending the "
            f"{stages['transactions']:,} transactions {sending['x_baseline']}× ({per_request:.2f} ms of CPU each, "
            f"{stages['request_bytes'] / stages['transactions'] / 1000:.0f} KB a body), and the rest "
            f"{by['rest']['x_baseline']}×. The two passes and the requests alone, with nothing planned or built, "
            f"come to {floor:.1f}× of the {result['cpu_target']:g}× allowed. With the writer lanes concurrent "
            f"from the first flush (what the pacing avoids while nothing keeps the ingest waiting) the whole "
            f"ingest costs {by['fixed_pacing']['x_baseline']}× against {by['ingest']['x_baseline']}× as paced."
        )
    profile = result.get("profile")
    if profile:
        top = [p for p in profile["by_package"] if p["share"] >= 0.05]
        text.append(
            f"Under cProfile ({profile['lines']:,} lines; the profiler inflates call-heavy code), own time "
            "by package: " + ", ".join(f"{p['package']} {p['share']:.0%}" for p in top) + "."
        )
    for lines, v in result["latency"].items():
        text.append(
            f"With every DynamoDB answer {v['delay_ms']:g} ms late, the {int(lines):,}-line ingest took "
            f"{v['delayed_wall_s']} s against {v['instant_wall_s']} s ({v['ratio']}×): its {v['requests']} requests "
            f"waited {v['serial_floor_s']} s in all"
            + (
                ", one at a time - transactions are sent one after another; only concurrent writes within the "
                "invocation can hide that."
                if not v["passed"]
                else "; the waits overlapped."
            )
        )
    return " ".join(text)
