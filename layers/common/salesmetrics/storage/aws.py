"""The AWS side wired: the health probe, and `AwsStorage`, every capability on the stack's table
and bucket, which a handler builds at cold start in one line."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

from .dynamodb import DynamoImportLog, DynamoSalesStore, DynamoTable
from .health_probe import HealthProbe
from .s3 import S3ObjectStore

__all__ = ["AwsHealthProbe", "AwsStorage"]


class AwsHealthProbe(HealthProbe):
    """`HealthProbe`: DescribeTable and a one-key ListObjectsV2, each one attempt bounded by
    `timeout` seconds (connect and read), on clients of their own so that the storage's
    retrying clients never make a probe slow. The clients are made once, on the first check
    and under a lock (boto3 makes clients unsafely from several threads at once), then reused:
    the checks may run at the same time, and a warm probe reuses its connections."""

    def __init__(self, table_name: str, *, timeout: float = 2.0) -> None:
        self.table_name = table_name
        self._health_timeout = timeout
        self._health_clients: tuple[Any, Any] | None = None
        self._health_lock = threading.Lock()

    def _health_config(self) -> Config:
        return Config(
            connect_timeout=self._health_timeout, read_timeout=self._health_timeout, retries={"total_max_attempts": 1}
        )

    def _probe_clients(self) -> tuple[Any, Any]:
        with self._health_lock:
            if self._health_clients is None:
                config = self._health_config()
                self._health_clients = (boto3.client("dynamodb", config=config), boto3.client("s3", config=config))
            return self._health_clients

    def check_table(self) -> None:
        self._probe_clients()[0].describe_table(TableName=self.table_name)

    def check_bucket(self, bucket: str) -> None:
        self._probe_clients()[1].list_objects_v2(Bucket=bucket, MaxKeys=1)


class AwsStorage(DynamoSalesStore, DynamoImportLog, S3ObjectStore, AwsHealthProbe):
    """Every capability at once, sharing one DynamoDB client.

    Nothing of its own but the wiring: each capability's behaviour is its class's, and a use case
    given an `AwsStorage` still reaches only the capabilities its parameter's type names.
    """

    def __init__(
        self,
        table_name: str,
        *,
        max_attempts: int = 8,
        backoff_base: float = 0.05,
        backoff_cap: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        health_timeout: float = 2.0,
    ) -> None:
        DynamoTable.__init__(
            self,
            table_name,
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            sleep=sleep,
        )
        S3ObjectStore.__init__(self)
        AwsHealthProbe.__init__(self, table_name, timeout=health_timeout)
