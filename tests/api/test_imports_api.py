"""GET /imports (newest first, paginated) and GET /imports/{import_id}."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from salesmetrics.errors import InvalidCursor
from salesmetrics.imports import ImportRecord, ImportStatus, import_id_for
from tests.api.conftest import BUCKET, metrics_storage

CONTRACT_FIELDS = {
    "import_id",
    "bucket",
    "key",
    "status",
    "rows_total",
    "rows_ingested",
    "rows_rejected",
    "sales_created",
    "sales_updated",
    "sales_unchanged",
    "started_at",
    "finished_at",
    "message",
    "rejects_key",
    "retracted_at",
    "sales_removed",
    "sales_restored",
}


def make_records(count: int) -> list[ImportRecord]:
    records = []
    statuses = [ImportStatus.SUCCEEDED, ImportStatus.PARTIAL, ImportStatus.FAILED, ImportStatus.IN_PROGRESS]
    for n in range(count):
        key = f"uploads/2025/03/{n + 1:02d}/export-{n}.csv"
        status = statuses[n % len(statuses)]
        records.append(
            ImportRecord(
                import_id=import_id_for(BUCKET, key, f"v{n}", f"etag{n}"),
                bucket=BUCKET,
                key=key,
                status=status,
                started_at=f"2025-03-{n + 1:02d}T10:00:00.000Z",
                version_id=f"v{n}",
                etag=f"etag{n}",
                rows_total=100 + n,
                rows_ingested=100 + n - (n % 3),
                rows_rejected=n % 3,
                sales_created=50,
                sales_updated=n,
                sales_unchanged=1,
                finished_at=None if status is ImportStatus.IN_PROGRESS else f"2025-03-{n + 1:02d}T10:00:05.000Z",
                message="" if status is ImportStatus.SUCCEEDED else f"note {n}",
                rejects_key=f"rejects/export-{n}.csv" if n % 3 else None,
            )
        )
    return records


@pytest.fixture
def records(aws: dict[str, Any]) -> list[ImportRecord]:
    made = make_records(7)
    storage = metrics_storage()
    for record in made:
        storage.put_import(record)
    return made


def test_empty_list(client: Any) -> None:
    reply = client.get("/imports")
    assert reply.status == 200
    assert reply.json() == {"imports": [], "next_token": None}


def test_pages_newest_first(client: Any, records: list[ImportRecord]) -> None:
    newest_first = [r.import_id for r in sorted(records, key=lambda r: r.started_at, reverse=True)]
    seen: list[str] = []
    pages = []
    token = None
    while True:
        query = {"limit": 3, **({"next_token": token} if token else {})}
        reply = client.get("/imports", query)
        assert reply.status == 200, reply.text
        body = reply.json()
        pages.append(len(body["imports"]))
        seen += [item["import_id"] for item in body["imports"]]
        token = body["next_token"]
        if token is None:
            break
        assert len(pages) < 10
    assert seen == newest_first
    assert pages[:3] == [3, 3, 1]


def test_default_limit_and_record_shape(client: Any, records: list[ImportRecord]) -> None:
    body = client.get("/imports").json()
    assert len(body["imports"]) == 7 and body["next_token"] is None
    for item in body["imports"]:
        assert set(item) == CONTRACT_FIELDS
    by_id = {r.import_id: r for r in records}
    for item in body["imports"]:
        record = by_id[item["import_id"]]
        assert item["status"] == record.status.value
        assert item["rows_rejected"] == record.rows_rejected
        assert item["rejects_key"] == record.rejects_key
        assert item["finished_at"] == record.finished_at


@pytest.mark.parametrize("limit", ["1", "100"])
def test_limit_bounds_accepted(client: Any, records: list[ImportRecord], limit: str) -> None:
    reply = client.get("/imports", {"limit": limit})
    assert reply.status == 200
    assert len(reply.json()["imports"]) == min(int(limit), 7)


@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1", "1.5", ""])
def test_bad_limit_is_400(offline_client: Any, limit: str) -> None:
    reply = offline_client.get("/imports", {"limit": limit})
    assert reply.status == 400, reply.text
    assert "'limit'" in reply.json()["message"]
    assert reply.json()["errors"][0]["parameter"] == "limit"


def _token(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "!!!",
        _token(["not", "a", "dict"]),
        _token({"pk": "x"}),
        _token({"pk": "IMPORT#x", "sk": "IMPORT", "gsi1pk": "OTHER", "gsi1sk": "x"}),
    ],
)
def test_bad_next_token_is_400(client: Any, records: list[ImportRecord], token: str) -> None:
    reply = client.get("/imports", {"next_token": token})
    assert reply.status == 400, reply.text
    assert "next_token" in reply.json()["message"]


@pytest.mark.parametrize(
    "token",
    [
        _token({"pk": "", "sk": "", "gsi1pk": "IMPORTS", "gsi1sk": ""}),
        _token({"pk": "IMPORT#x", "sk": "IMPORT", "gsi1pk": "IMPORTS", "gsi1sk": "2025-03-01" + "0" * 1100 + "#x"}),
        _token({"pk": "IMPORT#\ud800", "sk": "IMPORT", "gsi1pk": "IMPORTS", "gsi1sk": "2025-03-01#\ud800"}),
    ],
    ids=["empty-keys", "sort-key-over-1024-bytes", "lone-surrogate"],
)
def test_token_dynamodb_refuses_is_400(client: Any, records: list[ImportRecord], token: str) -> None:
    """A well-formed token can still name a start key DynamoDB refuses (empty key strings, a sort
    key over its 1024 bytes, text that is not Unicode: a ValidationException there; moto accepts
    them). Storage refuses them itself, before asking: still the caller's bad input."""
    reply = client.get("/imports", {"next_token": token})
    assert reply.status == 400, reply.text
    assert reply.json()["errors"][0]["parameter"] == "next_token"


def test_storage_refusing_the_token_is_400(
    client: Any, records: list[ImportRecord], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(limit: int, cursor: str | None) -> Any:
        raise InvalidCursor("next_token is not a valid pagination token")

    monkeypatch.setattr(metrics_storage(), "list_imports", refuse)
    reply = client.get("/imports", {"next_token": _token({"any": "thing"})})
    assert reply.status == 400
    assert "next_token" in reply.json()["message"]


def test_a_storage_failure_is_not_called_bad_input(
    client: Any, records: list[ImportRecord], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(limit: int, cursor: str | None) -> Any:
        raise ClientError({"Error": {"Code": "ValidationException", "Message": "empty key"}}, "Query")

    token = client.get("/imports", {"limit": 1}).json()["next_token"]
    monkeypatch.setattr(metrics_storage(), "list_imports", fail)
    for query in ({}, {"next_token": token}):  # it is not the caller's fault: no 400
        with pytest.raises(ClientError):
            client.get("/imports", query)


def test_get_one(client: Any, records: list[ImportRecord]) -> None:
    record = records[4]
    reply = client.get(f"/imports/{record.import_id}", path_parameters={"import_id": record.import_id})
    assert reply.status == 200, reply.text
    body = reply.json()
    assert set(body) == CONTRACT_FIELDS
    expected = record.to_dict()
    assert body == {name: expected[name] for name in CONTRACT_FIELDS}


@pytest.mark.parametrize(
    "import_id",
    [
        "imp_000000000000000000000000",
        "nope",
        "x" * 129,
        "x" * 2000,
        "a%20b",
        "imp_ü",
    ],
)
def test_unknown_import_is_404(client: Any, records: list[ImportRecord], import_id: str) -> None:
    reply = client.get(f"/imports/{import_id}", path_parameters={"import_id": import_id})
    assert reply.status == 404, reply.text
    assert "import_id" in reply.json()["message"]
