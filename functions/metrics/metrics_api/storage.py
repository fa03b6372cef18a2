"""The storage the routes read, one per settings read (in Lambda: one per execution environment)."""

from __future__ import annotations

from typing import Protocol

# Imported here, not on first use: boto3's ~250 ms then falls in Lambda's INIT phase. No client is
# made until the first call (so moto's mock, started later in tests, still sees every one).
from salesmetrics.storage.aws import AwsStorage
from salesmetrics.storage.import_log import ImportLog
from salesmetrics.storage.object_store import ObjectStore
from salesmetrics.storage.sales_store import SalesStore

from .settings import MetricsSettings, settings


class MetricsStorage(SalesStore, ImportLog, ObjectStore, Protocol):
    """What the routes use: the sums they report, the import records, presigned links. Not the
    health probe (the health function's)."""


_made: tuple[MetricsSettings, MetricsStorage] | None = None


def get_storage() -> MetricsStorage:
    """Made on first use; made again when the settings were read again (tests and local tools
    clear them when they change the environment), so it never outlives its table name."""
    global _made  # noqa: PLW0603 - one per execution environment, on purpose
    current = settings()
    if _made is None or _made[0] is not current:
        _made = (current, AwsStorage(current.table_name))
    return _made[1]
