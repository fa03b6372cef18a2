"""The metrics function's settings, and every function's cold start failing on a bad environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from devtools import sourceroots
from salesmetrics.config import ConfigError
from tests.api.conftest import reset_handlers

ROOT = Path(__file__).resolve().parents[2]
PYTHONPATH = sourceroots.pythonpath()
NEEDED = {"TABLE_NAME": "sales", "BUCKET_NAME": "uploads", "RETRACT_FUNCTION_NAME": "sales-ingest:live"}


def metrics_settings(**environ: str) -> Any:
    from metrics_api.settings import MetricsSettings

    return MetricsSettings.from_environ(environ)


def test_metrics_defaults() -> None:
    settings = metrics_settings(**NEEDED, UPLOADS_PREFIX="/in", CURRENCY="", POWERTOOLS_METRICS_DISABLED="true")
    assert (settings.table_name, settings.bucket_name, settings.uploads_prefix, settings.currency) == (
        "sales",
        "uploads",
        "in/",
        "SGD",
    )
    assert (settings.upload_url_ttl_seconds, settings.max_range_days, settings.metrics_enabled) == (900, 3660, False)


def test_metrics_names_every_bad_variable() -> None:
    with pytest.raises(ConfigError) as raised:
        metrics_settings(BUCKET_NAME=" ", UPLOAD_URL_TTL_SECONDS="901", MAX_RANGE_DAYS="a year", CURRENCY="dollars")
    named = [problem.split(" ")[0].rstrip(":") for problem in raised.value.problems]
    assert named == [
        "TABLE_NAME",
        "BUCKET_NAME",
        "RETRACT_FUNCTION_NAME",
        "CURRENCY",
        "UPLOAD_URL_TTL_SECONDS",
        "MAX_RANGE_DAYS",
    ]
    assert "TABLE_NAME is not set" in str(raised.value) and "BUCKET_NAME is not set" in str(raised.value)


def test_the_range_limit_is_the_configured_one(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_RANGE_DAYS", "31")
    reset_handlers()
    start = date(2025, 3, 1)
    for path in ("/metrics/revenue", "/metrics/revenue/daily"):
        ok = client.get(path, {"start": start.isoformat(), "end": (start + timedelta(days=30)).isoformat()})
        assert ok.status == 200, ok.text
        refused = client.get(path, {"start": start.isoformat(), "end": (start + timedelta(days=31)).isoformat()})
        assert refused.status == 400 and refused.json()["errors"][0]["parameter"] == "end"
        assert "at most 31" in refused.json()["message"]


COLD_STARTS = """
import json, os, sys
from salesmetrics.config import ConfigError, get_settings
failures = {}
def cold_start(module):
    get_settings.cache_clear()
    try:
        __import__(module)
    except ConfigError as exc:
        failures[module] = str(exc)
for module in ("metrics_handler", "health_handler", "ingest_handler"):
    cold_start(module)
os.environ["TABLE_NAME"] = "sales"  # the re-drive also imports the ingest function's code
cold_start("redrive_handler")
print(json.dumps(failures))
"""


def test_a_bad_environment_fails_each_functions_cold_start_naming_the_variable() -> None:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("TABLE_NAME", "BUCKET_NAME", "DLQ_URL", "MAX_RANGE_DAYS", "RETRACT_FUNCTION_NAME")
    }
    env.update(PYTHONPATH=PYTHONPATH, MAX_RANGE_DAYS="many", POWERTOOLS_SERVICE_NAME="config-test")
    done = subprocess.run(
        [sys.executable, "-c", COLD_STARTS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    failures = json.loads(done.stdout.splitlines()[-1])
    assert failures["metrics_handler"].startswith(
        "metrics function configuration: TABLE_NAME is not set; BUCKET_NAME is not set; "
        "RETRACT_FUNCTION_NAME is not set; MAX_RANGE_DAYS: "
    )
    assert failures["health_handler"] == "health function configuration: TABLE_NAME is not set"
    assert failures["ingest_handler"] == "ingest function configuration: TABLE_NAME is not set"
    assert failures["redrive_handler"] == "re-drive function configuration: DLQ_URL is not set"
