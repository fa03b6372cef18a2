"""Storage, split by capability: one protocol module each, the domain typing against the ones it uses.

    capability   protocol (boto3-free)          AWS                               in memory (tests/fakes/)
    sales        sales_store.SalesStore         dynamodb.DynamoSalesStore         sales_store.MemorySalesStore
    imports      import_log.ImportLog           dynamodb.DynamoImportLog          import_log.MemoryImportLog
    objects      object_store.ObjectStore       s3.S3ObjectStore                  object_store.MemoryObjectStore
    health       health_probe.HealthProbe       aws.AwsHealthProbe                health_probe.MemoryHealthProbe

`Storage` is every capability at once, what `aws.AwsStorage` (and the fake `MemoryStorage`) bundle
so that a handler builds its storage in one line. `base` holds the types and errors they share;
`items` the DynamoDB item shapes; `queue` the dead-letter queue the re-drive reads.
"""

from __future__ import annotations

from typing import Protocol

from .health_probe import HealthProbe
from .import_log import ImportLog
from .object_store import ObjectStore
from .sales_store import SalesStore

__all__ = ["HealthProbe", "ImportLog", "ObjectStore", "SalesStore", "Storage"]


class Storage(SalesStore, ImportLog, ObjectStore, HealthProbe, Protocol):
    """Every capability: what a handler wires, never what a use case asks for."""
