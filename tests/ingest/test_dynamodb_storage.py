"""AwsStorage's requests: valid for DynamoDB's model, bodies as botocore would write them,
conflicts read from either item shape, and tables holding earlier-shaped sales kept exact."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError
from botocore.validate import validate_parameters
from urllib3.response import HTTPResponse

from salesmetrics.imports import ImportStatus
from salesmetrics.reconcile import reconcile
from salesmetrics.sales import DayTotals, Sale, SaleLine, StoredSale
from salesmetrics.storage.aws import AwsStorage
from salesmetrics.storage.base import SaleWrite, TransientStorageError, WriteBatch
from salesmetrics.storage.dynamodb import WireItems, user_agent
from salesmetrics.storage.items import day_update, item_text, sale_item, sale_put, stored_sale
from salesmetrics.storage.transactions import TransactionSender
from tests.earlier_shape import earlier_sale_item
from tests.ingest.support import (
    T0,
    check_exact,
    corrected,
    export_bytes,
    no_sleep,
    put,
    run_ingestor,
    sample_sales,
)

BASE = sample_sales(seed=5, lines=120, per_day=10)


def run(storage: AwsStorage, event: dict[str, Any], per_flush: int = 30) -> Any:
    return run_ingestor(storage, event, per_flush)


def validating(storage: AwsStorage) -> Counter[str]:
    """Check every request of the storage's client against DynamoDB's model, as botocore would
    with parameter validation on; count them by operation. A transaction is checked as the body
    sent (its sender writes that body itself, from the items' text)."""
    seen: Counter[str] = Counter()

    def check(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name != "TransactWriteItems":
            validate_parameters(params, model.input_shape)  # raises ParamValidationError
            seen[model.name] += 1

    def check_body(params: dict[str, Any], model: Any, **_: Any) -> None:
        validate_parameters(json.loads(params["body"]), model.input_shape)
        seen[model.name] += 1

    events = storage.client.meta.events
    events.register_first("provide-client-params.dynamodb", check)
    events.register("before-call.dynamodb.TransactWriteItems", check_body)  # after the body is whole
    return seen


def test_every_request_the_storage_sends_is_valid_for_dynamodb(aws: dict[str, Any]) -> None:
    storage = AwsStorage(aws["table"], sleep=no_sleep)
    seen = validating(storage)
    base = export_bytes(BASE)
    fix = export_bytes([corrected(s, Decimal(2), move_days=i % 2) if i % 2 else s for i, s in enumerate(BASE)])
    assert run(storage, put(aws["s3"], "uploads/base.csv", base, T0)).status == ImportStatus.SUCCEEDED
    assert run(storage, put(aws["s3"], "uploads/fix.csv", fix, T0 + timedelta(minutes=1))).status == "SUCCEEDED"
    report = reconcile(storage)
    assert report.clean
    day = min(storage.day_totals(date(2025, 1, 1), date(2026, 1, 1)))
    assert storage.replace_day(day, DayTotals(), None) is False  # the day exists: refused
    assert storage.replace_day(day + timedelta(days=900), DayTotals(), None) is True
    records, cursor = storage.list_imports(1, None)
    assert cursor is not None and len(records) == 1
    assert len(storage.list_imports(5, cursor)[0]) == 1
    # The writer reads in bulk only when a cancellation leaves sales unknown (often not, with
    # small lanes): ask directly so the batched read's request is validated too.
    assert len(storage.read_sales([s.sale_id for s in BASE[:120]] + ["no-such-sale"])) == min(120, len(BASE))
    assert {"TransactWriteItems", "BatchGetItem", "GetItem", "PutItem", "Query", "Scan"} <= set(seen), seen


class FakeDynamoDB:
    """Answers the storage's client without any network: records each request's body, target
    and headers, and answers with `answers` in turn - (status, JSON body[, headers]), or an
    exception raised as the HTTP layer would - then `{}`."""

    def __init__(self, storage: Any, answers: list[Any] | None = None) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.headers: list[dict[str, str]] = []
        self.user_agents: list[str] = []
        self.answers = list(answers or [])
        client = storage.client if isinstance(storage, AwsStorage) else storage  # a storage, or a bare client
        events: Any = client.meta.events
        events.register("before-send.dynamodb", self.send)

    def send(self, request: Any, **_: Any) -> AWSResponse:
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        self.requests.append((headers["X-Amz-Target"].split(".")[-1], json.loads(request.body)))
        self.headers.append(headers)
        self.user_agents.append(headers["User-Agent"])
        answer = self.answers.pop(0) if self.answers else (200, {})
        if isinstance(answer, Exception):
            raise answer
        status, body, *extra = answer
        raw = HTTPResponse(body=io.BytesIO(json.dumps(body).encode()), status=status, preload_content=False)
        answer_headers = HTTPHeaders()
        answer_headers["x-amzn-RequestId"] = "fake"
        for name, value in (extra[0] if extra else {}).items():
            answer_headers[name] = value
        return AWSResponse(request.url, status, answer_headers, raw)


def _writes(n: int, first: int = 1) -> list[SaleWrite]:
    writes = []
    for i in range(first, first + n):
        line = SaleLine(
            i,
            f'Item {i} "q" é',
            Decimal(1),
            Decimal("10.005"),
            None,
            Decimal("-0"),
            Decimal("0.90"),
            Decimal("10.90"),
            "Cash",
            "Range",
        )
        sale = Sale.build(f"S{i}", date(2025, 3, 1 + i % 3), "C", (line,))
        expected = (
            None
            if i % 2
            else StoredSale(
                sale.sale_id, date(2025, 3, 1), "old", "h", Decimal(1), Decimal(0), Decimal(0), "imp_0", "imp_0"
            )
        )
        writes.append(SaleWrite(sale, f"ver|{i:010d}", "imp_1", "imp_0", expected, "created", sale.content_hash))
    return writes


def test_a_transaction_body_is_what_botocore_itself_would_send(aws: dict[str, Any]) -> None:
    storage = AwsStorage("t", sleep=no_sleep)
    fake = FakeDynamoDB(storage)
    batch = WriteBatch(_writes(60))
    for w in batch.writes:
        batch.day_deltas[w.sale.sale_date] = batch.day_deltas.get(w.sale.sale_date, DayTotals()) + DayTotals.of(
            w.sale.total, w.sale.tax, w.sale.discounts
        )
    assert storage.commit(batch) == {}
    ((operation, sent),) = fake.requests
    assert operation == "TransactWriteItems"
    puts = [entry["Put"] for entry in sent["TransactItems"] if "Put" in entry]
    assert [stored_sale(p["Item"]).sale_id for p in puts] == [w.sale.sale_id for w in batch.writes]
    now = json.loads(puts[0]["Item"]["sale"]["S"])["updated_at"]
    # The items as plain dicts (a Put's text decoded), for botocore's validator and serialiser.
    items = [json.loads(item_text(sale_put("t", w, now))) for w in batch.writes]
    items += [day_update("t", d, t, now) for d, t in sorted(batch.day_deltas.items())]
    client: Any = boto3.client("dynamodb")  # botocore's own serialiser, validation on
    model = client.meta.service_model.operation_model("TransactWriteItems")
    params = {"TransactItems": items, "ClientRequestToken": sent["ClientRequestToken"]}
    validate_parameters(params, model.input_shape)
    expected = json.loads(client._serializer.serialize_to_request(params, model)["body"])
    assert sent == expected


def test_every_request_carries_the_user_agent_made_once() -> None:
    # botocore rebuilds its own User-Agent twice per request (a tenth of a transaction's CPU);
    # set in the client's config, it is sent as made, with botocore's and Powertools' parts after it.
    storage = AwsStorage("t", sleep=no_sleep)
    fake = FakeDynamoDB(storage)
    assert storage.commit(WriteBatch(_writes(3))) == {}
    assert storage.read_sales(["S1"]) == {}
    assert len(fake.user_agents) == 2
    for agent in fake.user_agents:
        assert agent.startswith(user_agent() + " Botocore/")
        assert "ua/2.1" not in agent  # not the string botocore builds per request


def test_wire_items_on_another_client_are_plain_mappings(aws: dict[str, Any]) -> None:
    # A client without this module's hooks (and, like this module's, without validation, which
    # accepts only dicts) serialises them item by item, as it would any mapping.
    storage = AwsStorage(aws["table"], sleep=no_sleep)
    items = WireItems([sale_put(aws["table"], w, "now") for w in _writes(3) if w.expected is None])
    client = boto3.client("dynamodb", config=Config(parameter_validation=False))
    client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
    assert set(storage.read_sales(["S1", "S3"])) == {"S1", "S3"}


def test_a_cancelled_transaction_reports_what_is_stored_in_either_shape() -> None:
    storage = AwsStorage("t", sleep=no_sleep)
    writes = _writes(4)
    compact = sale_item(writes[0], "2025-01-01T00:00:00.000Z")
    earlier = earlier_sale_item(sale_item(writes[2], "2025-01-01T00:00:00.000Z"))
    reasons = [
        {"Code": "ConditionalCheckFailed", "Item": compact},
        {"Code": "None"},
        {"Code": "ConditionalCheckFailed", "Item": earlier},
        {"Code": "ConditionalCheckFailed"},
        {"Code": "None"},
    ]
    fake = FakeDynamoDB(
        storage,
        [
            (
                400,
                {
                    "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                    "message": "cancelled",
                    "CancellationReasons": reasons,
                },
            )
        ],
    )
    batch = WriteBatch(writes, {date(2025, 3, 2): DayTotals.of(Decimal(1), Decimal(0), Decimal(0))})
    conflicts = storage.commit(batch)
    assert len(fake.requests) == 1
    assert conflicts == {"S1": stored_sale(compact), "S3": stored_sale(earlier), "S4": None}
    assert conflicts["S3"] == StoredSale(
        "S3",
        writes[2].sale.sale_date,
        "ver|0000000003",
        writes[2].content_hash,
        Decimal("10.90"),
        Decimal("0.90"),
        Decimal("-0"),
        "imp_1",
        "imp_0",
        "created",
        writes[2].sale.lines,
        writes[2].sale.client_id,  # read too: a retraction rewrites the sale from what is stored
    )


def test_throttled_transactions_are_resent_with_the_same_body_and_token() -> None:
    storage = AwsStorage("t", sleep=no_sleep)
    throttled = (400, {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "slow"})
    fake = FakeDynamoDB(storage, [throttled] * 6)
    assert storage.commit(WriteBatch(_writes(5))) == {}
    bodies = [body for op, body in fake.requests if op == "TransactWriteItems"]
    # The client's retries (5 attempts: `max_attempts` 4 is four retries) send the same request;
    # then the storage's own retry sends a new one, with a new token.
    assert len(bodies) == 7 and all(b == bodies[0] for b in bodies[:5])
    assert bodies[5]["ClientRequestToken"] != bodies[0]["ClientRequestToken"]
    assert all(len(b["TransactItems"]) == 5 for b in bodies)


def test_a_lost_connection_resends_the_same_transaction_and_token() -> None:
    # The first request may have been applied: only the same token lets DynamoDB tell.
    storage = AwsStorage("t", sleep=no_sleep)
    lost = ConnectionClosedError(endpoint_url="https://dynamodb")
    fake = FakeDynamoDB(storage, [EndpointConnectionError(endpoint_url="https://dynamodb"), lost])
    assert storage.commit(WriteBatch(_writes(5))) == {}
    bodies = [body for op, body in fake.requests]
    assert len(bodies) == 3 and bodies[0] == bodies[1] == bodies[2]
    # botocore's own retry headers: one invocation, numbered attempts (AWS correlates them).
    assert [h["amz-sdk-request"].split(";")[0] for h in fake.headers] == ["attempt=1", "attempt=2", "attempt=3"]
    assert len({h["amz-sdk-invocation-id"] for h in fake.headers}) == 1


def test_a_connection_that_keeps_failing_fails_the_commit_after_the_clients_attempts() -> None:
    storage = AwsStorage("t", sleep=no_sleep)
    fake = FakeDynamoDB(storage, [ConnectionClosedError(endpoint_url="https://dynamodb")] * 8)
    failed: list[BaseException] = []
    storage.client.meta.events.register(
        "after-call-error.dynamodb.TransactWriteItems", lambda exception, **_: failed.append(exception)
    )
    with pytest.raises(ConnectionClosedError):
        storage.commit(WriteBatch(_writes(5)))
    assert storage.client.meta.config.retries["total_max_attempts"] == 5
    assert len(fake.requests) == 5  # one request and the four retries the client is configured for
    assert len(failed) == 1 and isinstance(failed[0], ConnectionClosedError)


def test_the_clients_retry_quota_stops_retries_in_an_outage() -> None:
    # A DynamoDB that keeps failing: the client's retry quota (botocore's standard mode: 500
    # tokens, 5 a retry) is shared by every transaction; once spent, each is tried once.
    storage = AwsStorage("t", max_attempts=1, sleep=no_sleep)
    failing = (500, {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "down"})
    fake = FakeDynamoDB(storage, [failing] * 1000)
    for _ in range(40):
        with pytest.raises(TransientStorageError):
            storage.commit(WriteBatch(_writes(1)))
    assert len(fake.requests) == 25 * 5 + 15  # 25 transactions x 5 attempts spend the 500 tokens


def test_an_answer_that_fails_its_checksum_is_asked_again() -> None:
    storage = AwsStorage("t", sleep=no_sleep)
    fake = FakeDynamoDB(storage, [(200, {}, {"x-amz-crc32": "1"})])
    assert storage.commit(WriteBatch(_writes(2))) == {}
    assert len(fake.requests) == 2


def test_a_transaction_is_signed_sent_to_the_clients_endpoint_and_seen_by_its_hooks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # In Lambda, botocore's recursion detection forwards the trace header: kept on this path.
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ingest")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-00000000-000000000000000000000001")
    storage = AwsStorage("t", sleep=no_sleep)
    fake = FakeDynamoDB(storage)
    seen: list[tuple[str, int]] = []
    events = storage.client.meta.events
    events.register("before-call.dynamodb", lambda model, params, **_: seen.append((model.name, len(params["body"]))))
    events.register(
        "after-call.dynamodb", lambda model, http_response, **_: seen.append((model.name, http_response.status_code))
    )
    assert storage.commit(WriteBatch(_writes(3))) == {}
    (headers,) = fake.headers
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert "/us-east-1/dynamodb/aws4_request" in headers["Authorization"] and headers["X-Amz-Date"]
    assert headers["X-Amzn-Trace-Id"] == "Root=1-00000000-000000000000000000000001"
    assert headers["Content-Type"] == "application/x-amz-json-1.0"
    assert seen[0][0] == "TransactWriteItems" and seen[0][1] > 1000 and seen[1] == ("TransactWriteItems", 200)


def test_a_client_of_another_protocol_sends_through_its_own_call() -> None:
    # Should botocore move DynamoDB to another protocol, the body written here would be wrong.
    cbor = SimpleNamespace(meta=SimpleNamespace(service_model=SimpleNamespace(protocol="smithy-rpc-v2-cbor")))
    assert TransactionSender.for_client(cbor) is None
    assert TransactionSender.for_client(boto3.client("dynamodb")) is not None
    required = boto3.client("dynamodb", config=Config(account_id_endpoint_mode="required"))
    assert TransactionSender.for_client(required) is None  # the sender sends to the regional endpoint


# legacy: DynamoDB's own 10 attempts in botocore's legacy retry config; standard: its default 3.
@pytest.mark.parametrize(("retries", "attempts"), [({"mode": "legacy"}, 10), ({"mode": "standard"}, 3)])
def test_the_sender_retries_as_the_clients_config_says(retries: dict[str, Any], attempts: int) -> None:
    client = boto3.client("dynamodb", config=Config(retries=retries))
    sender = TransactionSender.for_client(client)
    assert sender is not None
    fake = FakeDynamoDB(client, [ConnectionClosedError(endpoint_url="https://dynamodb")] * 12)
    with pytest.raises(ConnectionClosedError):
        sender.send([sale_put("t", _writes(1)[0], "now")])
    assert len(fake.requests) == attempts


def test_sales_stored_in_the_earlier_shape_are_updated_and_reconciled_exactly(aws: dict[str, Any]) -> None:
    storage = AwsStorage(aws["table"], sleep=no_sleep)
    base = export_bytes(BASE)
    assert run(storage, put(aws["s3"], "uploads/base.csv", base, T0)).status == ImportStatus.SUCCEEDED
    # What a table deployed before the compact item holds: every sale in the earlier shape.
    ddb, table = aws["ddb"], aws["table"]
    stored_before = {}
    for page in ddb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            if item["sk"]["S"] == "SALE":
                stored_before[item["pk"]["S"][5:]] = stored_sale(item)
                ddb.put_item(TableName=table, Item=earlier_sale_item(item))
    assert storage.read_sales(list(stored_before)) == stored_before
    assert reconcile(storage).clean
    fix = export_bytes([corrected(s, Decimal(3), move_days=i % 2) if i % 3 == 0 else s for i, s in enumerate(BASE)])
    record = run(storage, put(aws["s3"], "uploads/fix.csv", fix, T0 + timedelta(minutes=5)))
    assert record.status == ImportStatus.SUCCEEDED
    assert record.sales_updated == sum(1 for i in range(len(BASE)) if i % 3 == 0)
    check_exact(storage, [base, fix])
