"""The record of one ingested object version (docs/contract.md, the API)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class ImportStatus(StrEnum):
    IN_PROGRESS = "IN_PROGRESS"
    SUCCEEDED = "SUCCEEDED"
    PARTIAL = "PARTIAL"  # some rows rejected, the rest ingested
    FAILED = "FAILED"  # the file as a whole is unusable
    RETRACTING = "RETRACTING"  # its retraction is running (DELETE /imports/{id} or the object deleted)
    RETRACTED = "RETRACTED"  # what it wrote is undone; the record stays listed


# An import in these states wrote nothing that counts, and its object version is never ingested again.
RETRACTED_STATES = frozenset({ImportStatus.RETRACTING, ImportStatus.RETRACTED})


@dataclass(slots=True)
class ImportRecord:
    import_id: str
    bucket: str
    key: str
    status: ImportStatus
    started_at: str
    version_id: str = ""
    etag: str = ""
    rows_total: int = 0
    rows_ingested: int = 0
    rows_rejected: int = 0
    sales_created: int = 0
    sales_updated: int = 0
    sales_unchanged: int = 0
    finished_at: str | None = None
    message: str = ""
    rejects_key: str | None = None
    attempts: int = 1
    retracted_at: str | None = None
    sales_removed: int = 0
    sales_restored: int = 0
    # The status the import had before its retraction began (what it finished as).
    retracted_from: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        data.pop("extra")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportRecord:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data and k != "extra"}
        known["status"] = ImportStatus(known["status"])
        for name in (
            "rows_total",
            "rows_ingested",
            "rows_rejected",
            "sales_created",
            "sales_updated",
            "sales_unchanged",
            "attempts",
            "sales_removed",
            "sales_restored",
        ):
            if name in known:
                known[name] = int(known[name])
        return cls(**known)


def import_id_for(bucket: str, key: str, version_id: str, etag: str) -> str:
    """One id per object version: the same upload redelivered maps to the same import.

    Without bucket versioning S3 gives no version id; the ETag (content digest) stands in, so
    re-uploading identical bytes under one key is the same import, and changed bytes a new one.
    """
    digest = hashlib.sha256("\x00".join((bucket, key, version_id or "", etag or "")).encode())
    return "imp_" + digest.hexdigest()[:24]
