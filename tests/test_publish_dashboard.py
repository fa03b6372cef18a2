"""`make publish-dashboard`: the page's files and its config.json into a stack's dashboard bucket
(moto in-process stands in for S3, CloudFormation and CloudFront)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devtools.publish_dashboard import DASHBOARD, PublishError, config_for, invalidate, publish

BUCKET = "sales-metrics-dev-dashboardbucket-abc"
OUTPUTS = {
    "DashboardBucketName": BUCKET,
    "DashboardUserPoolClientId": "3n4b5urk1ft4fl3mg5e62d9ado",
    "DashboardDistributionId": "E2EXAMPLE",
}


@pytest.fixture
def s3() -> Any:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_the_config_points_the_page_at_the_regional_cognito_and_the_stacks_client() -> None:
    assert config_for(OUTPUTS, "eu-west-1") == {
        "region": "eu-west-1",
        "cognito_endpoint": "https://cognito-idp.eu-west-1.amazonaws.com/",
        "client_id": "3n4b5urk1ft4fl3mg5e62d9ado",
        "api_base": "/app",
    }


def test_a_stack_without_the_dashboard_outputs_is_refused_by_name() -> None:
    with pytest.raises(PublishError, match="DashboardUserPoolClientId"):
        config_for({"DashboardBucketName": BUCKET}, "us-east-1")


def test_every_file_goes_up_with_its_content_type_and_the_config_beside_them(s3: Any) -> None:
    done = publish(s3, BUCKET, DASHBOARD, config_for(OUTPUTS, "us-east-1"))
    assert {"index.html", "dashboard.js", "dashboard.css", "vendor/uplot/uPlot.iife.min.js", "config.json"} <= set(
        done["uploaded"]
    )
    index = s3.get_object(Bucket=BUCKET, Key="index.html")
    assert index["ContentType"] == "text/html; charset=utf-8"
    assert index["CacheControl"] == "no-cache"
    assert index["Body"].read() == (DASHBOARD / "index.html").read_bytes()
    script = s3.head_object(Bucket=BUCKET, Key="dashboard.js")
    assert "javascript" in script["ContentType"]
    config = json.loads(s3.get_object(Bucket=BUCKET, Key="config.json")["Body"].read())
    assert config["client_id"] == OUTPUTS["DashboardUserPoolClientId"]


def test_files_the_site_no_longer_has_are_deleted(s3: Any, tmp_path: Path) -> None:
    s3.put_object(Bucket=BUCKET, Key="old-page.js", Body=b"gone")
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html>", encoding="utf-8")
    done = publish(s3, BUCKET, site, config_for(OUTPUTS, "us-east-1"))
    assert done["deleted"] == ["old-page.js"]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {"index.html", "config.json"}


def test_a_site_with_its_own_config_json_is_refused(s3: Any, tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html>", encoding="utf-8")
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(PublishError, match=r"config\.json must not exist"):
        publish(s3, BUCKET, tmp_path, config_for(OUTPUTS, "us-east-1"))


def test_the_distribution_is_invalidated_whole() -> None:
    with mock_aws():
        cloudfront = boto3.client("cloudfront", region_name="us-east-1")
        distribution = cloudfront.create_distribution(
            DistributionConfig={
                "CallerReference": "test",
                "Origins": {
                    "Quantity": 1,
                    "Items": [
                        {
                            "Id": "s3",
                            "DomainName": f"{BUCKET}.s3.amazonaws.com",
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                        }
                    ],
                },
                "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "https-only", "MinTTL": 0},
                "Comment": "",
                "Enabled": True,
            }
        )["Distribution"]
        invalidation = invalidate(cloudfront, distribution["Id"])
        listed = cloudfront.get_invalidation(DistributionId=distribution["Id"], Id=invalidation)["Invalidation"]
        assert listed["InvalidationBatch"]["Paths"]["Items"] == ["/*"]
