"""Target 2: peak memory of a date-ordered 1,000,000-line ingest within 1.5x that of 10,000 lines.

Each measurement is a fresh subprocess (`bench.memory_child`) whose peak RSS (`VmHWM`, checked
against `ru_maxrss`) is read at its end, so nothing earlier in this process (the 1M-line file
generated here, moto) counts.

(a) `local`: the real `Ingestor` over the file on disk — parse, validate, group, Sale.build, the
    500-sale flush buffer, SaleWriter's plans, the rejects file; DynamoDB stubbed.
(b) `s3`: the same, reading the object through `S3ObjectStore.open_object` from a moto server
    in another process (docs/library-notes.md: in-process `mock_aws` materialises whole S3 objects,
    so only a server elsewhere shows what streaming holds). The server's own peak is reported too; it is
    not the function's memory.
(c) `write`: (b) with the real write path: the unmodified `AwsStorage` sends every import
    record and transaction to `bench.instantddb` (another process, answering as an empty table
    would), so the requests botocore builds and sends are in the peak.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from bench.common import ROOT, child_env, export_file
from bench.instantddb import InstantDynamoDB
from bench.motoserver import MotoServerProcess, peak_rss_kib

TARGET = 1.5
BUCKET = "bench-memory"


def _child(args: list[str], **env: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory_child", *args],
        cwd=ROOT,
        env=child_env(**env),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory child {args[0]} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _ratio(small: dict[str, Any], large: dict[str, Any]) -> dict[str, Any]:
    ratio = large["peak_rss_kib"] / small["peak_rss_kib"]
    return {
        "small": small,
        "large": large,
        "peak_mib": {"small": round(small["peak_rss_kib"] / 1024, 1), "large": round(large["peak_rss_kib"] / 1024, 1)},
        "growth_over_baseline_mib": {
            "small": round((small["peak_rss_kib"] - small["baseline_rss_kib"]) / 1024, 1),
            "large": round((large["peak_rss_kib"] - large["baseline_rss_kib"]) / 1024, 1),
        },
        "ratio": round(ratio, 3),
        "target": TARGET,
        "passed": ratio <= TARGET,
    }


def run(small_lines: int = 10_000, large_lines: int = 1_000_000) -> dict[str, Any]:
    small_path, small_meta = export_file(small_lines)
    large_path, large_meta = export_file(large_lines)
    result: dict[str, Any] = {"files": {"small": small_meta, "large": large_meta}}
    result["local"] = _ratio(_child(["local", str(small_path)]), _child(["local", str(large_path)]))
    with MotoServerProcess() as server, InstantDynamoDB() as ddb:
        objects = {}
        for name, path in (("small", small_path), ("large", large_path)):
            key = f"uploads/{path.name}"
            objects[name] = [BUCKET, key, *server.upload(BUCKET, path, key)]
        measured = {name: _child(["s3", *obj], AWS_ENDPOINT_URL=server.endpoint_url) for name, obj in objects.items()}
        result["s3"] = _ratio(measured["small"], measured["large"])
        written = {
            name: _child(
                ["write", *obj], AWS_ENDPOINT_URL_S3=server.endpoint_url, AWS_ENDPOINT_URL_DYNAMODB=ddb.endpoint_url
            )
            for name, obj in objects.items()
        }
        result["write"] = _ratio(written["small"], written["large"])
        result["write"]["dynamodb_requests"] = ddb.stats()["requests"]
        result["s3"]["moto_server_peak_mib"] = round(peak_rss_kib(server.pid) / 1024, 1)
    result["passed"] = result["local"]["passed"] and result["s3"]["passed"] and result["write"]["passed"]
    return result
