"""Schemathesis against the whole local API: gateway (template routes, payload 2.0) -> handlers ->
a moto *server* (real HTTP, as boto3 would talk to AWS), schema from the API's own /swagger.

Positive and negative cases; no answer may be a 5xx, every status must be documented, every body
must match its documented schema and content type, and invalid input must be rejected.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from moto.server import ThreadedMotoServer
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from devtools.gateway import make_server
from salesmetrics.breakdowns import KeyTotals
from salesmetrics.imports import ImportRecord, ImportStatus
from salesmetrics.storage.items import shard_item
from tests.api.conftest import BUCKET, ENV, TABLE, metrics_storage, reset_handlers
from tests.moto_resources import create_resources

pytestmark = pytest.mark.slow

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
MAX_EXAMPLES = 30  # per operation and mode: the suite stays well under a minute on 2 cores
OPERATIONS = [
    ("GET", "/metrics/revenue"),
    ("GET", "/metrics/revenue/daily"),
    ("GET", "/metrics/revenue/series"),
    ("GET", "/metrics/revenue/by/{dimension}"),
    ("GET", "/imports"),
    ("GET", "/imports/{import_id}"),
    ("GET", "/imports/{import_id}/rejects"),
    ("GET", "/imports/{import_id}/changes"),
    ("DELETE", "/imports/{import_id}"),
    ("POST", "/uploads"),
    ("GET", "/health"),
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    negative_data_rejection,
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _seed() -> None:
    table = boto3.resource("dynamodb").Table(TABLE)
    with table.batch_writer() as batch:
        for day in range(1, 29):
            batch.put_item(
                Item={
                    "pk": "DAYS",
                    "sk": f"2025-02-{day:02d}",
                    "rev": 1,
                    "revenue": Decimal("123.455"),
                    "net": Decimal("113.27"),
                    "tax": Decimal("10.185"),
                    "discounts": Decimal("1.5"),
                    "order_count": 3,
                    "order_value": Decimal("133.455"),
                    "refund_count": 1,
                    "refunds": Decimal("-10"),
                    "sales_count": 5,
                }
            )
    client = boto3.client("dynamodb")
    for dimension, keys in (
        ("item", ["Bay hire", "=SUM(A1)", "Mineral Water"]),
        ("location", ["Studio", "(none)"]),
        ("payment_method", ["Visa", "(none)"]),
    ):
        for day in range(1, 29):
            figures = {
                key: KeyTotals(Decimal("12.345") * n, Decimal("1.02"), Decimal(n - 1), n, n)
                for n, key in enumerate(keys, start=1)
            }
            client.put_item(TableName=TABLE, Item=shard_item(dimension, date(2025, 2, day), 0, figures, 1, "now"))
    s3 = boto3.client("s3")
    for n in range(5):  # the rejects files the seeded imports name
        s3.put_object(
            Bucket=BUCKET,
            Key=f"rejects/f{n}.csv",
            Body=b"line,sale_id,reason\r\n",
            ContentType="text/csv; charset=utf-8",
        )
    storage = metrics_storage()
    for n in range(5):
        storage.put_import(
            ImportRecord(
                import_id=f"imp_{n:024x}",
                bucket=BUCKET,
                key=f"uploads/f{n}.csv",
                status=ImportStatus.PARTIAL,
                started_at=f"2025-03-0{n + 1}T00:00:00.000Z",
                rows_total=10,
                rows_ingested=9,
                rows_rejected=1,
                finished_at="2025-03-01T00:00:01.000Z",
                rejects_key=f"rejects/f{n}.csv",
            )
        )


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    """moto server + local gateway on free 127.0.0.1 ports, the table and bucket created."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    moto_server.start()
    host, port = moto_server.get_host_and_port()
    gateway = None
    with pytest.MonkeyPatch.context() as patch:
        for name, value in ENV.items():
            patch.setenv(name, value)
        patch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
        patch.setenv("NO_PROXY", "127.0.0.1,localhost")
        try:
            reset_handlers()
            create_resources(boto3.client("dynamodb"), boto3.client("s3"), table=TABLE, bucket=BUCKET)
            _seed()
            # IAM is not checked locally; requiring the header lets negative cases that drop it
            # get API Gateway's 403 instead of being served.
            gateway = make_server(TEMPLATE, port=0, apply_environment=False, require_authorization_header=True)
            thread = threading.Thread(target=gateway.serve_forever, daemon=True)
            thread.start()
            yield gateway.url
        finally:
            if gateway is not None:
                gateway.shutdown()
                gateway.server_close()
            moto_server.stop()
            reset_handlers()


@pytest.fixture(scope="module")
def api_schema(api_url: str) -> Any:
    # /swagger is open (template.yaml); the header only marks the fuzzer's own requests as signed.
    return schemathesis.openapi.from_url(
        f"{api_url}/swagger?format=json", headers={"Authorization": "AWS4-HMAC-SHA256 Credential=local"}
    )


def test_schema_lists_the_operations_fuzzed(api_schema: Any) -> None:
    listed = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    assert listed == set(OPERATIONS)


# Spelled out rather than `schemathesis.pytest.from_fixture(...).parametrize()`: that lazy loader
# sets `request.node._nodeid`, which pytest 9 no longer has (AttributeError at run time).
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_api_conforms_to_its_schema(
    api_schema: Any, api_url: str, method: str, path: str, mode: GenerationMode
) -> None:
    if mode is GenerationMode.NEGATIVE and path == "/health":
        pytest.skip("GET /health takes no input: there is nothing to make invalid")
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(base_url=api_url, checks=CHECKS, timeout=30)

    run()
