"""`make events STACK=...` (devtools/stackevents.py): the env-vars file and events it writes from a
deployed stack work against that stack's resources. moto stands in for the account: a stack whose
table, bucket and queue have CloudFormation's physical names (not the names the template would
give them locally), an export uploaded, then the real handlers run with exactly what was written."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devtools import stackevents
from devtools.samplegen import generate_export
from devtools.template import Template
from salesmetrics.config import get_settings
from tests.ingest.support import context

ROOT = Path(__file__).resolve().parents[1]
STACK = "sales-metrics-test"
API_URL = "https://k7x2abcdef.execute-api.us-east-1.amazonaws.com/test"


def _deployed_stack_template(suffix: str = "") -> str:
    """What the deployed stack holds that the functions talk to, with CloudFormation's names."""
    table = Template(ROOT / "template.yaml").tables()[0]
    return json.dumps(
        {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Parameters": {
                "Stage": {"Type": "String", "Default": "test"},
                "LogLevel": {"Type": "String", "Default": "WARN"},
            },
            "Resources": {
                "SalesTable": {
                    "Type": "AWS::DynamoDB::Table",
                    "Properties": {
                        "TableName": "sales-metrics-test-SalesTable-1Q2W3E4R5T6Y" + suffix,
                        "BillingMode": "PAY_PER_REQUEST",
                        "AttributeDefinitions": table.attribute_definitions,
                        "KeySchema": table.key_schema,
                        "GlobalSecondaryIndexes": [
                            {k: v for k, v in g.items() if k != "ProvisionedThroughput"}
                            for g in table.global_secondary_indexes
                        ],
                    },
                },
                "UploadsBucket": {
                    "Type": "AWS::S3::Bucket",
                    "Properties": {
                        "BucketName": "sales-metrics-test-uploadsbucket-a1b2c3d4" + suffix,
                        "VersioningConfiguration": {"Status": "Enabled"},
                    },
                },
                "IngestDeadLetterQueue": {
                    "Type": "AWS::SQS::Queue",
                    "Properties": {"QueueName": "sales-metrics-test-IngestDeadLetterQueue-Z9Y8X7" + suffix},
                },
            },
            "Outputs": {"ApiUrl": {"Value": API_URL}},
        }
    )


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp_path = tmp_path_factory.mktemp("deployed")
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        session = boto3.session.Session(region_name="us-east-1")
        session.client("cloudformation").create_stack(StackName=STACK, TemplateBody=_deployed_stack_template())
        s3 = session.client("s3")
        # moto's CloudFormation skips VersioningConfiguration; the deployed bucket has it.
        s3.put_bucket_versioning(
            Bucket="sales-metrics-test-uploadsbucket-a1b2c3d4", VersioningConfiguration={"Status": "Enabled"}
        )
        out = io.BytesIO()
        generate_export(out, lines=200, seed=5)
        s3.put_object(Bucket="sales-metrics-test-uploadsbucket-a1b2c3d4", Key="uploads/older.csv", Body=b"x")
        s3.put_object(
            Bucket="sales-metrics-test-uploadsbucket-a1b2c3d4", Key="uploads/March sales.csv", Body=out.getvalue()
        )
        written = stackevents.write(STACK, region="us-east-1", out=tmp_path, session=session)
        yield {"dir": tmp_path, "written": written, "session": session, "export": out.getvalue()}


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _apply(monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def test_env_vars_name_the_stacks_own_resources(deployed: dict[str, Any]) -> None:
    env = _load(deployed["dir"] / "env.json")
    assert set(env) >= {"IngestFunction", "MetricsFunction", "HealthFunction", "RedriveFunction"}
    assert {fn["TABLE_NAME"] for fn in env.values()} == {"sales-metrics-test-SalesTable-1Q2W3E4R5T6Y"}
    assert env["MetricsFunction"]["BUCKET_NAME"] == "sales-metrics-test-uploadsbucket-a1b2c3d4"
    assert env["RedriveFunction"]["DLQ_URL"].endswith("/sales-metrics-test-IngestDeadLetterQueue-Z9Y8X7")
    assert env["IngestFunction"]["POWERTOOLS_LOG_LEVEL"] == "WARN"  # the stack's parameter
    assert "BUCKET_NAME" not in env["IngestFunction"]  # only what the template declares for it


def test_the_ingest_event_is_the_newest_upload_and_ingests_it(
    deployed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    event = _load(deployed["dir"] / "s3-put-uploads.json")
    [record] = event["Records"]
    assert record["s3"]["bucket"]["name"] == "sales-metrics-test-uploadsbucket-a1b2c3d4"
    assert record["s3"]["object"]["key"] == "uploads/March+sales.csv"  # encoded as S3 does
    assert record["s3"]["object"]["size"] == len(deployed["export"])
    assert record["s3"]["object"]["versionId"]

    _apply(monkeypatch, _load(deployed["dir"] / "env.json")["IngestFunction"])
    import ingest_handler

    ingest_handler.reset()
    try:
        result = ingest_handler.handler(event, context())
    finally:
        ingest_handler.reset()
    [imported] = result["imports"]
    assert imported["status"] == "SUCCEEDED" and imported["rows_total"] == 200
    assert imported["key"] == "uploads/March sales.csv"


def test_api_events_address_the_deployed_api_and_are_answered(
    deployed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    revenue = _load(deployed["dir"] / "api-revenue.json")
    assert revenue["rawPath"] == "/test/metrics/revenue"
    assert revenue["requestContext"]["stage"] == "test"
    assert revenue["requestContext"]["apiId"] == "k7x2abcdef"
    assert revenue["headers"]["host"] == "k7x2abcdef.execute-api.us-east-1.amazonaws.com"
    assert revenue["requestContext"]["accountId"] == revenue["requestContext"]["authorizer"]["iam"]["accountId"]

    env = _load(deployed["dir"] / "env.json")
    from tests.api.conftest import fake_context, handlers, reset_handlers

    _apply(monkeypatch, env["MetricsFunction"])
    reset_handlers()
    metrics, health = handlers()
    try:
        answer = metrics.handler(revenue, fake_context())
        assert answer["statusCode"] == 200, answer
        assert json.loads(answer["body"])["currency"] == "SGD"
        _apply(monkeypatch, env["HealthFunction"])
        reset_handlers()
        answer = health.handler(_load(deployed["dir"] / "api-health.json"), fake_context())
        assert answer["statusCode"] == 200, answer
    finally:
        reset_handlers()


def test_without_an_upload_it_says_what_to_do(deployed: dict[str, Any], tmp_path: Path) -> None:
    session = deployed["session"]
    session.client("cloudformation").create_stack(
        StackName="sales-metrics-empty", TemplateBody=_deployed_stack_template("-empty")
    )
    with pytest.raises(stackevents.StackError, match=r"holds no export yet: upload one \(aws s3 cp"):
        stackevents.write("sales-metrics-empty", region="us-east-1", out=tmp_path, session=session)
    with pytest.raises(stackevents.StackError, match="cannot read stack no-such-stack"):
        stackevents.write("no-such-stack", region="us-east-1", out=tmp_path, session=session)
