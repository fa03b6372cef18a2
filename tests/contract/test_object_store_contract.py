"""The object store's contract: `MemoryObjectStore` and `S3ObjectStore` on moto answer alike:
versions read as uploaded, a deleted one is `ObjectGone`, a read by ETag of an overwritten key is
`ObjectChanged`, rejects files read back, presigned links grant what they say."""

from __future__ import annotations

import hashlib
import io
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from salesmetrics.storage.base import ObjectChanged, ObjectGone
from tests.contract.support import UNVERSIONED, VERSIONED, Objects


def test_an_object_version_reads_as_uploaded_and_a_deleted_one_is_gone(objects: Objects) -> None:
    store = objects.store
    first = objects.put_versioned("uploads/a.csv", b"one")
    second = objects.put_versioned("uploads/a.csv", b"two")
    with store.open_object(VERSIONED, "uploads/a.csv", first) as stream:
        assert stream.read() == b"one"
    objects.delete_version("uploads/a.csv", first)
    with pytest.raises(ObjectGone):
        store.open_object(VERSIONED, "uploads/a.csv", first)
    with store.open_object(VERSIONED, "uploads/a.csv", second) as stream:
        assert stream.read() == b"two"
    with pytest.raises(ObjectGone):
        store.open_object(VERSIONED, "uploads/never.csv", "")


def test_an_object_read_by_its_etag_is_changed_once_overwritten_in_an_unversioned_bucket(objects: Objects) -> None:
    # S3 GetObject with If-Match: 412 PreconditionFailed once the key holds other bytes.
    store, key = objects.store, "uploads/a.csv"
    first = objects.put_unversioned(key, b"one")
    assert first == hashlib.md5(b"one", usedforsecurity=False).hexdigest()  # a single-part upload's ETag
    for etag in (first, f'"{first}"'):  # as S3 events carry it, and as GetObject answers it
        with store.open_object(UNVERSIONED, key, "", etag=etag) as stream:
            assert stream.read() == b"one"
    assert objects.put_unversioned(key, b"one") == first  # the same bytes again: the same ETag
    second = objects.put_unversioned(key, b"two")
    with pytest.raises(ObjectChanged, match="no longer has ETag") as raised:
        store.open_object(UNVERSIONED, key, "", etag=first)
    assert isinstance(raised.value, ObjectGone)  # final, as a deleted object is: never retried
    with store.open_object(UNVERSIONED, key, "", etag=second) as stream:
        assert stream.read() == b"two"
    with store.open_object(UNVERSIONED, key, "") as stream:  # no ETag: whatever the key holds
        assert stream.read() == b"two"
    with pytest.raises(ObjectGone) as gone:
        store.open_object(UNVERSIONED, "uploads/never.csv", "", etag=first)
    assert not isinstance(gone.value, ObjectChanged)


def test_a_version_read_with_another_version_s_etag_is_changed(objects: Objects) -> None:
    first = objects.put_versioned("uploads/b.csv", b"one")
    objects.put_versioned("uploads/b.csv", b"two")
    one, two = (hashlib.md5(b, usedforsecurity=False).hexdigest() for b in (b"one", b"two"))
    with objects.store.open_object(VERSIONED, "uploads/b.csv", first, etag=one) as stream:
        assert stream.read() == b"one"
    with pytest.raises(ObjectChanged):
        objects.store.open_object(VERSIONED, "uploads/b.csv", first, etag=two)


def test_a_large_object_reads_back_whole_in_pieces(objects: Objects) -> None:
    # The ingest reads lines off the stream; a body longer than one buffer must come through intact.
    data = b"".join(b"3/1/2025,%d,Bay hire,34.88,0\r\n" % n for n in range(60_000))  # ~1.8 MB
    version = objects.put_versioned("uploads/big.csv", data)
    with objects.store.open_object(VERSIONED, "uploads/big.csv", version) as stream:
        pieces = [stream.readline() for _ in range(3)]
        rest = stream.read()
    assert b"".join(pieces) + rest == data and pieces[1] == b"3/1/2025,1,Bay hire,34.88,0\r\n"


def test_a_rejects_file_reads_back_byte_for_byte(objects: Objects) -> None:
    body = 'Sale ID,Reason\r\n7,"Item Total ""abc"" is not a number"\r\nü,é\r\n'.encode()
    objects.store.put_rejects(VERSIONED, "rejects/imp_1.csv", io.BytesIO(body))
    assert objects.read_back(VERSIONED, "rejects/imp_1.csv") == body


def _link(url: str) -> tuple[str, str, dict[str, str]]:
    parts = urlsplit(url)
    assert parts.scheme == "https"
    return parts.netloc, unquote(parts.path), {k: v[0] for k, v in parse_qs(parts.query).items()}


def test_a_presigned_upload_names_its_object_and_binds_the_content_type_for_its_lifetime(objects: Objects) -> None:
    key = "uploads/2025 März+Q1.csv"  # a space, a plus and a non-ASCII letter: percent-encoded
    url = objects.store.presign_upload(VERSIONED, key, "text/csv", 900)
    host, path, query = _link(url)
    assert host.startswith(f"{VERSIONED}.") and path == f"/{key}"  # virtual-hosted, as S3 signs it
    raw = urlsplit(url).path
    assert raw.isascii() and " " not in raw and "+" not in raw  # SigV4 signs the key percent-encoded
    assert query["X-Amz-Expires"] == "900" and query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert "content-type" in query["X-Amz-SignedHeaders"].split(";")
    other = objects.store.presign_upload(VERSIONED, "uploads/other.csv", "text/csv", 900)
    assert _link(other)[2]["X-Amz-Signature"] != query["X-Amz-Signature"]


def test_a_presigned_download_names_its_object_for_its_lifetime(objects: Objects) -> None:
    host, path, query = _link(objects.store.presign_download(VERSIONED, "rejects/imp_1.csv", 300))
    assert host.startswith(f"{VERSIONED}.") and path == "/rejects/imp_1.csv"
    assert query["X-Amz-Expires"] == "300"
    assert query["X-Amz-SignedHeaders"].split(";") == ["host"]  # a plain GET: nothing else bound
