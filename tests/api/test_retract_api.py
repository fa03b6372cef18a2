"""Undo an upload through the API on moto: GET /imports/{id}/changes and DELETE /imports/{id}, and
the S3 removal events (a delete marker, a version deleted) the ingest function retracts on.

The wrong upload here is the issue's: a second export that corrects some sales (other totals,
other dates), repeats others unchanged and adds new ones. Afterwards every figure must be the
first export's alone, to the cent, by the independent reckoner (tests/reckoning.py).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from devtools.s3events import build_put_event
from salesmetrics.imports import import_id_for
from tests.api.conftest import BUCKET, ApiClient, fake_context
from tests.ingest.support import corrected, export_bytes, sample_sales
from tests.reckoning import cents, reckon

T0 = datetime(2025, 4, 20, 9, 0, tzinfo=UTC)
BASE = sample_sales(seed=23, lines=80, per_day=6)
FIRST = export_bytes(BASE[:30])
# Sales 20..29 again (every third corrected, some moved a day), and 30..44 new.
WRONG = export_bytes(
    [corrected(s, Decimal(2), move_days=i % 2) if i % 3 == 0 else s for i, s in enumerate(BASE[20:45])]
)


def _put(aws: dict[str, Any], key: str, data: bytes, when: datetime) -> tuple[dict[str, Any], str]:
    put = aws["s3"].put_object(Bucket=BUCKET, Key=key, Body=data)
    event = build_put_event(
        bucket=BUCKET, key=key, size=len(data), etag=put["ETag"].strip('"'), version_id=put["VersionId"], when=when
    )
    return event, import_id_for(BUCKET, key, put["VersionId"], put["ETag"].strip('"'))


def _removed(key: str, version_id: str, *, marker: bool) -> dict[str, Any]:
    name = "ObjectRemoved:DeleteMarkerCreated" if marker else "ObjectRemoved:Delete"
    return build_put_event(bucket=BUCKET, key=key, size=0, etag="", version_id=version_id, event_name=name)


@pytest.fixture
def ingest(aws: dict[str, Any]) -> Any:
    ingest_handler = pytest.importorskip("ingest_handler")
    ingest_handler.reset()
    yield ingest_handler
    ingest_handler.reset()


@pytest.fixture
def uploaded(aws: dict[str, Any], ingest: Any) -> dict[str, str]:
    """The first export, then the wrong one, ingested; their import ids."""
    ids = {}
    for n, (name, data) in enumerate((("first", FIRST), ("wrong", WRONG))):
        event, import_id = _put(aws, f"uploads/2025/04/20/{name}.csv", data, T0 + timedelta(minutes=n))
        result = ingest.handler(event, fake_context("IngestFunction"))
        assert [i["status"] for i in result["imports"]] == ["SUCCEEDED"], result
        ids[name] = import_id
    return ids


@pytest.fixture
def retractions(monkeypatch: pytest.MonkeyPatch, ingest: Any) -> list[dict[str, Any]]:
    """What DELETE asks Lambda to run: recorded, then run by the ingest function as Lambda would."""
    from metrics_api import retractions as module

    started: list[dict[str, Any]] = []
    monkeypatch.setattr(module, "start", lambda import_id: started.append(module.retract_event(import_id)))
    return started


def _all_changes(client: ApiClient, import_id: str, limit: int) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    token = None
    for _ in range(100):
        reply = client.get(
            f"/imports/{import_id}/changes", {"limit": limit, **({"next_token": token} if token else {})}
        )
        assert reply.status == 200, reply.text
        body = reply.json()
        assert body["import_id"] == import_id
        changes += body["changes"]
        token = body["next_token"]
        if token is None:
            return changes
    raise AssertionError("pagination did not end")


def _money(value: Decimal) -> str:
    text = format(cents(value), "f")
    return "0.00" if text == "-0.00" else text


def _assert_figures_are(client: ApiClient, files: list[bytes]) -> None:
    truth = reckon(files)
    start, end = date(2025, 2, 1), date(2025, 5, 31)
    revenue = client.get("/metrics/revenue", {"start": start.isoformat(), "end": end.isoformat()}).json()
    want = truth.range(start, end)
    assert revenue["total_revenue_sgd"] == _money(want.total_revenue)
    assert revenue["order_count"] == want.order_count
    assert revenue["refund_count"] == want.refund_count
    daily = client.get("/metrics/revenue/daily", {"start": start.isoformat(), "end": end.isoformat()}).json()
    got = {d["date"]: d["revenue_sgd"] for d in daily["days"]}
    assert got == {d.day.isoformat(): _money(d.revenue) for d in truth.daily(start, end)}
    by_item = client.get("/metrics/revenue/by/item", {"start": start.isoformat(), "end": end.isoformat(), "limit": 100})
    rows = {r["key"]: r["revenue_sgd"] for r in by_item.json()["rows"]}
    assert rows == {k: _money(v.revenue) for k, v in truth.breakdown("item", start, end).items()}


def test_changes_list_every_sale_the_upload_created_or_updated_with_what_it_was_before(
    client: ApiClient, uploaded: dict[str, str]
) -> None:
    first = {s.sale_id: s for s in reckon([FIRST]).sales.values()}
    wrong = reckon([WRONG]).sales
    expected: list[tuple[str, str, str, str | None, str, str | None]] = []
    for sale_id, sale in wrong.items():
        before = first.get(sale_id)
        if before is None:
            expected.append((sale_id, "created", sale.day.isoformat(), None, _money(sale.total), None))
        elif (before.day, before.total) != (sale.day, sale.total):
            expected.append(
                (
                    sale_id,
                    "updated",
                    sale.day.isoformat(),
                    before.day.isoformat(),
                    _money(sale.total),
                    _money(before.total),
                )
            )
    changes = _all_changes(client, uploaded["wrong"], limit=4)
    got = [
        (c["sale_id"], c["change"], c["sale_date"], c["previous_sale_date"], c["total_sgd"], c["previous_total_sgd"])
        for c in changes
    ]
    assert sorted(got) == sorted(expected)
    assert len(got) == len(set(got))  # no sale on two pages
    assert any(c == "updated" for _, c, *_ in got) and any(c == "created" for _, c, *_ in got)
    # The sales it repeated unchanged are not listed.
    assert len(got) < len(wrong)


def test_changes_of_an_unknown_import_is_404(client: ApiClient) -> None:
    reply = client.get("/imports/imp_000000000000000000000000/changes")
    assert reply.status == 404
    assert "imp_000000000000000000000000" in reply.json()["message"]


@pytest.mark.parametrize(
    "token",
    ["not-a-token", base64.urlsafe_b64encode(b'{"p":-1,"l":0}').decode(), base64.urlsafe_b64encode(b"[1]").decode()],
)
def test_a_bad_next_token_of_changes_is_a_400_naming_it(
    client: ApiClient, uploaded: dict[str, str], token: str
) -> None:
    reply = client.get(f"/imports/{uploaded['wrong']}/changes", {"next_token": token})
    assert reply.status == 400
    assert "next_token" in reply.json()["message"]


def test_delete_retracts_the_wrong_upload_and_every_figure_is_the_first_exports_alone(
    client: ApiClient, uploaded: dict[str, str], retractions: list[dict[str, Any]], ingest: Any
) -> None:
    _assert_figures_are(client, [FIRST, WRONG])
    wrong = uploaded["wrong"]
    reply = client.send(client.event("DELETE", f"/imports/{wrong}"))
    assert reply.status == 202, reply.text
    assert reply.json()["status"] == "RETRACTING"
    assert retractions == [{"retract": {"import_id": wrong}}]
    ingest.handler(retractions[0], fake_context("IngestFunction"))  # what Lambda runs, asynchronously
    record = client.get(f"/imports/{wrong}").json()
    assert record["status"] == "RETRACTED"
    assert record["retracted_at"]
    new_sales = set(reckon([WRONG]).sales) - set(reckon([FIRST]).sales)
    assert record["sales_removed"] == len(new_sales)
    assert record["sales_restored"] == len(set(reckon([WRONG]).sales) & set(reckon([FIRST]).sales))
    _assert_figures_are(client, [FIRST])
    listed = client.get("/imports").json()["imports"]
    assert wrong in {r["import_id"] for r in listed}  # it stays listed


def test_retracting_twice_is_retracting_once(
    client: ApiClient, uploaded: dict[str, str], retractions: list[dict[str, Any]], ingest: Any
) -> None:
    wrong = uploaded["wrong"]
    client.send(client.event("DELETE", f"/imports/{wrong}"))
    ingest.handler(retractions[0], fake_context("IngestFunction"))
    ingest.handler(retractions[0], fake_context("IngestFunction"))  # a redelivery of the invocation
    again = client.send(client.event("DELETE", f"/imports/{wrong}"))
    assert again.status == 200
    assert again.json()["status"] == "RETRACTED"
    assert len(retractions) == 1  # nothing more to run
    _assert_figures_are(client, [FIRST])


def test_retracting_the_first_upload_keeps_what_the_later_one_says(
    client: ApiClient, uploaded: dict[str, str], retractions: list[dict[str, Any]], ingest: Any
) -> None:
    client.send(client.event("DELETE", f"/imports/{uploaded['first']}"))
    ingest.handler(retractions[0], fake_context("IngestFunction"))
    _assert_figures_are(client, [WRONG])


def test_delete_of_an_unknown_import_is_404(client: ApiClient, retractions: list[dict[str, Any]]) -> None:
    reply = client.send(client.event("DELETE", "/imports/imp_000000000000000000000000"))
    assert reply.status == 404
    assert retractions == []


def test_delete_of_an_import_still_being_ingested_is_409(
    client: ApiClient, aws: dict[str, Any], retractions: list[dict[str, Any]]
) -> None:
    from salesmetrics.imports import ImportRecord, ImportStatus

    record = ImportRecord("imp_running", BUCKET, "uploads/x.csv", ImportStatus.IN_PROGRESS, "2025-04-20T09:00:00Z")
    aws["storage"].put_import(record)
    reply = client.send(client.event("DELETE", "/imports/imp_running"))
    assert reply.status == 409
    assert "still being ingested" in reply.json()["message"]
    assert retractions == []


def test_deleting_the_file_retracts_its_import(
    client: ApiClient, aws: dict[str, Any], uploaded: dict[str, str], ingest: Any
) -> None:
    key = "uploads/2025/04/20/wrong.csv"
    marker = aws["s3"].delete_object(Bucket=BUCKET, Key=key)  # `aws s3 rm`: a delete marker
    assert marker["DeleteMarker"]
    result = ingest.handler(_removed(key, marker["VersionId"], marker=True), fake_context("IngestFunction"))
    assert [r["import_id"] for r in result["retracted"]] == [uploaded["wrong"]]
    assert client.get(f"/imports/{uploaded['wrong']}").json()["status"] == "RETRACTED"
    _assert_figures_are(client, [FIRST])


def test_deleting_a_version_for_good_retracts_that_versions_import(
    client: ApiClient, aws: dict[str, Any], uploaded: dict[str, str], ingest: Any
) -> None:
    key = "uploads/2025/04/20/first.csv"
    [version] = [v["VersionId"] for v in aws["s3"].list_object_versions(Bucket=BUCKET, Prefix=key)["Versions"]]
    aws["s3"].delete_object(Bucket=BUCKET, Key=key, VersionId=version)
    result = ingest.handler(_removed(key, version, marker=False), fake_context("IngestFunction"))
    assert [r["import_id"] for r in result["retracted"]] == [uploaded["first"]]
    _assert_figures_are(client, [WRONG])
    # Re-delivered, the removal finds the import retracted already: nothing changes.
    ingest.handler(_removed(key, version, marker=False), fake_context("IngestFunction"))
    _assert_figures_are(client, [WRONG])


def test_a_retracted_upload_delivered_again_is_not_ingested_again(
    client: ApiClient, aws: dict[str, Any], uploaded: dict[str, str], retractions: list[dict[str, Any]], ingest: Any
) -> None:
    wrong = uploaded["wrong"]
    client.send(client.event("DELETE", f"/imports/{wrong}"))
    ingest.handler(retractions[0], fake_context("IngestFunction"))
    ingest.reset()  # a cold start: no idempotency record cached in memory
    aws["table_resource"].delete_item(Key={"pk": "IDEMPOTENCY#ingest", "sk": _idempotency_sk(aws)})
    versions = aws["s3"].list_object_versions(Bucket=BUCKET, Prefix="uploads/2025/04/20/wrong.csv")["Versions"]
    event = build_put_event(
        bucket=BUCKET,
        key="uploads/2025/04/20/wrong.csv",
        size=len(WRONG),
        etag=versions[0]["ETag"].strip('"'),
        version_id=versions[0]["VersionId"],
        when=T0 + timedelta(minutes=1),
    )
    result = ingest.handler(event, fake_context("IngestFunction"))
    assert [i["status"] for i in result["imports"]] == ["RETRACTED"]
    _assert_figures_are(client, [FIRST])


def _idempotency_sk(aws: dict[str, Any]) -> str:
    """The idempotency record of the wrong upload's event (the one written last)."""
    items = aws["table_resource"].query(
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": "IDEMPOTENCY#ingest"}
    )["Items"]
    records = [i for i in items if json.loads(i.get("data", "{}")).get("key", "").endswith("wrong.csv")]
    assert len(records) == 1
    return str(records[0]["sk"])
