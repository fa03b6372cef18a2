"""`ImportLog` in memory: records by import id, listed newest first in pages whose cursors are
opaque, and a cursor it did not hand out is `InvalidCursor`, as `DynamoImportLog`'s is
(tests/contract/test_import_log_contract.py runs both)."""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Collection
from dataclasses import dataclass, field

from salesmetrics.errors import InvalidCursor
from salesmetrics.imports import ImportRecord, ImportStatus


@dataclass
class MemoryImportLog:
    imports: dict[str, ImportRecord] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def put_import(self, record: ImportRecord, *, if_status: Collection[ImportStatus] | None = None) -> bool:
        with self._lock:
            stored = self.imports.get(record.import_id)
            if if_status is not None and stored is not None and stored.status not in if_status:
                return False
            self.imports[record.import_id] = ImportRecord.from_dict(record.to_dict())
            return True

    def get_import(self, import_id: str) -> ImportRecord | None:
        with self._lock:
            record = self.imports.get(import_id)
            return ImportRecord.from_dict(record.to_dict()) if record else None

    def list_imports(self, limit: int, cursor: str | None) -> tuple[list[ImportRecord], str | None]:
        with self._lock:
            ordered = sorted(self.imports.values(), key=lambda r: f"{r.started_at}#{r.import_id}", reverse=True)
        if cursor:
            after = _decode_cursor(cursor)
            ordered = [r for r in ordered if f"{r.started_at}#{r.import_id}" < after]
        page = ordered[:limit]
        more = len(ordered) > limit
        return page, _encode_cursor(f"{page[-1].started_at}#{page[-1].import_id}") if more and page else None


def _encode_cursor(position: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": position}).encode()).decode().rstrip("=")


def _decode_cursor(token: str) -> str:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor("next_token is not a valid pagination token") from exc
    if not isinstance(data, dict) or not isinstance(data.get("after"), str) or set(data) != {"after"}:
        raise InvalidCursor("next_token is not a valid pagination token")
    return str(data["after"])
