"""POST /uploads: a presigned PUT for a CSV under the uploads prefix."""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests

from tests.api.conftest import BUCKET

KEY = re.compile(r"uploads/\d{4}/\d{2}/\d{2}/[0-9a-f]{32}-[A-Za-z0-9._-]+\.csv(\.gz)?")


def test_upload_url_shape(client: Any) -> None:
    reply = client.post("/uploads", {"filename": "sales-2025-03.csv"})
    assert reply.status == 201, reply.text
    body = reply.json()
    assert set(body) == {"upload_url", "key", "expires_in", "content_type", "method"}
    assert (body["expires_in"], body["content_type"], body["method"]) == (900, "text/csv", "PUT")
    assert KEY.fullmatch(body["key"]), body["key"]
    assert body["key"].startswith(f"uploads/{datetime.now(UTC):%Y/%m/%d}/")
    assert body["key"].endswith("-sales-2025-03.csv")


def test_presigned_url_is_signed_for_csv_and_short_lived(client: Any) -> None:
    body = client.post("/uploads", {"filename": "a.csv"}).json()
    url = urlsplit(body["upload_url"])
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert BUCKET in url.netloc or url.path.startswith(f"/{BUCKET}/")
    assert unquote(url.path).endswith(body["key"])
    assert int(params["X-Amz-Expires"]) <= 900
    assert "content-type" in params["X-Amz-SignedHeaders"].split(";")
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"


def test_presigned_url_accepts_the_csv(client: Any, aws: dict[str, Any]) -> None:
    """The URL works: moto intercepts `requests` to AWS while the mock is active."""
    body = client.post("/uploads", {"filename": "export.csv"}).json()
    csv = b"Sale Date,Sale ID,Item Total\r\n3/1/2025,1,34.88\r\n"
    put = requests.put(body["upload_url"], data=csv, headers={"Content-Type": "text/csv"}, timeout=10)
    assert put.status_code == 200, put.text
    stored = aws["s3"].get_object(Bucket=BUCKET, Key=body["key"])
    assert stored["Body"].read() == csv
    assert stored["ContentType"] == "text/csv"


@pytest.mark.parametrize(
    ("filename", "suffix"),
    [
        ("My Sales (March).CSV", "-My_Sales_March.csv"),  # suffix lower-cased: keys look alike
        ("march.Csv", "-march.csv"),
        ("export.csv.gz", "-export.csv.gz"),  # gzip-compressed exports keep .gz
        ("EXPORT 2025.CSV.GZ", "-EXPORT_2025.csv.gz"),
        ("a.csv.csv.gz", "-a.csv.csv.gz"),
        ("../../etc/passwd.csv", "-passwd.csv"),  # no path tricks
        ("C:\\exports\\day.csv", "-day.csv"),
        ("Verkäufe 2025.csv", "-Verk_ufe_2025.csv"),
        (".csv", "-upload.csv"),
        ("...csv", "-upload.csv"),
        ("x" * 196 + ".csv", "-" + "x" * 100 + ".csv"),  # 200 characters: kept short
    ],
)
def test_filename_is_sanitised(client: Any, filename: str, suffix: str) -> None:
    reply = client.post("/uploads", {"filename": filename})
    assert reply.status == 201, reply.text
    key = reply.json()["key"]
    assert KEY.fullmatch(key), key
    assert key.endswith(suffix), key


@pytest.mark.parametrize(
    "body",
    [
        {"filename": ""},
        {"filename": "sales.txt"},
        {"filename": "sales.csv.exe"},
        {"filename": "sales.gz"},
        {"filename": "sales.csv.gz.tmp"},
        {"filename": "sales.csv.zip"},
        {"filename": "sales.csv\n"},
        {"filename": "x" * 197 + ".csv"},  # 201 characters
        {"filename": 123},
        {"filename": None},
        {},
        {"name": "a.csv"},
        {"filename": "a.csv", "extra": 1},
    ],
)
def test_bad_filename_is_400_naming_filename(offline_client: Any, body: dict[str, Any]) -> None:
    reply = offline_client.post("/uploads", body)
    assert reply.status == 400, reply.text
    message = reply.json()["message"]
    assert "filename" in message or "extra" in message, message


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        ("not json", "application/json"),
        ("[]", "application/json"),
        ('"a.csv"', "application/json"),
        (None, None),
        ("filename=a.csv", "application/x-www-form-urlencoded"),
        ("a.csv", "text/plain"),
        ("--x\r\n\r\n", "multipart/form-data"),  # no boundary: Powertools raises ValueError
        ("--x\r\n\r\n", "multipart/form-data; boundary=x"),
    ],
)
def test_bad_body_is_400(offline_client: Any, raw: str | None, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    event = offline_client.event("POST", "/uploads", body=raw, headers=headers)
    reply = offline_client.send(event)
    assert reply.status == 400, reply.text
    assert reply.json()["message"]


def test_a_body_that_is_not_utf8_is_400_not_5xx(offline_client: Any) -> None:
    """The gateway base64-encodes a body that is not UTF-8; Powertools would raise decoding it."""
    event = offline_client.event(
        "POST", "/uploads", body=b'{"filename": "\xab.csv"}', headers={"content-type": "application/json"}
    )
    assert event["isBase64Encoded"] is True
    reply = offline_client.send(event)
    assert reply.status == 400, reply.text
    assert "UTF-8" in reply.json()["message"]


FILENAME_JSON = '{"filename": "Verkäufe März.csv"}'


NOT_UTF8_BODIES = {
    "binary": bytes(range(256)),
    "utf-16": FILENAME_JSON.encode("utf-16"),
    "utf-16-be without BOM": FILENAME_JSON.encode("utf-16-be"),
    "latin-1": FILENAME_JSON.encode("latin-1"),
    "windows-1252": FILENAME_JSON.encode("cp1252"),
    "gzip": gzip.compress(FILENAME_JSON.encode("utf-8")),
}


@pytest.mark.parametrize("content_type", ["application/json", None])
@pytest.mark.parametrize("kind", sorted(NOT_UTF8_BODIES))
def test_body_that_is_not_utf8_is_400_naming_the_body(offline_client: Any, kind: str, content_type: str | None) -> None:
    raw = NOT_UTF8_BODIES[kind]
    headers = {"content-type": content_type} if content_type else {}
    if kind == "gzip":
        headers["content-encoding"] = "gzip"
    event = offline_client.event("POST", "/uploads", body=raw, headers=headers)
    assert event["isBase64Encoded"], "API Gateway passes a body that is not UTF-8 text as base64"
    reply = offline_client.send(event)
    assert reply.status == 400, reply.text
    body = reply.json()
    assert body["message"].startswith("request body "), body
    assert "UTF-8" in body["message"], body
    assert body["errors"][0]["parameter"] == "body"


def test_body_flagged_base64_that_is_not_base64_is_400(offline_client: Any) -> None:
    event = offline_client.event(
        "POST", "/uploads", body='{"filename": "a.csv"}', headers={"content-type": "application/json"}
    )
    event["body"], event["isBase64Encoded"] = "!!!not base64", True
    reply = offline_client.send(event)
    assert reply.status == 400, reply.text
    assert "base64" in reply.json()["message"]


def test_utf8_body_sent_as_base64_still_works(client: Any) -> None:
    """The decoding check refuses only what cannot be decoded: UTF-8 JSON in base64 is fine."""
    event = client.event(
        "POST", "/uploads", body=FILENAME_JSON.encode("utf-8"), headers={"content-type": "application/octet-stream"}
    )
    event["headers"]["content-type"] = "application/json"
    assert event["isBase64Encoded"]
    reply = client.send(event)
    assert reply.status == 201, reply.text
    assert reply.json()["key"].endswith("-Verk_ufe_M_rz.csv")
