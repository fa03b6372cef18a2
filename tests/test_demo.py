"""`make demo` end to end, as a subprocess: the --once path (what `make demo-check` runs) and the
interactive path (drop folder, then Ctrl-C). Figures are checked against the independent reckoner."""

from __future__ import annotations

import io
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

from devtools import sourceroots
from devtools.demo import overlapping_export
from devtools.samplegen import generate_export
from tests.reckoning import cents, reckon

ROOT = Path(__file__).resolve().parents[1]
LINES = 2000
SEED = 7

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (ROOT / "functions/ingest/ingest_handler.py").exists(),
        reason="functions/ingest/ingest_handler.py is not there yet",
    ),
]

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def demo_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": sourceroots.pythonpath(),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "NO_PROXY": "127.0.0.1,localhost",
        }
    )
    env.pop("AWS_ENDPOINT_URL", None)
    return env


def export(lines: int = LINES, seed: int = SEED) -> bytes:
    out = io.BytesIO()
    generate_export(out, lines=lines, seed=seed)
    return out.getvalue()


def closed(url: str) -> bool:
    try:
        _OPENER.open(url + "/health", timeout=2).read()
    except urllib.error.HTTPError:
        return False
    except OSError:
        return True
    return False


def assert_figures(revenue: dict, expected) -> None:
    assert Decimal(revenue["total_revenue_sgd"]) == cents(expected.total_revenue)
    assert Decimal(revenue["net_revenue_sgd"]) == cents(expected.net_revenue)
    assert Decimal(revenue["tax_sgd"]) == cents(expected.tax)
    assert revenue["order_count"] == expected.order_count
    assert revenue["refund_count"] == expected.refund_count
    assert Decimal(revenue["refunds_sgd"]) == cents(expected.refunds)
    assert Decimal(revenue["average_order_value_sgd"]) == cents(expected.average_order_value)


def test_demo_once_prints_the_reckoned_figures(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "devtools.demo",
            "--once",
            "--port",
            "0",
            "--lines",
            str(LINES),
            "--seed",
            str(SEED),
            "--report",
            str(report_path),
        ],
        cwd=ROOT,
        env=demo_env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["ok"] and report["health_status"] == 200

    first = export()
    reckoning = reckon([first])
    start, end = reckoning.first_day(), reckoning.last_day()
    assert (report["start"], report["end"]) == (start.isoformat(), end.isoformat())
    expected = reckoning.range(start, end)
    assert_figures(report["revenue"], expected)
    assert report["days"] == (end - start).days + 1
    # What is printed is what the API answered.
    total = report["revenue"]["total_revenue_sgd"]
    assert f"metrics/revenue?start={start}&end={end}'" in proc.stdout
    assert f"total_revenue_sgd {total}" in proc.stdout
    assert Decimal(total) == cents(expected.total_revenue)
    for path in ("/health", "/metrics/revenue/daily", "/imports", "/swagger"):
        assert path in proc.stdout
    imported = report["sample_import"]
    assert imported["status"] == "SUCCEEDED" and imported["rows_total"] == LINES

    # The overlapping export dropped into the folder: ingested, listed, figures of both files.
    second = io.BytesIO()
    overlapping_export(second, lines=LINES, seed=SEED)
    both = reckon([first, second.getvalue()])
    drop = report["drop"]
    assert drop["import"]["status"] == "SUCCEEDED"
    assert drop["import"]["key"].startswith("uploads/drop/")
    assert drop["import"]["sales_unchanged"] > 0  # the overlap: same sales, not counted twice
    assert drop["imports"] == 2
    assert_figures(drop["revenue"], both.range(both.first_day(), both.last_day()))

    assert closed(report["gateway_url"]), "the gateway still answers after the demo exited"
    print(f"demo --once took {elapsed:.1f}s")


def _reader(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _wait_for(lines: queue.Queue, pattern: str, timeout: float, seen: list[str]) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        found = re.search(pattern, line)
        if found:
            return found
    raise AssertionError(f"no line matching {pattern!r} within {timeout}s:\n{''.join(seen[-40:])}")


def test_demo_interactive_drop_folder_then_ctrl_c(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    state = tmp_path / "stack.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devtools.demo",
            "--port",
            "0",
            "--lines",
            "300",
            "--seed",
            "3",
            "--drop-folder",
            str(drop),
            "--state-file",
            str(state),
        ],
        cwd=ROOT,
        env=demo_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    seen: list[str] = []
    try:
        base = _wait_for(lines, r"API: (http://127\.0\.0\.1:\d+)", 120, seen)[1]
        _wait_for(lines, r"watching .* for \*\.csv", 60, seen)
        assert json.loads(state.read_text())["pid"] == proc.pid  # for make reconcile

        data = export(lines=50, seed=11)
        (drop / "my export.csv").write_bytes(data)
        _wait_for(lines, r"import uploads/drop/my export\.csv: SUCCEEDED", 60, seen)
        listed = json.loads(_OPENER.open(base + "/imports", timeout=10).read())
        keys = json.dumps(listed)
        assert "uploads/drop/my export.csv" in keys

        # The suffix is matched in any case; a file that is not an export is delivered, not imported.
        (drop / "MARCH.CSV").write_bytes(export(lines=40, seed=12))
        _wait_for(lines, r"import uploads/drop/MARCH\.CSV: SUCCEEDED", 60, seen)
        (drop / "notes.txt").write_bytes(b"call the bank about March\n")
        _wait_for(lines, r"uploads/drop/notes\.txt: stored, not ingested: not a sales export", 60, seen)
        keys = json.dumps(json.loads(_OPENER.open(base + "/imports", timeout=10).read()))
        assert "uploads/drop/MARCH.CSV" in keys and "notes.txt" not in keys

        # make reconcile reaches the running demo through the state file.
        reconcile = subprocess.run(
            [sys.executable, "-m", "devtools.reconcile", "--state-file", str(state)],
            cwd=ROOT,
            env=demo_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if (ROOT / "functions/ingest/reconcile_handler.py").exists():
            assert reconcile.returncode == 0, reconcile.stderr
            json.loads(reconcile.stdout)
        else:
            assert reconcile.returncode == 2 and "reconcile_handler" in reconcile.stderr

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert closed(base)
    assert not state.exists()


def test_demo_answers_within_2s_while_a_long_drop_ingests_and_shows_its_progress(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devtools.demo",
            "--port",
            "0",
            "--lines",
            "300",
            "--seed",
            "3",
            "--drop-folder",
            str(drop),
            "--state-file",
            str(tmp_path / "stack.json"),
        ],
        cwd=ROOT,
        env=demo_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    seen: list[str] = []
    slowest: dict[str, float] = {}
    statuses: set[int] = set()
    stop = threading.Event()

    def probe(base: str) -> None:
        paths = ["/health", "/imports", "/metrics/revenue?start=2025-03-01&end=2025-12-31"]
        while not stop.is_set():
            for path in paths:
                started = time.monotonic()
                with _OPENER.open(base + path, timeout=10) as response:
                    statuses.add(response.status)
                    response.read()
                slowest[path] = max(slowest.get(path, 0.0), time.monotonic() - started)
            time.sleep(0.1)

    try:
        base = _wait_for(lines, r"API: (http://127\.0\.0\.1:\d+)", 120, seen)[1]
        _wait_for(lines, r"watching .* for \*\.csv", 60, seen)
        prober = threading.Thread(target=probe, args=(base,), daemon=True)
        prober.start()
        (drop / "big.csv").write_bytes(export(lines=4000, seed=12))
        progress = _wait_for(
            lines,
            r"ingesting uploads/drop/big\.csv: ([\d,]+) of ~[\d,]+ lines read .*"
            r"([\d,]+) sales written, [\d,]+ sales/s",
            120,
            seen,
        )
        assert int(progress[1].replace(",", "")) > 0
        final = _wait_for(lines, r"import uploads/drop/big\.csv: SUCCEEDED .* lines/s\]", 180, seen)
        assert "4000 rows (4000 ingested, 0 rejected)" in final[0]
        stop.set()
        prober.join(15)
        assert statuses == {200}
        assert slowest and max(slowest.values()) < 2.0, f"slowest answers while ingesting: {slowest}"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    while (line := lines.get(timeout=10)) is not None:
        seen.append(line)
    assert "Traceback" not in "".join(seen)
