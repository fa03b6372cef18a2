"""devtools/workers.py: functions run the way Lambda runs them — one invocation per warm worker
process at a time, more workers on demand up to a bound, timeouts and errors as Lambda reports
them — and, on the real template, the ingest reporting its progress and the drop folder warning
when a file replaced many sales of another."""

from __future__ import annotations

import io
import logging
import os
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.dropfolder import ingest_file, replaced_sales
from devtools.gateway import build_event
from devtools.localaws import LocalAws
from devtools.s3events import upload_and_notify
from devtools.samplegen import generate_export, generate_sales
from devtools.template import Template
from devtools.workers import FunctionError, WorkerPool, WorkerStartError

ROOT = Path(__file__).resolve().parents[1]

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.13, Timeout: 3, MemorySize: 128}
Resources:
  SlowFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: code
      Handler: probe_handler.handler
      Environment: {Variables: {ONLY_SLOW: "yes"}}
  FastFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: code, Handler: probe_handler.handler}
  BrokenFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: code, Handler: broken_handler.handler}
"""

PROBE_HANDLER = """\
import os
import time


def handler(event, context):
    if event.get("raise"):
        raise ValueError(event["raise"])
    time.sleep(event.get("sleep", 0))
    return {"pid": os.getpid(), "only_slow": os.environ.get("ONLY_SLOW"),
            "request_id": context.aws_request_id, "remaining_ms": context.get_remaining_time_in_millis(),
            "function_name": context.function_name}
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    root = tmp_path_factory.mktemp("workers")
    (root / "code").mkdir()
    (root / "code" / "probe_handler.py").write_text(PROBE_HANDLER, encoding="utf-8")
    (root / "code" / "broken_handler.py").write_text("import no_such_module_anywhere\n", encoding="utf-8")
    (root / "template.yaml").write_text(textwrap.dedent(TEMPLATE), encoding="utf-8")
    return Template(root / "template.yaml")


def make_pool(template: Template, max_per_function: int) -> WorkerPool:
    def environment(logical_id: str) -> dict[str, str]:
        return {"PATH": os.environ.get("PATH", ""), **template.function(logical_id).environment}

    return WorkerPool(template.function, environment, max_per_function=max_per_function)


@pytest.fixture
def pool(template: Template) -> Iterator[WorkerPool]:
    pool = make_pool(template, max_per_function=2)
    yield pool
    pool.close()


def _concurrently(pool: WorkerPool, logical_id: str, events: list[dict[str, Any]]) -> list[Any]:
    results: list[Any] = [None] * len(events)

    def run(index: int) -> None:
        results[index] = pool.invoke(logical_id, events[index])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(events))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_concurrent_invocations_each_get_a_worker_of_their_own(pool: WorkerPool) -> None:
    pool.warm(["SlowFunction"], count={"SlowFunction": 2})
    started = time.monotonic()
    first, second = _concurrently(pool, "SlowFunction", [{"sleep": 1.5}, {"sleep": 1.5}])
    elapsed = time.monotonic() - started
    assert first["pid"] != second["pid"]
    assert elapsed < 2.9, f"two 1.5 s invocations took {elapsed:.1f}s: they did not run side by side"
    assert pool.counts()["SlowFunction"] == (2, 2)


def test_past_the_bound_an_invocation_waits_for_a_free_worker(template: Template) -> None:
    pool = make_pool(template, max_per_function=1)
    try:
        pool.warm(["SlowFunction"])
        started = time.monotonic()
        first, second = _concurrently(pool, "SlowFunction", [{"sleep": 1.0}, {"sleep": 1.0}])
        assert first["pid"] == second["pid"]  # one worker, one invocation at a time
        assert time.monotonic() - started >= 2.0
        assert pool.counts()["SlowFunction"] == (1, 1)
    finally:
        pool.close()


def test_a_busy_function_does_not_hold_up_another(pool: WorkerPool) -> None:
    pool.warm(["SlowFunction", "FastFunction"])
    slow = threading.Thread(target=pool.invoke, args=("SlowFunction", {"sleep": 2.5}))
    slow.start()
    time.sleep(0.3)
    started = time.monotonic()
    answer = pool.invoke("FastFunction", {})
    assert time.monotonic() - started < 1.0
    assert answer["only_slow"] is None  # FastFunction's worker answered
    slow.join(10)


def test_each_worker_has_its_own_functions_environment_and_context(pool: WorkerPool) -> None:
    slow = pool.invoke("SlowFunction", {}, request_id="req-1")
    fast = pool.invoke("FastFunction", {})
    assert (slow["only_slow"], fast["only_slow"]) == ("yes", None)
    assert slow["request_id"] == "req-1"
    assert 0 < slow["remaining_ms"] <= 3000  # the template's Timeout: 3


def test_an_invocation_past_its_timeout_is_stopped_and_the_next_gets_a_new_worker(pool: WorkerPool) -> None:
    before = pool.invoke("SlowFunction", {})["pid"]
    started = time.monotonic()
    with pytest.raises(FunctionError, match=r"Task timed out after 3\.00 seconds"):
        pool.invoke("SlowFunction", {"sleep": 30})
    assert time.monotonic() - started < 8
    after = pool.invoke("SlowFunction", {})["pid"]
    assert after != before


def test_a_handler_error_fails_only_its_invocation_and_the_worker_stays_warm(pool: WorkerPool) -> None:
    before = pool.invoke("FastFunction", {})["pid"]
    with pytest.raises(FunctionError, match="bad input here") as raised:
        pool.invoke("FastFunction", {"raise": "bad input here"})
    assert type(raised.value).__name__ == "ValueError" and raised.value.error_type == "ValueError"
    assert "probe_handler.py" in raised.value.remote_traceback
    assert pool.invoke("FastFunction", {})["pid"] == before


def test_a_handler_that_cannot_be_imported_fails_at_start(pool: WorkerPool) -> None:
    with pytest.raises(WorkerStartError, match=r"ModuleNotFoundError.*no_such_module_anywhere"):
        pool.warm(["BrokenFunction"])
    assert pool.counts()["BrokenFunction"] == (0, 0)


# --------------------------------------------------------------------------- the real template


@pytest.fixture(scope="module")
def stack_and_pool() -> Iterator[tuple[LocalAws, WorkerPool]]:
    quiet = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}
    with LocalAws(ROOT / "template.yaml", env_overrides=quiet) as stack:
        pool = WorkerPool.for_stack(stack)
        stack.runner = pool.invoke
        try:
            yield stack, pool
        finally:
            stack.runner = None
            pool.close()


@pytest.fixture
def stack(stack_and_pool: tuple[LocalAws, WorkerPool]) -> LocalAws:
    return stack_and_pool[0]


def _export(lines: int, seed: int, **options: Any) -> bytes:
    out = io.BytesIO()
    generate_export(out, lines=lines, seed=seed, **options)
    return out.getvalue()


@pytest.mark.slow
def test_the_real_functions_run_in_workers_and_the_ingest_reports_what_it_read_and_wrote(
    stack_and_pool: tuple[LocalAws, WorkerPool],
) -> None:
    stack, pool = stack_and_pool
    seen: list[tuple[str, dict[str, Any]]] = []
    pool.add_progress_listener(lambda logical_id, _rid, progress, _s: seen.append((logical_id, progress)))
    health = stack.invoke("HealthFunction", build_event("GET", "/health", route_key="GET /health"))
    assert health["statusCode"] == 200, health

    data = _export(400, seed=31)
    notified = upload_and_notify(stack, data, "uploads/workers/progress.csv")
    [invocation] = notified.invocations
    assert invocation.ok, invocation.error
    [record] = invocation.result["imports"]
    final = [p for logical_id, p in seen if logical_id == "IngestFunction" and p.get("done")][-1]
    assert final["objects"] == [f"s3://{stack.bucket().name}/uploads/workers/progress.csv"]
    assert final["reads"] == 2  # Sale IDs first, then every line
    assert final["bytes_read"] == final["object_bytes"] == len(data)
    assert final["lines_read"] == data.count(b"\n")
    assert final["sales_written"] == record["sales_created"] > 0


@pytest.mark.slow
def test_a_file_that_rewrites_another_files_sales_is_warned_about(
    stack: LocalAws, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first_id = int(next(iter(generate_sales(seed=41, lines=1))).sale_id)
    original = tmp_path / "march.csv"
    original.write_bytes(_export(300, seed=41))
    # Another shop's export numbered from the same Sale ID: other sales under the same IDs.
    clash = tmp_path / "other shop.csv"
    clash.write_bytes(_export(300, seed=42, first_sale_id=first_id))
    # The same shop's next export, overlapping the first: the same sales again, nothing replaced.
    overlap = tmp_path / "march again.csv"
    overlap.write_bytes(_export(450, seed=41))

    caplog.set_level(logging.INFO, logger="devtools.drop")
    ingest_file(stack, original, "uploads/drop/march.csv", api_url="http://127.0.0.1:3999")
    ingest_file(stack, overlap, "uploads/drop/march again.csv", api_url="http://127.0.0.1:3999")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

    result = ingest_file(stack, clash, "uploads/drop/other shop.csv", api_url="http://127.0.0.1:3999")
    assert result.record.sales_updated > 100
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    replaced = replaced_sales(stack, result.record)
    assert sum(replaced.values()) == result.record.sales_updated
    assert set(replaced) <= {"uploads/drop/march.csv", "uploads/drop/march again.csv"}
    assert f"uploads/drop/other shop.csv replaced {result.record.sales_updated:,} sales" in warning
    assert "uploads/drop/march" in warning and "--first-sale-id" in warning
    assert f"http://127.0.0.1:3999/imports/{result.record.import_id}" in warning
