"""docs/openapi.json is the document the API serves, and the document states the configured limits.

Each check runs `python -m devtools.openapi` in a fresh process: the metrics function reads its
settings once, at import, so only a new process shows what another configuration would serve.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from devtools import sourceroots

ROOT = Path(__file__).resolve().parents[2]
PYTHONPATH = sourceroots.pythonpath()


def openapi_tool(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": PYTHONPATH}
    return subprocess.run(
        [sys.executable, "-m", "devtools.openapi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_committed_document_is_the_one_the_api_serves() -> None:
    done = openapi_tool("--check")
    assert done.returncode == 0, f"run `make openapi` and commit docs/openapi.json\n{done.stderr}"


def test_the_check_fails_when_the_committed_document_differs(tmp_path: Path) -> None:
    stale: dict[str, Any] = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    stale["paths"].pop("/uploads")
    (tmp_path / "openapi.json").write_text(json.dumps(stale), encoding="utf-8")
    done = openapi_tool("--check", "--output", str(tmp_path / "openapi.json"))
    assert done.returncode == 1
    assert "make openapi" in done.stderr


def test_the_document_states_the_configured_range_limit() -> None:
    done = openapi_tool("--print", "--set", "MAX_RANGE_DAYS=31")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert "at most 31 days" in document["info"]["description"]
    for path in ("/metrics/revenue", "/metrics/revenue/daily"):
        [end] = [p for p in document["paths"][path]["get"]["parameters"] if p["name"] == "end"]
        assert "at most 31 days" in end["description"], path
    assert "3660" not in done.stdout


def test_closed_sets_of_strings_are_enums() -> None:
    schemas = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))["components"]["schemas"]
    assert schemas["ImportStatus"]["enum"] == [
        "IN_PROGRESS",
        "SUCCEEDED",
        "PARTIAL",
        "FAILED",
        "RETRACTING",
        "RETRACTED",
    ]
    assert schemas["ErrorLocation"]["enum"] == ["query", "path", "body", "header"]
    assert schemas["HealthStatus"]["enum"] == ["ok", "unavailable"]
    assert schemas["UploadResponse"]["properties"]["method"]["const"] == "PUT"
