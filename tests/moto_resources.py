"""The AWS the suite runs on in-process: moto, with the table exactly as template.yaml declares it
(keys, GSI, TTL) and a versioned uploads bucket. Clients are made inside the mock only: one made
before it starts escapes it (docs/library-notes.md)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from devtools.template import TableSpec, Template
from salesmetrics.storage.aws import AwsStorage

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"
BUCKET = "sales-ingest-test"


@cache
def table_spec() -> TableSpec:
    [spec] = Template(TEMPLATE).tables()
    return spec


def create_resources(ddb: Any, s3: Any, *, table: str | None = None, bucket: str = BUCKET) -> str:
    """Create the template's table (under its local name, or `table`) and a versioned bucket;
    answer the table's name."""
    spec = table_spec()
    name = table or spec.name
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=spec.attribute_definitions,
        KeySchema=spec.key_schema,
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {k: v for k, v in g.items() if k != "ProvisionedThroughput"} for g in spec.global_secondary_indexes
        ],
    )
    if spec.ttl_attribute:
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"AttributeName": spec.ttl_attribute, "Enabled": True}
        )
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return name


@contextmanager
def moto_aws(*, table: str | None = None, bucket: str = BUCKET) -> Iterator[dict[str, Any]]:
    """moto started, the resources created: {"s3", "ddb", "table" (its name), "bucket", "storage"}."""
    with mock_aws():
        s3, ddb = boto3.client("s3"), boto3.client("dynamodb")
        name = create_resources(ddb, s3, table=table, bucket=bucket)
        yield {"s3": s3, "ddb": ddb, "table": name, "bucket": bucket, "storage": AwsStorage(name)}
