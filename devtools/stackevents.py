"""`sam local invoke` events and an `--env-vars` file for a stack `sam deploy` created.

    make events STACK=sales-metrics-dev [KEY=uploads/your-export.csv]
    python -m devtools.stackevents --stack sales-metrics-dev [--region eu-west-1] [--key ...]

Reads the stack with your AWS credentials (read only: DescribeStacks, DescribeStackResources,
ListObjectVersions/HeadObject on the uploads bucket) and writes `events/deployed/`:

- `env.json`: for every function, each variable its template Environment declares, resolved the
  way CloudFormation resolved it for this stack (the stack's parameters, the physical names of its
  table, bucket and queue). `sam local invoke --env-vars` overrides exactly those variables.
- `s3-put-uploads.json`: the ObjectCreated:Put event S3 sent (or would send) for an export in the
  stack's uploads bucket: `--key`, or else the newest object under the uploads prefix (its real
  size, ETag and version id, its key encoded the way S3 encodes it).
- `api-*.json`: the API events of `events/` for this stack's HTTP API (its id, domain, stage and
  account), so `rawPath` and `requestContext` match what API Gateway sends it.

Nothing is written to the stack or the bucket.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from devtools.s3events import build_put_event, configuration_id
from devtools.template import ResourceInfo, Template, TemplateError

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = REPO_ROOT / "template.yaml"
EVENTS = REPO_ROOT / "events"
OUT = EVENTS / "deployed"
API_EVENTS = ("api-health.json", "api-imports.json", "api-revenue.json", "api-revenue-daily.json", "api-uploads.json")


class StackError(RuntimeError):
    """The stack, or what the events need from it, is not there (the message says what)."""


def describe(cloudformation: Any, stack_name: str) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
    """The stack (parameters, outputs) and its resources: logical id -> (type, physical id)."""
    try:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    except Exception as exc:
        raise StackError(f"cannot read stack {stack_name}: {exc}") from exc
    resources: dict[str, tuple[str, str]] = {}
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for resource in page["StackResourceSummaries"]:
            if resource.get("PhysicalResourceId"):
                resources[resource["LogicalResourceId"]] = (resource["ResourceType"], resource["PhysicalResourceId"])
    return stack, resources


def deployed_template(
    stack: Mapping[str, Any], resources: Mapping[str, tuple[str, str]], region: str, template_path: Path = TEMPLATE
) -> Template:
    """template.yaml resolved as CloudFormation resolved it for this stack."""
    account = str(stack["StackId"]).split(":")[4]
    parameters = {
        p["ParameterKey"]: p.get("ResolvedValue", p.get("ParameterValue")) for p in stack.get("Parameters") or []
    }
    template = Template(
        template_path, parameters=parameters, stack_name=str(stack["StackName"]), region=region, account_id=account
    )
    for logical_id, (kind, physical) in resources.items():
        template.overrides[logical_id] = _resource_info(kind, physical, region, account)
    return template


def _resource_info(kind: str, physical: str, region: str, account: str) -> ResourceInfo:
    if kind == "AWS::S3::Bucket":
        return ResourceInfo(physical, {"Arn": f"arn:aws:s3:::{physical}"})
    if kind == "AWS::DynamoDB::Table":
        return ResourceInfo(physical, {"Arn": f"arn:aws:dynamodb:{region}:{account}:table/{physical}"})
    if kind == "AWS::SQS::Queue":
        name = physical.rstrip("/").rsplit("/", 1)[-1]
        return ResourceInfo(
            physical, {"Arn": f"arn:aws:sqs:{region}:{account}:{name}", "QueueName": name, "QueueUrl": physical}
        )
    if kind == "AWS::Lambda::Function":
        return ResourceInfo(physical, {"Arn": f"arn:aws:lambda:{region}:{account}:function:{physical}"})
    if kind == "AWS::SNS::Topic":
        return ResourceInfo(physical, {"TopicArn": physical, "TopicName": physical.rsplit(":", 1)[-1]})
    return ResourceInfo(physical, {"Arn": physical})


def env_vars(template: Template) -> dict[str, dict[str, str]]:
    return {fn.logical_id: dict(sorted(fn.environment.items())) for fn in template.functions()}


def s3_event(s3: Any, template: Template, key: str | None) -> tuple[dict[str, Any], str]:
    """The ObjectCreated:Put event of `key` (or of the newest upload), and the key."""
    ingest = next((fn for fn in template.functions() if fn.s3_events), None)
    if ingest is None:
        raise StackError("no function of the template is notified by S3")
    # The notification of created objects (the function also hears of removed ones: retractions).
    spec = next((e for e in ingest.s3_events if any(p.startswith("s3:ObjectCreated") for p in e.events)), None)
    if spec is None:
        raise StackError("no function of the template is notified of created objects")
    prefix = next((value for name, value in spec.rules if name.lower() == "prefix"), "")
    bucket = spec.bucket_name
    if key is None:
        newest: dict[str, Any] | None = None
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            for version in page.get("Versions") or []:
                if (
                    version.get("IsLatest")
                    and spec.matches("s3:ObjectCreated:Put", version["Key"])
                    and (newest is None or version["LastModified"] > newest["LastModified"])
                ):
                    newest = version
        if newest is None:
            raise StackError(
                f"s3://{bucket}/{prefix} holds no export yet: upload one (aws s3 cp "
                f"export.csv s3://{bucket}/{prefix}) or pass KEY=..., then run this again"
            )
        key = str(newest["Key"])
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except Exception as exc:
        raise StackError(f"s3://{bucket}/{key}: {exc}") from exc
    event = build_put_event(
        bucket=bucket,
        key=key,
        size=int(head["ContentLength"]),
        etag=str(head["ETag"]),
        version_id=head.get("VersionId"),
        region=template.region,
        when=head.get("LastModified"),
        config_id=configuration_id(ingest.logical_id, spec.name),
    )
    return event, key


def api_event(example: dict[str, Any], api_url: str, account: str) -> dict[str, Any]:
    """A committed API event, re-addressed to the deployed API (`ApiUrl` output)."""
    url = urlsplit(api_url)
    domain = url.netloc
    stage = url.path.strip("/") or "$default"
    event: dict[str, Any] = json.loads(json.dumps(example))
    route_path = example["requestContext"]["http"]["path"]
    old_stage = example["requestContext"].get("stage", "$default")
    if old_stage != "$default" and route_path.startswith(f"/{old_stage}/"):
        route_path = route_path[len(old_stage) + 1 :]
    path = route_path if stage == "$default" else f"/{stage}{route_path}"
    event["rawPath"] = path
    event.setdefault("headers", {})["host"] = domain
    context = event["requestContext"]
    context.update(
        {
            "accountId": account,
            "apiId": domain.split(".", 1)[0],
            "domainName": domain,
            "domainPrefix": domain.split(".", 1)[0],
            "stage": stage,
        }
    )
    context["http"]["path"] = path
    iam = (context.get("authorizer") or {}).get("iam")
    if isinstance(iam, dict):
        iam["accountId"] = account
    return event


def write(
    stack_name: str,
    *,
    region: str | None = None,
    key: str | None = None,
    out: Path = OUT,
    session: Any = None,
    template_path: Path = TEMPLATE,
) -> list[Path]:
    import boto3

    session = session or boto3.session.Session(region_name=region)
    # botocore reads AWS_DEFAULT_REGION; the AWS CLI and Lambda also know AWS_REGION.
    region = region or session.region_name or os.environ.get("AWS_REGION")
    if not region:
        raise StackError("no AWS region: pass REGION=... (or --region), or configure one (AWS_REGION)")
    stack, resources = describe(session.client("cloudformation", region_name=region), stack_name)
    template = deployed_template(stack, resources, region, template_path)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}
    out.mkdir(parents=True, exist_ok=True)
    written = []

    def dump(name: str, data: Any) -> None:
        path = out / name
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        written.append(path)

    dump("env.json", env_vars(template))
    event, object_key = s3_event(session.client("s3", region_name=region), template, key)
    dump("s3-put-uploads.json", event)
    api_url = outputs.get("ApiUrl")
    if api_url:
        account = str(stack["StackId"]).split(":")[4]
        for name in API_EVENTS:
            example = EVENTS / name
            if example.exists():
                dump(name, api_event(json.loads(example.read_text(encoding="utf-8")), api_url, account))
    print(
        f"stack {stack_name} ({region}): the ingest event is for s3://{event['Records'][0]['s3']['bucket']['name']}"
        f"/{object_key}",
        file=sys.stderr,
    )
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.stackevents", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="the stack name (samconfig.toml: stack_name)")
    parser.add_argument("--region", default=None, help="default: your AWS configuration's")
    parser.add_argument("--key", default=None, help="the export the ingest event is for (default: the newest upload)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    try:
        written = write(args.stack, region=args.region, key=args.key, out=args.out)
    except (StackError, TemplateError) as exc:
        print(f"stackevents: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
