"""The local AWS: template reading and intrinsics, resources created from template.yaml, the S3
event as real S3 sends it, the notification filter, Lambda-like invocation and the drop folder."""

from __future__ import annotations

import gzip
import io
import json
import os
import textwrap
import threading
import uuid
from pathlib import Path
from urllib.parse import unquote_plus

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.parser.models import S3Model

from devtools import reconcile, redrive
from devtools.dropfolder import DropFolder, describe_import, find_import
from devtools.gateway import build_event
from devtools.lambdacontext import ACCOUNT_ID, REGION
from devtools.localaws import LocalAws
from devtools.locallambda import function_name
from devtools.s3events import build_put_event, encode_key, next_sequencer, upload_and_notify
from devtools.samplegen import generate_export
from devtools.template import Resolver, Template, TemplateError, load_template_text, merge_globals
from salesmetrics.filenames import NOT_AN_EXPORT

ROOT = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- a probe template

PROBE_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev, AllowedPattern: "^[a-z0-9-]{1,16}$"}
  UploadsPrefix: {Type: String, Default: uploads/}
  WithQueue: {Type: String, Default: "yes", AllowedValues: ["yes", "no"]}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  NotProd: !Not [!Condition IsProd]
  HasQueue: !Equals [!Ref WithQueue, "yes"]
  QueueOutsideProd: !And [!Condition HasQueue, !Condition NotProd]
Globals:
  Function:
    Runtime: python3.13
    Timeout: 10
    Layers: [!Ref ProbeLayer]
    Environment:
      Variables:
        TABLE_NAME: !Ref ProbeTable
        MODE: !If [IsProd, strict, relaxed]
        SHARED: from-globals
Resources:
  ProbeLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layer/}
  ProbeBucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "probe-${Stage}-${AWS::AccountId}-${AWS::Region}"
      VersioningConfiguration: {Status: Enabled}
  ProbeTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: sk, AttributeType: S}
        - {AttributeName: g1, AttributeType: S}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
        - {AttributeName: sk, KeyType: RANGE}
      GlobalSecondaryIndexes:
        - IndexName: byG1
          KeySchema: [{AttributeName: g1, KeyType: HASH}]
          Projection: {ProjectionType: KEYS_ONLY}
      TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}
  ProbeQueue:
    Type: AWS::SQS::Queue
    Condition: HasQueue
    Properties: {MessageRetentionPeriod: 3600}
  ProdOnlyQueue:
    Type: AWS::SQS::Queue
    Condition: IsProd
  ProbeFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: {module}.handler
      MemorySize: !If [IsProd, 1024, 256]
      Environment:
        Variables:
          SHARED: from-function
          BUCKET_NAME: !Ref ProbeBucket
          QUEUE_URL: !If [HasQueue, !Ref ProbeQueue, !Ref AWS::NoValue]
          QUEUE_ARN: !GetAtt ProbeQueue.Arn
          TABLE_ARN: !GetAtt [ProbeTable, Arn]
          SUBBED: !Sub
            - "${Name}:${AWS::StackName}:${!Literal}:${ProbeBucket.Arn}"
            - {Name: !Join ["", !Split [",", "b"]]}
          JOINED: !Join ["-", [!Ref Stage, !Ref AWS::Region, !Ref AWS::Partition]]
          OUTSIDE: !If [QueueOutsideProd, "true", "false"]
      EventInvokeConfig:
        MaximumRetryAttempts: 1
        DestinationConfig:
          OnFailure: {Type: SQS, Destination: !GetAtt ProbeQueue.Arn}
      Events:
        Upload:
          Type: S3
          Properties:
            Bucket: !Ref ProbeBucket
            Events: s3:ObjectCreated:*
            Filter:
              S3Key:
                Rules:
                  - {Name: prefix, Value: !Ref UploadsPrefix}
                  - {Name: suffix, Value: .csv}
  OtherFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: {module}.other
      Timeout: 3
"""

PROBE_HANDLER = """\
import os
import probe_layer_lib

CALLS = []

def handler(event, context):
    CALLS.append(event)
    if event.get("fail"):
        raise RuntimeError("asked to fail")
    return {
        "env": {k: os.environ.get(k) for k in ("SHARED", "BUCKET_NAME", "TABLE_NAME", "MODE",
                "AWS_ENDPOINT_URL", "AWS_LAMBDA_FUNCTION_NAME", "AWS_SAM_LOCAL")},
        "remaining": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
        "layer": probe_layer_lib.VALUE,
        "event": event,
    }

def other(event, context):
    return {"BUCKET_NAME": os.environ.get("BUCKET_NAME"), "SHARED": os.environ.get("SHARED")}
"""


@pytest.fixture(scope="module")
def probe_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("probe")
    module = f"probe_{uuid.uuid4().hex[:8]}_handler"
    (root / "template.yaml").write_text(PROBE_TEMPLATE.replace("{module}", module), encoding="utf-8")
    (root / "fn").mkdir()
    (root / "fn" / f"{module}.py").write_text(PROBE_HANDLER, encoding="utf-8")
    (root / "layer").mkdir()
    (root / "layer" / "probe_layer_lib.py").write_text("VALUE = 'from-layer'\n", encoding="utf-8")
    return root, module


@pytest.fixture(scope="module")
def probe_stack(probe_dir: tuple[Path, str]):
    root, _ = probe_dir
    with LocalAws(root / "template.yaml") as stack:
        yield stack


@pytest.fixture(scope="module")
def real_stack():
    with LocalAws(ROOT / "template.yaml") as stack:
        yield stack


# --------------------------------------------------------------------------- loading and resolving


def test_short_tags_become_the_long_form() -> None:
    data = load_template_text(
        textwrap.dedent("""\
        Resources: {}
        a: !Ref X
        b: !GetAtt Res.Arn
        c: !Sub "x-${Y}"
        d: !If [Cond, 1, 2]
        e: !Condition Cond
        f: !Join [",", [a, b]]
        g: !Base64 text
        h: !GetAZs ""
        i: !Cidr ["10.0.0.0/16", 2, 8]
        j: !ImportValue shared
        k: 2010-09-09
        """)
    )
    assert data["a"] == {"Ref": "X"}
    assert data["b"] == {"Fn::GetAtt": ["Res", "Arn"]}
    assert data["c"] == {"Fn::Sub": "x-${Y}"}
    assert data["d"] == {"Fn::If": ["Cond", 1, 2]}
    assert data["e"] == {"Condition": "Cond"}
    assert data["f"] == {"Fn::Join": [",", ["a", "b"]]}
    assert data["g"] == {"Fn::Base64": "text"}
    assert data["h"] == {"Fn::GetAZs": ""}
    assert data["i"] == {"Fn::Cidr": ["10.0.0.0/16", 2, 8]}
    assert data["j"] == {"Fn::ImportValue": "shared"}
    assert data["k"] == "2010-09-09"  # no timestamps


def test_intrinsics_with_parameters_pseudo_parameters_and_conditions(probe_dir) -> None:
    root, _ = probe_dir
    fn = Template(root / "template.yaml").function("ProbeFunction")
    env = fn.environment
    assert env["BUCKET_NAME"] == "probe-dev-123456789012-us-east-1"
    assert env["TABLE_NAME"] == "sales-metrics-local-ProbeTable"  # Globals, Ref without a name
    assert env["MODE"] == "relaxed"
    assert env["SHARED"] == "from-function"  # the function's variable wins over Globals
    assert env["QUEUE_ARN"] == "arn:aws:sqs:us-east-1:123456789012:sales-metrics-local-ProbeQueue"
    assert env["TABLE_ARN"] == "arn:aws:dynamodb:us-east-1:123456789012:table/sales-metrics-local-ProbeTable"
    assert env["SUBBED"] == ("b:sales-metrics-local:${Literal}:arn:aws:s3:::probe-dev-123456789012-us-east-1")
    assert env["JOINED"] == "dev-us-east-1-aws"
    assert env["OUTSIDE"] == "true"
    assert fn.memory_size == 256  # Fn::If on a property
    assert fn.timeout == 10  # Globals
    assert [layer.logical_id for layer in fn.layers] == ["ProbeLayer"]
    assert fn.layers[0].content_uri == (root / "layer").resolve()
    assert fn.maximum_retry_attempts == 1
    assert fn.on_failure_arn == env["QUEUE_ARN"]
    [s3] = fn.s3_events
    assert s3.bucket_logical_id == "ProbeBucket"
    assert s3.rules == (("prefix", "uploads/"), ("suffix", ".csv"))


def test_parameters_and_conditions_change_what_exists(probe_dir) -> None:
    root, _ = probe_dir
    prod = Template(root / "template.yaml", parameters={"Stage": "prod", "WithQueue": "no"}, stack_name="other")
    assert prod.resolver.conditions() == {
        "IsProd": True,
        "NotProd": False,
        "HasQueue": False,
        "QueueOutsideProd": False,
    }
    fn = prod.function("OtherFunction")
    assert fn.environment["MODE"] == "strict"
    assert fn.environment["TABLE_NAME"] == "other-ProbeTable"
    assert [q.logical_id for q in prod.queues()] == ["ProdOnlyQueue"]
    assert prod.buckets()[0].name == "probe-prod-123456789012-us-east-1"
    with pytest.raises(TemplateError):
        Template(root / "template.yaml", parameters={"Stage": "Not Valid!"})
    with pytest.raises(TemplateError):
        Template(root / "template.yaml", parameters={"Nope": "x"})


def test_resolver_on_its_own() -> None:
    resolver = Resolver({"Parameters": {"P": {"Type": "String", "Default": "v"}}}, region="eu-west-1")
    sub = {"Fn::Sub": "${P}/${AWS::Region}/${AWS::URLSuffix}"}
    assert resolver.resolve(sub) == "v/eu-west-1/amazonaws.com"
    assert resolver.resolve({"Fn::Split": [",", {"Fn::Join": [",", ["a", {"Ref": "P"}]]}]}) == ["a", "v"]
    assert resolver.resolve([1, {"Ref": "AWS::NoValue"}, 2]) == [1, 2]


@pytest.mark.parametrize(
    "function",
    [
        {"Fn::Cidr": ["10.0.0.0/16", 2, 8]},
        {"Fn::Base64": "hi"},
        {"Fn::Select": [0, ["a"]]},
        {"Fn::GetAZs": ""},
        {"Fn::ImportValue": "shared"},
        {"Fn::FindInMap": ["M", "a", "b"]},
    ],
)
def test_intrinsics_the_template_does_not_use_are_refused_by_name(function: dict) -> None:
    with pytest.raises(TemplateError, match=next(iter(function))):
        Resolver({}).resolve(function)


def test_globals_merge_the_sam_way() -> None:
    assert merge_globals({"A": 1, "B": {"x": 1}}, {"B": {"y": 2}}) == {"A": 1, "B": {"x": 1, "y": 2}}
    assert merge_globals([1], [2]) == [1, 2]
    assert merge_globals({"Ref": "X"}, {"Ref": "Y"}) == {"Ref": "Y"}
    assert merge_globals(30, 900) == 900


def test_the_real_template_reads_completely() -> None:
    template = Template(ROOT / "template.yaml")
    functions = {fn.logical_id: fn for fn in template.functions()}
    ingest = functions["IngestFunction"]
    assert ingest.handler == "ingest_handler.handler"
    assert "BUCKET_NAME" not in ingest.environment  # the ingest function learns it from events
    assert ingest.environment["TABLE_NAME"] == template.tables()[0].name
    # Created objects are ingested; removed ones retract their import (docs/architecture.md, "Undo").
    by_kind = {spec.events: spec for spec in ingest.s3_events}
    assert set(by_kind) == {("s3:ObjectCreated:*",), ("s3:ObjectRemoved:*",)}
    s3, removed = by_kind["s3:ObjectCreated:*",], by_kind["s3:ObjectRemoved:*",]
    assert removed.matches("s3:ObjectRemoved:DeleteMarkerCreated", "uploads/a.csv")
    assert removed.matches("s3:ObjectRemoved:Delete", "uploads/a.csv")
    assert not removed.matches("s3:ObjectCreated:Put", "uploads/a.csv")
    assert s3.bucket_name == template.buckets()[0].name
    # Prefix only (S3's suffix rules are case-sensitive): the function picks the exports.
    for key in ("uploads/a.csv", "uploads/A.CSV", "uploads/a.csv.gz", "uploads/a.txt"):
        assert s3.matches("s3:ObjectCreated:Put", key), key
    assert s3.matches("s3:ObjectCreated:CompleteMultipartUpload", "uploads/big.csv")
    assert not s3.matches("s3:ObjectCreated:Put", "elsewhere/a.csv")
    assert not s3.matches("s3:ObjectCreated:Put", "Uploads/a.csv")
    assert not s3.matches("s3:ObjectCreated:Put", "rejects/a.csv")
    assert not s3.matches("s3:ObjectRemoved:Delete", "uploads/a.csv")
    routes = {(route.method, route.path): route.auth for _, route in template.http_routes()}
    assert routes[("GET", "/health")] == "NONE"
    assert routes[("GET", "/metrics/revenue")] == "AWS_IAM"


# --------------------------------------------------------------------------- resources from template.yaml


def test_resources_match_the_template(real_stack: LocalAws) -> None:
    template = Template(ROOT / "template.yaml")
    [table_spec] = template.tables()
    table = real_stack.client("dynamodb").describe_table(TableName=table_spec.name)["Table"]
    assert table["KeySchema"] == table_spec.key_schema
    assert sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        table_spec.attribute_definitions, key=lambda a: a["AttributeName"]
    )
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    gsis = {g["IndexName"]: g for g in table["GlobalSecondaryIndexes"]}
    for spec in table_spec.global_secondary_indexes:
        assert gsis[spec["IndexName"]]["KeySchema"] == spec["KeySchema"]
        assert gsis[spec["IndexName"]]["Projection"] == spec["Projection"]
    ttl = real_stack.client("dynamodb").describe_time_to_live(TableName=table_spec.name)
    assert ttl["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiration"}

    # The uploads bucket (what `bucket()` answers unnamed) and the dashboard's static files' bucket.
    assert {b.logical_id for b in template.buckets()} == {"UploadsBucket", "DashboardBucket"}
    bucket = real_stack.bucket()
    assert bucket.logical_id == "UploadsBucket"
    s3 = real_stack.client("s3")
    assert s3.get_bucket_versioning(Bucket=bucket.name)["Status"] == "Enabled"
    assert bucket.name == "sales-metrics-dev-123456789012-us-east-1"
    dashboard = real_stack.bucket("DashboardBucket")
    assert s3.get_public_access_block(Bucket=dashboard.name)["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"]

    for queue in template.queues():
        url = real_stack.client("sqs").get_queue_url(QueueName=queue.name)["QueueUrl"]
        assert url == real_stack.queue(queue.logical_id).url
        attributes = real_stack.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        for name, value in queue.attributes.items():
            assert attributes[name] == value


def test_the_environment_points_at_the_local_stack(real_stack: LocalAws) -> None:
    assert real_stack.endpoint_url.startswith("http://127.0.0.1:")
    assert os.environ["AWS_ENDPOINT_URL"] == real_stack.endpoint_url
    env = real_stack.environment("HealthFunction")
    assert env["BUCKET_NAME"] == real_stack.bucket().name
    assert env["TABLE_NAME"] == real_stack.table().name
    assert env["AWS_ACCESS_KEY_ID"] == "testing"
    # The queue's Ref is the URL the moto server gave.
    assert real_stack.template is not None
    outputs = real_stack.template.outputs()
    assert outputs["IngestDeadLetterQueueUrl"].startswith(real_stack.endpoint_url)


def test_stop_restores_the_environment(probe_dir) -> None:
    root, _ = probe_dir
    before = os.environ.get("AWS_ENDPOINT_URL")
    stack = LocalAws(root / "template.yaml").start()
    assert os.environ["AWS_ENDPOINT_URL"] == stack.endpoint_url
    stack.stop()
    assert os.environ.get("AWS_ENDPOINT_URL") == before


# --------------------------------------------------------------------------- the S3 event


def test_keys_are_encoded_as_real_s3_does() -> None:
    assert encode_key("uploads/Sales March 2025.csv") == "uploads/Sales+March+2025.csv"
    assert encode_key("uploads/a+b.csv") == "uploads/a%2Bb.csv"
    assert encode_key("uploads/ümlaut (1).csv") == "uploads/%C3%BCmlaut+%281%29.csv"
    for key in ("uploads/a b+c.csv", "uploads/x/y=z&1.csv", "uploads/%41.csv"):
        assert unquote_plus(encode_key(key)) == key


def test_event_shape() -> None:
    event = build_put_event(bucket="bkt", key="uploads/a b.csv", size=10, etag='"abc"', version_id="v1")
    [record] = event["Records"]
    assert record["eventVersion"] == "2.1"
    assert record["eventSource"] == "aws:s3"
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["eventTime"].endswith("Z") and len(record["eventTime"]) == len("2025-03-01T10:00:00.000Z")
    assert set(record["responseElements"]) == {"x-amz-request-id", "x-amz-id-2"}
    assert record["userIdentity"]["principalId"]
    assert record["requestParameters"]["sourceIPAddress"] == "127.0.0.1"
    obj = record["s3"]["object"]
    assert obj == {
        "key": "uploads/a+b.csv",
        "size": 10,
        "eTag": "abc",
        "versionId": "v1",
        "sequencer": obj["sequencer"],
    }
    assert record["s3"]["bucket"] == {
        "name": "bkt",
        "ownerIdentity": {"principalId": record["s3"]["bucket"]["ownerIdentity"]["principalId"]},
        "arn": "arn:aws:s3:::bkt",
    }
    assert record["s3"]["s3SchemaVersion"] == "1.0" and record["s3"]["configurationId"]
    sequencers = [next_sequencer() for _ in range(50)]
    assert sequencers == sorted(sequencers) and len(set(sequencers)) == 50


def test_powertools_reads_the_event_like_a_real_one() -> None:
    event = build_put_event(bucket="bkt", key="uploads/a b+c.csv", size=10, etag="abc", version_id="v1")
    assert S3Event(event).object_key == "uploads/a b+c.csv"
    S3Model(**event)  # the strict model rejects moto's own events (docs/library-notes.md)


# --------------------------------------------------------------------------- invoking and notifying


def test_upload_and_notify_honours_the_filter_rules(probe_stack: LocalAws) -> None:
    handler_module = probe_stack.handler_module("ProbeFunction")
    handler_module.CALLS.clear()
    key = "uploads/March sales+refunds.csv"
    notified = upload_and_notify(probe_stack, b"Sale Date,Sale ID,Item Total\n", key)
    assert notified.ingested
    [call] = handler_module.CALLS
    obj = call["Records"][0]["s3"]["object"]
    assert obj["key"] == "uploads/March+sales%2Brefunds.csv"
    assert obj["versionId"] == notified.version_id and notified.version_id
    assert obj["size"] == len(b"Sale Date,Sale ID,Item Total\n")
    head = probe_stack.client("s3").head_object(Bucket=probe_stack.bucket().name, Key=key)
    assert obj["eTag"] == head["ETag"].strip('"')
    assert call["Records"][0]["s3"]["bucket"]["name"] == "probe-dev-123456789012-us-east-1"

    # S3 compares suffix rules case-sensitively, and so does the local stack.
    for ignored in ("uploads/notes.txt", "other/sales.csv", "uploads.csv", "uploads/SALES.CSV"):
        skipped = upload_and_notify(probe_stack, b"x", ignored)
        assert skipped.invocations == [] and not skipped.ingested
    assert len(handler_module.CALLS) == 1


@pytest.fixture
def ingest_function(real_stack: LocalAws):
    """The real stack, the ingest handler reset before and after: another test in this process may
    have imported the module under moto's in-process mock, and clients made there do not reach the
    local stack's server."""
    module = real_stack.handler_module("IngestFunction")
    module.reset()
    yield real_stack
    module.reset()


def test_the_real_template_delivers_exports_named_in_any_case_and_gzip(ingest_function: LocalAws) -> None:
    real_stack = ingest_function
    sales = io.BytesIO()
    generate_export(sales, lines=60, seed=31)
    for key, body in [
        ("uploads/x/SALES.CSV", sales.getvalue()),
        ("uploads/x/sales.Csv", sales.getvalue()),
        ("uploads/x/export.csv.gz", gzip.compress(sales.getvalue())),
    ]:
        notified = upload_and_notify(real_stack, body, key)
        [invocation] = notified.invocations
        assert invocation.function_logical_id == "IngestFunction" and invocation.ok, invocation.error
        record = find_import(real_stack, notified)
        assert record is not None and record.key == key, key
        if not key.endswith(".gz"):  # gzip reading is being added: tighten to SUCCEEDED then
            assert record.status.value == "SUCCEEDED", record


def test_the_real_template_delivers_a_non_export_which_is_logged_and_not_imported(ingest_function: LocalAws) -> None:
    real_stack = ingest_function
    handler = real_stack.handler_module("IngestFunction").logger.registered_handler
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        notified = upload_and_notify(real_stack, b"Sale Date,Sale ID,Item Total\n", "uploads/x/notes.txt")
    finally:
        handler.setStream(previous)
    [invocation] = notified.invocations
    assert invocation.ok and invocation.result["imports"] == []
    assert invocation.result["ignored"] == [{"key": "uploads/x/notes.txt", "reason": NOT_AN_EXPORT}]
    assert find_import(real_stack, notified) is None
    [line] = [json.loads(text) for text in buffer.getvalue().splitlines() if text.startswith("{")]
    assert (line["level"], line["message"], line["key"]) == ("WARNING", "object not ingested", "uploads/x/notes.txt")
    assert "not ingested: " + NOT_AN_EXPORT in describe_import(notified.key, notified, None)
    # Outside the prefix (the function's own rejects files): S3 never notifies at all.
    assert upload_and_notify(real_stack, b"x", "rejects/imp_x.csv").invocations == []


def test_invoke_applies_the_functions_own_environment(probe_stack: LocalAws) -> None:
    result = probe_stack.invoke("ProbeFunction", {"hello": 1})
    assert result["env"]["SHARED"] == "from-function"
    assert result["env"]["BUCKET_NAME"] == "probe-dev-123456789012-us-east-1"
    assert result["env"]["MODE"] == "relaxed"
    assert result["env"]["AWS_ENDPOINT_URL"] == probe_stack.endpoint_url
    assert result["env"]["AWS_LAMBDA_FUNCTION_NAME"] == "sales-metrics-local-ProbeFunction"
    assert result["env"]["AWS_SAM_LOCAL"] == "true"
    assert 0 < result["remaining"] <= 10_000
    assert result["layer"] == "from-layer"
    # Another function does not see variables only ProbeFunction defines, even if set outside.
    os.environ["BUCKET_NAME"] = "leaked"
    try:
        assert probe_stack.invoke("OtherFunction", {}) == {"BUCKET_NAME": None, "SHARED": "from-globals"}
    finally:
        del os.environ["BUCKET_NAME"]
    assert "SHARED" not in os.environ


def test_invocations_are_serialised_across_threads(probe_stack: LocalAws) -> None:
    results: list[dict] = []

    def call(name: str) -> None:
        results.append(probe_stack.invoke(name, {}))

    threads = [threading.Thread(target=call, args=(n,)) for n in ["ProbeFunction", "OtherFunction"] * 5]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 10
    for result in results:
        if "env" in result:
            assert result["env"]["SHARED"] == "from-function"
        else:
            assert result == {"BUCKET_NAME": None, "SHARED": "from-globals"}


def test_async_failures_retry_then_go_to_the_destination(probe_stack: LocalAws) -> None:
    module = probe_stack.handler_module("ProbeFunction")
    module.CALLS.clear()
    outcome = probe_stack.invoke_async("ProbeFunction", {"fail": True})
    assert not outcome.ok and outcome.attempts == 2  # MaximumRetryAttempts: 1
    assert len({id(c) for c in module.CALLS}) == 1 and len(module.CALLS) == 2
    queue = probe_stack.queue("ProbeQueue")
    assert outcome.dead_lettered_to == queue.arn
    messages = probe_stack.client("sqs").receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10)
    [message] = messages["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["requestId"] == outcome.request_id
    assert record["requestPayload"] == {"fail": True}
    assert record["responsePayload"]["errorType"] == "RuntimeError"


# --------------------------------------------------------------------------- the drop folder


def test_drop_folder_ingests_stable_csv_files_once(probe_stack: LocalAws, tmp_path: Path) -> None:
    module = probe_stack.handler_module("ProbeFunction")
    module.CALLS.clear()
    seen = []
    folder = DropFolder(probe_stack, tmp_path / "drop", interval=0.01, on_import=seen.append)
    assert folder.key_prefix == "uploads/drop/"
    (folder.folder / "march export.csv").write_bytes(b"a,b\n")
    (folder.folder / "notes.txt").write_bytes(b"x")
    (folder.folder / ".hidden.csv").write_bytes(b"x")
    assert folder.poll() == []  # first sighting: maybe still being written
    (folder.folder / "march export.csv").write_bytes(b"a,b\n1,2\n")  # still growing
    [notes] = folder.poll()  # uploaded like any file; the probe's `.csv` rule notifies no one
    assert notes.key == "uploads/drop/notes.txt" and notes.notified.invocations == []
    [result] = folder.poll()
    assert result.key == "uploads/drop/march export.csv"
    assert folder.poll() == []  # unchanged: not again
    assert len(module.CALLS) == 1
    assert module.CALLS[0]["Records"][0]["s3"]["object"]["key"] == "uploads/drop/march+export.csv"
    body = probe_stack.client("s3").get_object(Bucket=probe_stack.bucket().name, Key=result.key)["Body"]
    assert body.read() == b"a,b\n1,2\n"
    assert seen == [notes, result]
    # Changed content is a new upload.
    (folder.folder / "march export.csv").write_bytes(b"a,b\n1,2\n3,4\n")
    assert folder.poll() == []
    assert len(folder.poll()) == 1
    assert len(module.CALLS) == 2


# --------------------------------------------------------------------------- moto transactions


def test_transactions_stay_all_or_nothing(real_stack: LocalAws) -> None:
    """The local stack replaces moto's whole-table rollback backup by item snapshots."""
    ddb = real_stack.client("dynamodb")
    table = real_stack.table().name

    def item(pk: str) -> dict | None:
        return ddb.get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": "T"}}).get("Item")

    ddb.put_item(TableName=table, Item={"pk": {"S": "tx-a"}, "sk": {"S": "T"}, "v": {"N": "1"}})
    put_b = {"Put": {"TableName": table, "Item": {"pk": {"S": "tx-b"}, "sk": {"S": "T"}}}}
    update_a = {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": "tx-a"}, "sk": {"S": "T"}},
            "UpdateExpression": "ADD v :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }
    failing = {
        "ConditionCheck": {
            "TableName": table,
            "Key": {"pk": {"S": "tx-missing"}, "sk": {"S": "T"}},
            "ConditionExpression": "attribute_exists(pk)",
        }
    }
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(TransactItems=[put_b, update_a, failing])
    assert item("tx-b") is None
    assert item("tx-a")["v"] == {"N": "1"}

    with pytest.raises(ddb.exceptions.ClientError):  # two operations on one item
        ddb.transact_write_items(
            TransactItems=[
                put_b,
                update_a,
                {"Delete": {"TableName": table, "Key": {"pk": {"S": "tx-a"}, "sk": {"S": "T"}}}},
            ]
        )
    assert item("tx-b") is None
    assert item("tx-a")["v"] == {"N": "1"}

    ddb.transact_write_items(TransactItems=[put_b, update_a])
    assert item("tx-b") is not None
    assert item("tx-a")["v"] == {"N": "2"}


def test_describe_table_counts_items_while_a_write_adds_a_partition(real_stack: LocalAws) -> None:
    """moto counts a table's items by walking its partitions; a write adding one meanwhile made
    DescribeTable answer 500 (the health check's call, during an ingest). Here the write lands
    in the middle of the count, deterministically: the count still answers."""
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[ACCOUNT_ID][REGION]
    table = backend.get_table(real_stack.table().name)

    class WrittenMeanwhile(dict):  # type: ignore[type-arg]
        def __len__(self) -> int:
            table.items[f"meanwhile-{id(self)}"] = {}  # another thread's put, mid-walk
            return super().__len__()

    table.items["partition-being-counted"] = WrittenMeanwhile({"T": object()})
    try:
        description = backend.describe_table(table.name)
        assert description["Table"]["ItemCount"] >= 1
    finally:
        for key in [k for k in table.items if str(k).startswith(("meanwhile-", "partition-being-counted"))]:
            del table.items[key]


def test_operator_commands_without_a_running_demo_exit_2(tmp_path: Path, capsys) -> None:
    assert reconcile.main(["--state-file", str(tmp_path / "none.json")]) == 2
    assert redrive.main(["--state-file", str(tmp_path / "none.json")]) == 2
    assert "make demo" in capsys.readouterr().err


def test_delete_import_retracts_it_through_the_local_lambda_invoke_api(ingest_function: LocalAws) -> None:
    """DELETE /imports/{id} invokes the ingest function asynchronously (boto3 Lambda Invoke); the
    local stack answers that call as Lambda does (202, then the function runs with retries), so
    the import ends RETRACTED and its sales leave the figures."""
    stack = ingest_function
    metrics = stack.handler_module("MetricsFunction")
    metrics.reset()
    sales = io.BytesIO()
    summary = generate_export(sales, lines=40, seed=47)
    span = f"start={summary.first_date}&end={summary.last_date}"

    def call(method: str, path: str, query: str = "") -> tuple[int, dict]:
        event = build_event(method, path, query, iam=True)
        answer = stack.invoke("MetricsFunction", event)
        return answer["statusCode"], json.loads(answer.get("body") or "{}")

    status, before = call("GET", "/metrics/revenue", span)  # other tests' imports may share the range
    assert status == 200
    notified = upload_and_notify(stack, sales.getvalue(), "uploads/x/retract-me.csv")
    record = find_import(stack, notified)
    assert record is not None and record.status.value == "SUCCEEDED", record
    status, uploaded = call("GET", "/metrics/revenue", span)
    assert status == 200 and uploaded["order_count"] > before["order_count"]
    status, body = call("DELETE", f"/imports/{record.import_id}")
    assert status in (200, 202), body
    endpoint = stack.lambda_endpoint
    assert endpoint is not None and endpoint.invocations
    for thread in endpoint.invocations:
        thread.join(timeout=120)
    status, after = call("GET", f"/imports/{record.import_id}")
    assert status == 200 and after["status"] == "RETRACTED", after
    status, figures = call("GET", "/metrics/revenue", span)
    assert status == 200 and figures == before
    metrics.reset()


def test_the_local_lambda_api_resolves_names_and_refuses_unknown_ones(real_stack: LocalAws) -> None:
    assert function_name("sales-metrics-local-ingest:live") == "sales-metrics-local-ingest"
    assert function_name("arn:aws:lambda:us-east-1:123456789012:function:f:live") == "f"
    client = boto3.client(
        "lambda",
        endpoint_url=real_stack.environment("MetricsFunction")["AWS_ENDPOINT_URL_LAMBDA"],
        region_name="us-east-1",
    )
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="no-such-function", InvocationType="Event", Payload=b"{}")


def test_removing_a_file_from_the_drop_folder_retracts_its_import(ingest_function: LocalAws, tmp_path: Path) -> None:
    """A file taken out of the drop folder is deleted from the bucket (a delete marker), and the
    ObjectRemoved event S3 would send retracts its import: its sales leave the figures."""
    stack = ingest_function
    folder = DropFolder(stack, tmp_path / "drop", interval=0.01, key_prefix="uploads/drop-undo/")
    path = folder.folder / "wrong.csv"
    summary = generate_export(path, lines=30, seed=53)
    assert folder.poll() == []
    [result] = folder.poll()
    assert result.record is not None and result.record.status.value == "SUCCEEDED", result.record
    path.unlink()
    assert folder.poll() == []  # gone once: maybe being replaced
    folder.poll()
    versions = stack.client("s3").list_object_versions(Bucket=stack.bucket().name, Prefix=result.key)
    assert [m["IsLatest"] for m in versions.get("DeleteMarkers", [])] == [True]
    table = stack.client("dynamodb")
    item = table.get_item(
        TableName=stack.table().name, Key={"pk": {"S": f"IMPORT#{result.record.import_id}"}, "sk": {"S": "IMPORT"}}
    )["Item"]
    assert item["status"]["S"] == "RETRACTED" and int(item["sales_removed"]["N"]) == summary.sales
    assert folder.poll() == []  # removed once, retracted once
