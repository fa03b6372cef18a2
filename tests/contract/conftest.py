"""One fixture per storage capability, parametrised over its in-memory fake and its AWS class on
moto: every contract test runs against both, so a test that passes on a fake says something
about DynamoDB and S3 too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from salesmetrics.storage.aws import AwsHealthProbe
from salesmetrics.storage.dynamodb import DynamoImportLog, DynamoSalesStore
from salesmetrics.storage.s3 import S3ObjectStore
from tests.contract.support import IMPLEMENTATIONS, UNVERSIONED, VERSIONED, Objects, Probes
from tests.fakes.health_probe import MemoryHealthProbe
from tests.fakes.import_log import MemoryImportLog
from tests.fakes.object_store import MemoryObjectStore
from tests.fakes.sales_store import MemorySalesStore
from tests.moto_resources import BUCKET, create_resources


@pytest.fixture(params=IMPLEMENTATIONS)
def moto_table(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for the fakes; for AWS, moto started with the template's table (its name answered)."""
    if request.param == "memory":
        yield None
        return
    with mock_aws():
        yield create_resources(boto3.client("dynamodb"), boto3.client("s3"))


@pytest.fixture
def sales_store(moto_table: str | None) -> Any:
    return MemorySalesStore() if moto_table is None else DynamoSalesStore(moto_table, sleep=lambda _: None)


@pytest.fixture
def import_log(moto_table: str | None) -> Any:
    return MemoryImportLog() if moto_table is None else DynamoImportLog(moto_table, sleep=lambda _: None)


@pytest.fixture(params=IMPLEMENTATIONS)
def objects(request: pytest.FixtureRequest) -> Iterator[Objects]:
    if request.param == "memory":
        fake = MemoryObjectStore()

        def put_fake(key: str, data: bytes) -> str:
            fake.put_object(UNVERSIONED, key, data)
            return fake.etag(UNVERSIONED, key)

        yield Objects(
            fake,
            lambda key, data: fake.put_object(VERSIONED, key, data),
            lambda key, version: fake.delete_version(VERSIONED, key, version),
            put_fake,
            lambda bucket, key: fake.rejects[(bucket, key)],
        )
        return
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=VERSIONED)
        s3.put_bucket_versioning(Bucket=VERSIONED, VersioningConfiguration={"Status": "Enabled"})
        s3.create_bucket(Bucket=UNVERSIONED)

        def delete_version(key: str, version: str) -> None:
            s3.delete_object(Bucket=VERSIONED, Key=key, VersionId=version)

        yield Objects(
            S3ObjectStore(),
            lambda key, data: str(s3.put_object(Bucket=VERSIONED, Key=key, Body=data)["VersionId"]),
            delete_version,
            lambda key, data: str(s3.put_object(Bucket=UNVERSIONED, Key=key, Body=data)["ETag"]).strip('"'),
            lambda bucket, key: bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read()),
        )


@pytest.fixture
def probes(moto_table: str | None) -> Probes:
    if moto_table is None:
        return Probes(MemoryHealthProbe(buckets=frozenset({BUCKET})), MemoryHealthProbe(table_exists=False))
    return Probes(AwsHealthProbe(moto_table, timeout=1), AwsHealthProbe("no-such-table", timeout=1))
