"""Every storage capability in memory at once: the fake counterpart of `AwsStorage`, for tests
that run a whole use case. Each capability's behaviour, and what it keeps of DynamoDB's and S3's
semantics, is its own fake's (sales_store.py, import_log.py, object_store.py, health_probe.py);
the contract suites in tests/contract check each fake against its AWS implementation on moto."""

from __future__ import annotations

from dataclasses import dataclass

from tests.fakes.health_probe import MemoryHealthProbe
from tests.fakes.import_log import MemoryImportLog
from tests.fakes.object_store import MemoryObjectStore
from tests.fakes.sales_store import MemorySalesStore


@dataclass
class MemoryStorage(MemorySalesStore, MemoryImportLog, MemoryObjectStore, MemoryHealthProbe):
    """`salesmetrics.storage.Storage` in memory; the capabilities share one lock (none of them
    holds it while calling another)."""
