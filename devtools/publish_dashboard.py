"""Puts the dashboard's files into a deployed stack's dashboard bucket, with its config.json.

    make publish-dashboard STACK=sales-metrics-dev [REGION=eu-west-1]
    python -m devtools.publish_dashboard --stack sales-metrics-dev [--region ...]

`sam deploy` creates the bucket, the distribution and the user pool but uploads no static files;
this does, with your AWS credentials: it reads the stack's outputs (DescribeStacks), PUTs every
file of `dashboard/` (content type, `Cache-Control: no-cache` so a new version shows on the next
load) and `config.json`, which tells the page where to sign in:

    {"region": "<region>", "cognito_endpoint": "https://cognito-idp.<region>.amazonaws.com/",
     "client_id": "<DashboardUserPoolClientId>", "api_base": "/app"}

then invalidates the distribution's cache (`/*`). Files no longer in `dashboard/` are deleted
from the bucket (their old versions stay, as the bucket is versioned). Run it after every deploy
that changes `dashboard/`, and once after the first.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = REPO_ROOT / "dashboard"
CONFIG_KEY = "config.json"


class PublishError(RuntimeError):
    """The stack, or what publishing needs from it, is not there (the message says what)."""


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    try:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    except Exception as exc:
        raise PublishError(f"cannot read stack {stack_name}: {exc}") from exc
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}


def config_for(outputs: Mapping[str, str], region: str) -> dict[str, str]:
    """The page's config.json for a deployed stack (the regional Cognito endpoint)."""
    missing = [name for name in ("DashboardUserPoolClientId", "DashboardBucketName") if not outputs.get(name)]
    if missing:
        raise PublishError(f"the stack has no {', '.join(missing)} output: deploy the current template.yaml first")
    return {
        "region": region,
        "cognito_endpoint": f"https://cognito-idp.{region}.amazonaws.com/",
        "client_id": outputs["DashboardUserPoolClientId"],
        "api_base": "/app",
    }


def files_of(root: Path) -> dict[str, Path]:
    """Key -> file for every file of the site (hidden files left out)."""
    return {
        path.relative_to(root).as_posix(): path
        for path in sorted(root.rglob("*"))
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts)
    }


def content_type(key: str) -> str:
    guessed = mimetypes.guess_type(key)[0] or "application/octet-stream"
    return guessed + "; charset=utf-8" if guessed.startswith("text/") or guessed.endswith("javascript") else guessed


def publish(s3: Any, bucket: str, root: Path, config: Mapping[str, Any]) -> dict[str, list[str]]:
    """Upload the site and its config; delete what the site no longer has. Answers what it did."""
    files = files_of(root)
    if "index.html" not in files:
        raise PublishError(f"{root} has no index.html")
    if CONFIG_KEY in files:
        raise PublishError(f"{root / CONFIG_KEY} must not exist: config.json is written per stack")
    uploaded = []
    for key, path in files.items():
        with path.open("rb") as body:
            s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type(key), CacheControl="no-cache")
        uploaded.append(key)
    s3.put_object(
        Bucket=bucket,
        Key=CONFIG_KEY,
        Body=json.dumps(config, indent=2).encode(),
        ContentType="application/json",
        CacheControl="no-store",
    )
    uploaded.append(CONFIG_KEY)
    keep = set(uploaded)
    deleted = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents") or []:
            if item["Key"] not in keep:
                s3.delete_object(Bucket=bucket, Key=item["Key"])
                deleted.append(item["Key"])
    return {"uploaded": uploaded, "deleted": deleted}


def invalidate(cloudfront: Any, distribution_id: str) -> str:
    answer = cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": f"publish-{time.time_ns()}"},
    )
    return str(answer["Invalidation"]["Id"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.publish_dashboard", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--region", default=None)
    args = parser.parse_args(argv)
    import boto3

    session = boto3.session.Session(region_name=args.region)
    region = session.region_name
    if not region:
        print("publish-dashboard: no region: pass --region / REGION= or set AWS_REGION", file=sys.stderr)
        return 2
    try:
        outputs = stack_outputs(session.client("cloudformation"), args.stack)
        config = config_for(outputs, region)
        done = publish(session.client("s3"), outputs["DashboardBucketName"], DASHBOARD, config)
        invalidation = invalidate(session.client("cloudfront"), outputs["DashboardDistributionId"])
    except PublishError as exc:
        print(f"publish-dashboard: {exc}", file=sys.stderr)
        return 1
    print(
        f"published {len(done['uploaded'])} files to s3://{outputs['DashboardBucketName']}/"
        f" ({len(done['deleted'])} old ones deleted), invalidation {invalidation}\n"
        f"dashboard: {outputs.get('DashboardUrl', '(see the DashboardUrl output)')}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
