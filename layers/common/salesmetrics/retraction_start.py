"""The first step of an undo, on its own: mark an import RETRACTING.

The metrics API takes this step when a user asks to retract an import (then hands the import to
the ingest function, which runs `retract.Retractor`); it needs nothing of the reader or the
writer, so a cold start of the API does not load them.
"""

from __future__ import annotations

from .imports import RETRACTED_STATES, ImportRecord, ImportStatus
from .storage.base import TransientStorageError
from .storage.import_log import ImportLog

MAX_MARK_ATTEMPTS = 12  # each failure is another writer changing the record meanwhile


class ImportBusy(RuntimeError):
    """The import is still being ingested: it can be retracted once it has finished."""


def begin_retraction(log: ImportLog, import_id: str) -> ImportRecord | None:
    """Mark the import RETRACTING (nothing if it is retracting or retracted already); None for an
    unknown import, `ImportBusy` for one still being ingested.

    The mark is conditioned on the status read, and an ingest starts only on a record that is not
    retracting (`Ingestor.run`): of a redelivered ingest and a retraction racing for one import,
    exactly one goes ahead."""
    for _ in range(MAX_MARK_ATTEMPTS):
        record = log.get_import(import_id)
        if record is None or record.status in RETRACTED_STATES:
            return record
        if record.status == ImportStatus.IN_PROGRESS:
            raise ImportBusy(f"import {import_id} is still being ingested; retract it when it has finished")
        was = record.status
        record.retracted_from = was.value
        record.status = ImportStatus.RETRACTING
        record.message = f"retracting (was {record.retracted_from}): {record.message}"
        if log.put_import(record, if_status={was}):
            return record
    raise TransientStorageError(f"the record of {import_id} kept changing; giving up for a retry")
