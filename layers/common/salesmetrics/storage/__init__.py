"""Storage, split by capability: one protocol module each, the domain typing against the ones it uses.

    capability   protocol (boto3-free)          AWS                               in memory (tests/fakes/)
    sales        sales_store.SalesStore         dynamodb.DynamoSalesStore         sales_store.MemorySalesStore
    imports      import_log.ImportLog           dynamodb.DynamoImportLog          import_log.MemoryImportLog
    objects      object_store.ObjectStore       s3.S3ObjectStore                  object_store.MemoryObjectStore
    health       health_probe.HealthProbe       aws.AwsHealthProbe                health_probe.MemoryHealthProbe

Each AWS class subclasses its protocol, so mypy checks it implements every method as declared.
`aws.AwsStorage` bundles all four (as the fake `MemoryStorage` does) so that a handler builds its
storage in one line; a use case still types its parameter with the capabilities it uses. `base`
holds the types and errors they share; `items` the DynamoDB item shapes; `queue` the dead-letter
queue the re-drive reads.
"""

from __future__ import annotations

from .health_probe import HealthProbe
from .import_log import ImportLog
from .object_store import ObjectStore
from .sales_store import SalesStore

__all__ = ["HealthProbe", "ImportLog", "ObjectStore", "SalesStore"]
