"""Exactly-once effect (docs/contract.md): redeliveries, reordering, crashes after any number of writes,
throttling, and concurrent overlapping imports all end with every stored sale at its latest
version and every day aggregate equal to the sum of its stored sales."""

from __future__ import annotations

import io
import json
import random
import threading
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.server import ThreadedMotoServer
from urllib3.response import HTTPResponse

from salesmetrics.events import objects_in
from salesmetrics.imports import ImportStatus
from salesmetrics.storage.aws import AwsStorage
from salesmetrics.storage.base import TransientStorageError, WriteBatch
from tests.ingest.support import (
    T0,
    check_exact,
    corrected,
    export_bytes,
    no_sleep,
    put,
    resorted,
    run_ingestor,
    sample_sales,
)
from tests.moto_resources import create_resources
from tests.reckoning import reckon

BASE = sample_sales(seed=11, lines=160, per_day=10)


def run(storage: AwsStorage, event: dict[str, Any], per_flush: int = 40) -> Any:
    return run_ingestor(storage, event, per_flush)


# -- property: any sequence of uploads, delivered in any order, some more than once --------------

upload = st.tuples(
    st.integers(0, len(BASE) - 1), st.integers(1, len(BASE)), st.integers(0, 6), st.none() | st.integers(0, 3)
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(uploads=st.lists(upload, min_size=1, max_size=4), data=st.data())
def test_any_uploads_in_any_delivery_order_end_exact(
    uploads: list[tuple[int, int, int, int | None]], data: Any
) -> None:
    files: list[bytes] = []
    for start, length, fix, shuffle in uploads:
        part = BASE[start : start + length]
        # `fix` picks which sales this export corrects (amount; for some the date, item, payment or place).
        body = export_bytes(
            [
                corrected(s, Decimal(fix), move_days=(i + fix) % 3 == 0, relabel=(i + fix) % 3)
                if fix and (i + fix) % 4 == 0
                else s
                for i, s in enumerate(part)
            ]
        )
        files.append(resorted(body, seed=shuffle) if shuffle is not None else body)
    deliveries = data.draw(st.permutations(range(len(files))))
    deliveries += data.draw(st.lists(st.sampled_from(range(len(files))), max_size=3))  # redeliveries
    with mock_aws():
        s3 = boto3.client("s3")
        storage = AwsStorage(create_resources(boto3.client("dynamodb"), s3), sleep=no_sleep)
        events = [put(s3, f"uploads/export-{i}.csv", f, T0 + timedelta(seconds=i)) for i, f in enumerate(files)]
        for index in deliveries:
            assert run(storage, events[index]).status == ImportStatus.SUCCEEDED
        check_exact(storage, files)  # upload order decides, whatever the delivery order


# -- crashes ------------------------------------------------------------------------------------


class CrashingStorage(AwsStorage):
    """Dies around the k-th transaction: before it is sent, or after it landed (a timeout)."""

    def __init__(self, table: str, k: int, after_write: bool) -> None:
        super().__init__(table, sleep=no_sleep)
        self.k, self.after_write, self.commits = k, after_write, 0
        self._count = threading.Lock()  # the writer's lanes commit concurrently

    def commit(self, batch: WriteBatch) -> Any:
        if not batch.writes:
            return super().commit(batch)
        with self._count:
            self.commits += 1
            mine = self.commits
        if mine == self.k and not self.after_write:
            raise RuntimeError("crash before write")
        result = super().commit(batch)
        if mine == self.k and self.after_write:
            raise RuntimeError("crash after write")
        return result


@pytest.mark.parametrize("after_write", [False, True], ids=["before", "after"])
@pytest.mark.parametrize("k", [1, 2, 4, 7])
def test_a_crash_after_k_writes_then_a_retry_ends_exact(aws: dict[str, Any], k: int, after_write: bool) -> None:
    base = export_bytes(BASE)
    fix = export_bytes(
        [corrected(s, Decimal(3), move_days=i % 2, relabel=i % 4) if i % 3 == 0 else s for i, s in enumerate(BASE)]
    )
    clean = AwsStorage(aws["table"], sleep=no_sleep)
    run(clean, put(aws["s3"], "uploads/base.csv", base, T0))
    event = put(aws["s3"], "uploads/fix.csv", fix, T0 + timedelta(minutes=1))
    with pytest.raises(RuntimeError, match="crash"):
        run(CrashingStorage(aws["table"], k, after_write), event, per_flush=15)
    (ref,) = objects_in(event)
    from salesmetrics.imports import import_id_for

    interrupted = clean.get_import(import_id_for(ref.bucket, ref.key, ref.version_id, ref.etag))
    assert interrupted is not None and interrupted.status == ImportStatus.IN_PROGRESS
    assert "crash" in interrupted.message
    record = run(clean, event, per_flush=15)  # Lambda's retry
    assert record.status == ImportStatus.SUCCEEDED and record.attempts == 2
    expected_updates = sum(1 for i in range(len(BASE)) if i % 3 == 0)
    # Counts survive the crash: sales written by the first attempt count as what they were.
    assert (record.sales_created, record.sales_updated) == (0, expected_updates)
    check_exact(clean, [base, fix])


# -- a transaction applied whose answer is lost ------------------------------------------------


class LostAnswer:
    """Lets the `k`-th transaction reach DynamoDB (moto's mock applies it), then drops the
    connection before its answer arrives: the client's retry resends the same request."""

    def __init__(self, k: int) -> None:
        self.k, self.sent, self.lost = k, 0, 0
        self.bodies: list[bytes] = []
        self._lock = threading.Lock()

    def __call__(self, request: Any, **kwargs: Any) -> None:
        from botocore.exceptions import ConnectionClosedError
        from moto.core.models import botocore_stubber

        with self._lock:
            self.sent += 1
            self.bodies.append(request.body)
            drop = self.sent == self.k
        if drop:
            botocore_stubber(request=request, **kwargs)  # applied
            self.lost += 1
            raise ConnectionClosedError(endpoint_url=request.url)


@pytest.mark.parametrize("k", [1, 3, 6])
def test_a_transaction_applied_whose_answer_was_lost_is_resent_and_ends_exact(aws: dict[str, Any], k: int) -> None:
    base = export_bytes(BASE)
    fix = export_bytes([corrected(s, Decimal(3), move_days=i % 2) if i % 3 == 0 else s for i, s in enumerate(BASE)])
    clean = AwsStorage(aws["table"], sleep=no_sleep)
    run(clean, put(aws["s3"], "uploads/base.csv", base, T0))
    storage = AwsStorage(aws["table"], sleep=no_sleep)
    lost = LostAnswer(k)
    storage.client.meta.events.register("before-send.dynamodb.TransactWriteItems", lost)
    record = run(storage, put(aws["s3"], "uploads/fix.csv", fix, T0 + timedelta(minutes=1)), per_flush=15)
    assert lost.lost == 1  # DynamoDB applied it once; the resend of the same request changed nothing
    # The client's retry sent the same items and token once more (lanes may interleave others).
    assert lost.bodies.count(lost.bodies[k - 1]) == 2
    assert record.status == ImportStatus.SUCCEEDED and record.attempts == 1
    assert (record.sales_created, record.sales_updated) == (0, sum(1 for i in range(len(BASE)) if i % 3 == 0))
    check_exact(clean, [base, fix])


# -- throttling and unprocessed items ------------------------------------------------------------


def _answer(request: Any, status: int, body: dict[str, Any]) -> AWSResponse:
    raw = HTTPResponse(body=io.BytesIO(json.dumps(body).encode()), status=status, preload_content=False)
    headers = HTTPHeaders()
    headers["x-amzn-RequestId"] = "flaky"
    return AWSResponse(request.url, status, headers, raw)


class FlakyClient:
    """Throttles and cancels transactions (answered as DynamoDB would, in place of the server)
    and leaves batch-get keys unprocessed, at a seeded rate."""

    def __init__(self, real: Any, rng: random.Random, rate: float) -> None:
        self.real, self.rng, self.rate = real, rng, rate
        self.faults = 0
        self._hooked: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def hook(self, client: Any) -> None:
        self.real = client
        if self._hooked is not client:
            client.meta.events.register("before-send.dynamodb.TransactWriteItems", self._transaction)
            self._hooked = client

    def _transaction(self, request: Any, **_: Any) -> AWSResponse | None:
        if self.rng.random() >= self.rate:
            return None
        self.faults += 1
        prefix = "com.amazonaws.dynamodb.v20120810#"
        if self.rng.random() < 0.5:
            throttled = {"__type": prefix + "ProvisionedThroughputExceededException", "message": "slow"}
            return _answer(request, 400, throttled)
        reasons: list[dict[str, Any]] = [{"Code": "None"} for _ in json.loads(request.body)["TransactItems"]]
        refused = self.rng.choice(["ThrottlingError", "TransactionConflict"])
        reasons[self.rng.randrange(len(reasons))] = {"Code": refused}
        cancelled: dict[str, Any] = {"__type": prefix + "TransactionCanceledException", "message": "cancelled"}
        cancelled["CancellationReasons"] = reasons
        return _answer(request, 400, cancelled)

    def batch_get_item(self, **kwargs: Any) -> Any:
        ((table, request),) = kwargs["RequestItems"].items()
        keys = request["Keys"]
        if len(keys) > 1 and self.rng.random() < self.rate:
            self.faults += 1
            half = len(keys) // 2
            response = self.real.batch_get_item(RequestItems={table: {**request, "Keys": keys[:half]}})
            response["UnprocessedKeys"] = {table: {**request, "Keys": keys[half:]}}
            return response
        return self.real.batch_get_item(**kwargs)


class FlakyStorage(AwsStorage):
    def __init__(self, table: str, rate: float, seed: int) -> None:
        super().__init__(table, sleep=no_sleep)
        self.flaky = FlakyClient(None, random.Random(seed), rate)

    @property
    def client(self) -> Any:
        self.flaky.hook(self.table.meta.client)
        return self.flaky


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_throttling_and_unprocessed_keys_are_retried_and_end_exact(aws: dict[str, Any], seed: int) -> None:
    base, copy = export_bytes(BASE), export_bytes(BASE[40:])
    fix = export_bytes([corrected(s) if i % 5 == 0 else s for i, s in enumerate(BASE[:90])])
    storage = FlakyStorage(aws["table"], rate=0.4, seed=seed)
    for i, (key, body) in enumerate([("a", base), ("b", copy), ("c", fix)]):
        assert run(storage, put(aws["s3"], f"uploads/{key}.csv", body, T0 + timedelta(minutes=i))).status == "SUCCEEDED"
    assert storage.flaky.faults > 0
    check_exact(storage, [base, copy, fix])


def test_persistent_throttling_raises_for_a_retry_and_the_retry_ends_exact(aws: dict[str, Any]) -> None:
    data = export_bytes(BASE)
    event = put(aws["s3"], "uploads/a.csv", data, T0)
    with pytest.raises(TransientStorageError):
        run(FlakyStorage(aws["table"], rate=1.0, seed=0), event)
    clean = AwsStorage(aws["table"], sleep=no_sleep)
    assert run(clean, event).status == ImportStatus.SUCCEEDED
    check_exact(clean, [data])


# -- concurrency: overlapping files ingested at the same time, against a moto server ------------


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.parametrize("seed", [21, 22])
def test_concurrent_overlapping_imports_end_exact(moto_server: str, seed: int) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"), timeout=10)
    s3 = boto3.client("s3")
    table = create_resources(boto3.client("dynamodb"), s3)
    sales = sample_sales(seed=seed, lines=240, per_day=10)
    third = len(sales) // 3
    files = [
        export_bytes(sales[: 2 * third]),
        export_bytes([corrected(s, Decimal(2), move_days=i % 2) for i, s in enumerate(sales[third:])]),
        export_bytes([corrected(s, Decimal(5)) if i % 2 else s for i, s in enumerate(sales[third // 2 : 2 * third])]),
    ]
    events = [put(s3, f"uploads/c{i}.csv", f, T0 + timedelta(seconds=i)) for i, f in enumerate(files)]
    storages = [AwsStorage(table, backoff_base=0.01) for _ in files]
    for storage in storages:  # boto3 sessions are not thread-safe to create clients from
        _ = storage.table, storage.s3
    results: dict[int, Any] = {}

    def work(i: int) -> None:
        results[i] = run(storages[i], events[i], per_flush=10)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in (2, 0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(t.is_alive() for t in threads), "an import did not finish in time"
    assert all(results[i].status == ImportStatus.SUCCEEDED for i in range(3)), results
    check_exact(storages[0], files)
    assert len(reckon(files).sales) == sum(1 for _ in storages[0].iter_sales())


# -- a deterministic race: another import commits between this import's plan and its commit ------


class RacingStorage(AwsStorage):
    """Runs `race` once, just before the first commit that updates sales it read earlier."""

    def __init__(self, table: str, race: Any) -> None:
        super().__init__(table, sleep=no_sleep)
        self.race = race
        self._once = threading.Lock()

    def commit(self, batch: WriteBatch) -> Any:
        if self.race is not None and any(w.expected is not None for w in batch.writes):
            with self._once:  # the writer's lanes commit concurrently: the race runs once
                race, self.race = self.race, None
            if race is not None:
                race()
        return super().commit(batch)


@pytest.mark.parametrize("racer_is_newer", [True, False], ids=["newer-racer", "older-racer"])
def test_a_sale_changed_between_plan_and_commit_is_replanned(aws: dict[str, Any], racer_is_newer: bool) -> None:
    base = export_bytes(BASE)
    mine = export_bytes([corrected(s, Decimal(1)) for s in BASE])
    theirs = export_bytes([corrected(s, Decimal(7), move_days=1) for s in BASE])
    clean = AwsStorage(aws["table"], sleep=no_sleep)
    run(clean, put(aws["s3"], "uploads/base.csv", base, T0))
    my_event = put(aws["s3"], "uploads/mine.csv", mine, T0 + timedelta(minutes=2))
    their_event = put(aws["s3"], "uploads/theirs.csv", theirs, T0 + timedelta(minutes=3 if racer_is_newer else 1))
    racing = RacingStorage(aws["table"], race=lambda: run(clean, their_event))
    assert run(racing, my_event).status == ImportStatus.SUCCEEDED
    order = [base, mine, theirs] if racer_is_newer else [base, theirs, mine]
    check_exact(clean, order)
