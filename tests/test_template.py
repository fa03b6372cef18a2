"""Properties the deployed template must keep: runtime, logging, safe deployments, auth, storage
protection, least-privilege IAM, alarms, which uploads reach the ingest function.

Each property is a `check_*` function over the parsed template. `test_*` runs it on template.yaml;
`test_check_fails_when_property_removed` runs it again on a copy with that property removed and
expects it to fail, so a check that silently passes on anything is caught too.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.template import Resolver, load_template, references, sam_properties

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"

FUNCTIONS = ["IngestFunction", "RedriveFunction", "ReconcileFunction", "MetricsFunction", "HealthFunction"]
API_FUNCTIONS = ["MetricsFunction", "HealthFunction"]
BUCKET = "UploadsBucket"
TABLE = "SalesTable"
DLQ = "IngestDeadLetterQueue"
TOPIC = "AlarmTopic"
# The uploads bucket's ARN as the ingest path must spell it (!Sub on the bucket's own name).
BUCKET_ARN_SUB = "arn:${AWS::Partition}:s3:::sales-metrics-${Stage}-${AWS::AccountId}-${AWS::Region}"

# Allow statements whose Action is a whole service ("kms:*", "*") or whose Resource is "*", each
# with the reason it is there. Anything else with a wildcard fails test_no_wildcard_allows.
DOCUMENTED_WILDCARDS = {
    (
        "AlarmTopicKey",
        "AllowAccountAdministration",
    ): "key policy: the account must be able to administer the key; Resource * means this key",
    (
        "AlarmTopicKey",
        "AllowCloudWatchAlarmsToPublish",
    ): "key policy: Resource * means this key; CloudWatch encrypts alarm messages for the topic",
}


# --------------------------------------------------------------------------- loading


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    """template.yaml as written (SAM, short tags in the long form), read by the local AWS's loader."""
    return load_template(TEMPLATE)


# --------------------------------------------------------------------------- helpers


def resources(t: dict[str, Any], type_: str | None = None) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in t["Resources"].items() if type_ is None or v.get("Type") == type_}


def props(t: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return t["Resources"][logical_id].get("Properties") or {}


def function_props(t: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """A function's properties with Globals.Function merged the way SAM merges them."""
    return sam_properties(t, logical_id)


def is_ref(value: Any, target: str) -> bool:
    return value == {"Ref": target}


def is_getatt(value: Any, target: str, attribute: str | None = None) -> bool:
    if not isinstance(value, dict) or "Fn::GetAtt" not in value:
        return False
    resource, attr = value["Fn::GetAtt"][0], ".".join(value["Fn::GetAtt"][1:])
    return resource == target and (attribute is None or attr == attribute)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def sub_text(value: Any) -> str:
    """The template string of a !Sub (plain strings pass through)."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        inner = value["Fn::Sub"]
        return inner[0] if isinstance(inner, list) else inner
    assert isinstance(value, str), f"expected a string or !Sub, got {value!r}"
    return value


def evaluate_condition(t: dict[str, Any], name: str, overrides: dict[str, Any] | None = None) -> bool:
    """Evaluate a Condition with the parameters' defaults (plus overrides), as the local AWS does."""
    return Resolver(t, parameters=overrides).condition(name)


def statements_of(t: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, statement) for every policy statement in the template."""
    for logical_id, resource in t["Resources"].items():
        p = resource.get("Properties") or {}
        kind = resource.get("Type")
        if kind == "AWS::Serverless::Function":
            for policy in as_list(p.get("Policies") or []):
                if isinstance(policy, dict) and "Statement" in policy:
                    for statement in policy["Statement"]:
                        yield logical_id, statement
        documents = [p.get("PolicyDocument"), p.get("KeyPolicy"), p.get("AssumeRolePolicyDocument")]
        for policy in p.get("Policies") or [] if kind == "AWS::IAM::Role" else []:
            documents.append(policy.get("PolicyDocument"))
        for document in documents:
            if isinstance(document, dict):
                for statement in as_list(document.get("Statement") or []):
                    yield logical_id, statement


def function_statements(t: dict[str, Any], logical_id: str) -> list[dict[str, Any]]:
    return [s for owner, s in statements_of(t) if owner == logical_id]


def grants(t: dict[str, Any], logical_id: str) -> set[tuple[str, str]]:
    """(action, resource description) pairs a function's Allow statements grant."""
    out = set()
    for statement in function_statements(t, logical_id):
        assert statement.get("Effect") == "Allow", statement
        for action in as_list(statement["Action"]):
            for resource in as_list(statement["Resource"]):
                out.add((action, describe_resource(resource)))
    return out


def describe_resource(resource: Any) -> str:
    """A stable description of a policy Resource: "table", "table/index/gsi1", "bucket",
    "uploads-prefix", "rejects-prefix", "dlq" - or the raw value when unrecognised."""
    if is_getatt(resource, TABLE, "Arn"):
        return "table"
    if is_getatt(resource, BUCKET, "Arn"):
        return "bucket"
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        if sub_text(resource) == BUCKET_ARN_SUB:
            return "bucket"
        if sub_text(resource).endswith(":function:${AWS::StackName}-ingest:live"):
            return "ingest-function"
    if is_getatt(resource, DLQ, "Arn"):
        return "dlq"
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        text = sub_text(resource)
        if text == "${SalesTable.Arn}/index/gsi1":
            return "table/index/gsi1"
        for bucket_arn in (BUCKET_ARN_SUB, "${UploadsBucket.Arn}"):
            if text == bucket_arn + "/${UploadsPrefix}*":
                return "uploads-prefix"
            if text == bucket_arn + "/${RejectsPrefix}*":
                return "rejects-prefix"
            if text == bucket_arn + "/changes/*":
                return "changes-prefix"
    return repr(resource)


def bucket_name_sub(t: dict[str, Any]) -> str:
    return sub_text(props(t, BUCKET)["BucketName"])


# --------------------------------------------------------------------------- checks


def check_function_runtime(t: dict[str, Any]) -> None:
    assert set(FUNCTIONS) <= set(resources(t, "AWS::Serverless::Function"))
    for name in resources(t, "AWS::Serverless::Function"):
        p = function_props(t, name)
        assert p.get("Runtime") == "python3.13", name
        assert p.get("Architectures") == ["arm64"], name
        assert p.get("Tracing") == "Active", name
        assert {"Ref": "CommonLayer"} in (p.get("Layers") or []), name


def check_function_handlers(t: dict[str, Any]) -> None:
    expected = {
        "IngestFunction": ("functions/ingest/", "ingest_handler.handler"),
        "RedriveFunction": ("functions/ingest/", "redrive_handler.handler"),
        "ReconcileFunction": ("functions/ingest/", "reconcile_handler.handler"),
        "MetricsFunction": ("functions/metrics/", "metrics_handler.handler"),
        "HealthFunction": ("functions/health/", "health_handler.handler"),
    }
    for name, (code_uri, handler) in expected.items():
        p = props(t, name)
        assert (p.get("CodeUri"), p.get("Handler")) == (code_uri, handler), name
    assert function_props(t, "IngestFunction")["Timeout"] == 900
    assert function_props(t, "RedriveFunction")["Timeout"] == 900


def check_function_log_groups(t: dict[str, Any]) -> None:
    for name in resources(t, "AWS::Serverless::Function"):
        p = function_props(t, name)
        logging = p.get("LoggingConfig") or {}
        assert logging.get("LogFormat") == "JSON", name
        group = logging.get("LogGroup")
        assert isinstance(group, dict) and "Ref" in group, f"{name}: LoggingConfig.LogGroup must !Ref a log group"
        group_resource = t["Resources"][group["Ref"]]
        assert group_resource["Type"] == "AWS::Logs::LogGroup", name
        group_props = group_resource["Properties"]
        assert is_ref(group_props.get("RetentionInDays"), "LogRetentionDays"), name
        assert sub_text(group_props["LogGroupName"]) == "/aws/lambda/" + sub_text(p["FunctionName"]), name
    assert t["Parameters"]["LogRetentionDays"]["Default"] == 30


def check_safe_deployments(t: dict[str, Any]) -> None:
    alarms = resources(t, "AWS::CloudWatch::Alarm")
    for name in resources(t, "AWS::Serverless::Function"):
        p = function_props(t, name)
        assert p.get("AutoPublishAlias") == "live", name
        assert p.get("AutoPublishAliasAllProperties") is True, f"{name}: layer updates would not go live"
        preference = p.get("DeploymentPreference") or {}
        assert preference.get("Type"), name
        rollback = preference.get("Alarms") or []
        assert rollback, f"{name}: DeploymentPreference needs rollback alarms"
        for alarm in rollback:
            assert isinstance(alarm, dict) and alarm.get("Ref") in alarms, f"{name}: {alarm!r} is not an alarm"
            dims = {d["Name"]: d["Value"] for d in alarms[alarm["Ref"]]["Properties"].get("Dimensions", [])}
            assert is_ref(dims.get("FunctionName"), name), f"{name}: rollback alarm watches another function"
    for name in API_FUNCTIONS:
        assert function_props(t, name)["DeploymentPreference"]["Type"] == "Canary10Percent5Minutes", name


def check_log_level_parameters(t: dict[str, Any]) -> None:
    variables = t["Globals"]["Function"]["Environment"]["Variables"]
    assert is_ref(variables.get("POWERTOOLS_LOG_LEVEL"), "LogLevel")
    assert "POWERTOOLS_LOGGER_SAMPLE_RATE" in variables
    for name in resources(t, "AWS::Serverless::Function"):
        logging = function_props(t, name)["LoggingConfig"]
        # Lambda's filter must equal Powertools' level, or Lambda silently drops lines.
        assert is_ref(logging.get("ApplicationLogLevel"), "LogLevel"), name


def http_routes(t: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(function, METHOD, path, event properties) of every HttpApi event."""
    out = []
    for name in resources(t, "AWS::Serverless::Function"):
        for event in (props(t, name).get("Events") or {}).values():
            if event.get("Type") == "HttpApi":
                ep = event["Properties"]
                out.append((name, ep["Method"].upper(), ep["Path"], ep))
    return out


def check_api_auth(t: dict[str, Any]) -> None:
    api = props(t, "HttpApi")
    auth = api.get("Auth") or {}
    assert auth.get("DefaultAuthorizer") == "AWS_IAM"
    assert auth.get("EnableIamAuthorizer") is True
    routes = http_routes(t)
    assert {(m, p) for _, m, p, _ in routes} >= {
        ("GET", "/metrics/revenue"),
        ("GET", "/metrics/revenue/daily"),
        ("GET", "/imports"),
        ("GET", "/imports/{import_id}"),
        ("GET", "/metrics/revenue/series"),
        ("GET", "/metrics/revenue/by/{dimension}"),
        ("GET", "/imports/{import_id}/rejects"),
        ("POST", "/uploads"),
        ("GET", "/swagger"),
        ("GET", "/health"),
    }
    for function, method, path, ep in routes:
        assert is_ref(ep.get("ApiId"), "HttpApi"), (function, path)
        authorizer = (ep.get("Auth") or {}).get("Authorizer", auth["DefaultAuthorizer"])
        if (method, path) == ("GET", "/health"):
            assert authorizer == "NONE", "/health must be reachable without credentials"
        elif (method, path) == ("GET", "/swagger"):
            # The OpenAPI document and Swagger UI hold no data; a browser cannot sign requests.
            assert authorizer == "NONE", "/swagger must be reachable without credentials"
        elif path.startswith("/app/"):
            # The dashboard's copy of the metrics routes: a signed-in user of the pool, never open.
            assert (function, method, path) == ("MetricsFunction", "ANY", "/app/{proxy+}"), path
            assert authorizer == "DashboardJwt", f"{method} {path} must require the dashboard's JWT"
        else:
            assert authorizer == "AWS_IAM", f"{method} {path} must require IAM"
    assert any(p.startswith("/app/") for _, _, p, _ in routes), "the dashboard needs its /app routes"


def check_api_throttling_and_access_logs(t: dict[str, Any]) -> None:
    api = props(t, "HttpApi")
    route_settings = api.get("DefaultRouteSettings") or {}
    assert is_ref(route_settings.get("ThrottlingBurstLimit"), "ApiThrottleBurst")
    assert is_ref(route_settings.get("ThrottlingRateLimit"), "ApiThrottleRate")
    logs = api.get("AccessLogSettings") or {}
    destination = logs.get("DestinationArn")
    assert isinstance(destination, dict) and "Fn::GetAtt" in destination
    group = t["Resources"][destination["Fn::GetAtt"][0]]
    assert group["Type"] == "AWS::Logs::LogGroup" and "RetentionInDays" in group["Properties"]
    for variable in (
        "$context.requestId",
        "$context.routeKey",
        "$context.status",
        "$context.responseLatency",
    ):
        assert variable in logs.get("Format", ""), variable


def _conditional_cors(t: dict[str, Any], logical_id: str, cors: Any) -> None:
    assert isinstance(cors, dict) and "Fn::If" in cors, f"{logical_id}: CORS must depend on a condition"
    condition, _, otherwise = cors["Fn::If"]
    assert otherwise == {"Ref": "AWS::NoValue"}, logical_id
    assert not evaluate_condition(t, condition), f"{logical_id}: CORS must be off by default"
    assert evaluate_condition(t, condition, {"CorsAllowedOrigins": "https://app.example.com"})


def check_cors_closed_by_default(t: dict[str, Any]) -> None:
    """No origin but the dashboard's own is allowed unless CorsAllowedOrigins names one; the
    API itself needs none for the dashboard (CloudFront serves /app/* on the page's origin)."""
    assert t["Parameters"]["CorsAllowedOrigins"]["Type"] == "CommaDelimitedList"
    assert t["Parameters"]["CorsAllowedOrigins"].get("Default") == ""
    cors = props(t, "HttpApi").get("CorsConfiguration")
    if cors is not None:
        _conditional_cors(t, "HttpApi", cors)
    rules = (props(t, BUCKET).get("CorsConfiguration") or {}).get("CorsRules") or []
    for rule in rules:
        if isinstance(rule, dict) and "Fn::If" in rule:
            _conditional_cors(t, BUCKET, rule)
            continue
        # The one unconditional rule: the dashboard's distribution, PUT and GET of presigned URLs.
        assert [sub_text(o) for o in rule["AllowedOrigins"]] == ["https://${DashboardDistribution.DomainName}"], rule
        assert set(rule["AllowedMethods"]) <= {"PUT", "GET"}, rule


def check_bucket(t: dict[str, Any]) -> None:
    p = props(t, BUCKET)
    assert p.get("VersioningConfiguration") == {"Status": "Enabled"}
    rules = p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rules and rules[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    block = p.get("PublicAccessBlockConfiguration") or {}
    for key in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
        assert block.get(key) is True, key
    assert {"ObjectOwnership": "BucketOwnerEnforced"} in p["OwnershipControls"]["Rules"]
    assert bucket_name_sub(t) == "sales-metrics-${Stage}-${AWS::AccountId}-${AWS::Region}"
    lifecycle = p["LifecycleConfiguration"]["Rules"]
    rejects = [r for r in lifecycle if is_ref(r.get("Prefix"), "RejectsPrefix") and r.get("Status") == "Enabled"]
    assert rejects and is_ref(rejects[0].get("ExpirationInDays"), "RejectsExpirationDays")
    assert any(
        r.get("Status") == "Enabled"
        and "Prefix" not in r
        and is_ref(
            (r.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays"),
            "NoncurrentVersionExpirationDays",
        )
        for r in lifecycle
    ), "noncurrent versions must expire"


def check_bucket_tls_only(t: dict[str, Any]) -> None:
    policies = [
        p
        for p in (r.get("Properties") for r in resources(t, "AWS::S3::BucketPolicy").values())
        if is_ref(p.get("Bucket"), BUCKET)
    ]
    assert policies, "the uploads bucket needs a bucket policy"
    covered = set()
    for policy in policies:
        for s in as_list(policy["PolicyDocument"]["Statement"]):
            secure = ((s.get("Condition") or {}).get("Bool") or {}).get("aws:SecureTransport")
            if s.get("Effect") == "Deny" and s.get("Principal") == "*" and str(secure).lower() == "false":
                assert as_list(s["Action"]) in (["s3:*"], ["*"])
                covered |= {
                    describe_resource(r) if not isinstance(r, dict) or "Fn::Sub" not in r else sub_text(r)
                    for r in as_list(s["Resource"])
                }
    assert {"bucket", "${UploadsBucket.Arn}/*"} <= covered, "deny non-TLS on the bucket and its objects"


def check_dashboard_hosting(t: dict[str, Any]) -> None:
    """The dashboard's files: a private bucket only its CloudFront distribution can read (Origin
    Access Control), served over HTTPS only with security headers; /app/* goes to the API."""
    bucket = props(t, "DashboardBucket")
    block = bucket.get("PublicAccessBlockConfiguration") or {}
    for key in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
        assert block.get(key) is True, key
    assert {"ObjectOwnership": "BucketOwnerEnforced"} in bucket["OwnershipControls"]["Rules"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    policy = next(
        p
        for p in (r.get("Properties") for r in resources(t, "AWS::S3::BucketPolicy").values())
        if is_ref(p.get("Bucket"), "DashboardBucket")
    )
    allows = [s for s in as_list(policy["PolicyDocument"]["Statement"]) if s.get("Effect") == "Allow"]
    assert len(allows) == 1, "one Allow: CloudFront's"
    allow = allows[0]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert as_list(allow["Action"]) == ["s3:GetObject"]
    source = allow["Condition"]["StringEquals"]["AWS:SourceArn"]
    assert sub_text(source).endswith(":distribution/${DashboardDistribution}"), "only this distribution"
    assert any(
        s.get("Effect") == "Deny"
        and str(((s.get("Condition") or {}).get("Bool") or {}).get("aws:SecureTransport")).lower() == "false"
        for s in as_list(policy["PolicyDocument"]["Statement"])
    ), "deny non-TLS on the dashboard bucket"

    oac = props(t, "DashboardOriginAccessControl")["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == (
        "s3",
        "always",
        "sigv4",
    )
    config = props(t, "DashboardDistribution")["DistributionConfig"]
    assert config["DefaultRootObject"] == "index.html"
    origins = {o["Id"]: o for o in config["Origins"]}
    static = origins[config["DefaultCacheBehavior"]["TargetOriginId"]]
    assert is_getatt(static["DomainName"], "DashboardBucket", "RegionalDomainName")
    assert is_getatt(static["OriginAccessControlId"], "DashboardOriginAccessControl", "Id")
    assert static["S3OriginConfig"] == {"OriginAccessIdentity": ""}, "OAC, not a legacy OAI"
    behaviours = [config["DefaultCacheBehavior"], *config.get("CacheBehaviors", [])]
    for behaviour in behaviours:
        assert behaviour["ViewerProtocolPolicy"] in ("https-only", "redirect-to-https"), behaviour
        assert is_ref(behaviour.get("ResponseHeadersPolicyId"), "DashboardSecurityHeaders"), behaviour
    api = [b for b in behaviours if b.get("PathPattern") == "/app/*"]
    assert api, "/app/* must reach the API"
    api_origin = origins[api[0]["TargetOriginId"]]
    assert "${HttpApi}.execute-api." in sub_text(api_origin["DomainName"])
    assert api_origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    # CloudFront forwards Authorization only when the cache policy keys on it; the API is not cached.
    cache = props(t, "DashboardApiCachePolicy")["CachePolicyConfig"]
    assert cache["DefaultTTL"] == 0 and cache["MinTTL"] == 0
    assert "Authorization" in cache["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"]["Headers"]
    assert is_ref(api[0]["CachePolicyId"], "DashboardApiCachePolicy")

    headers = props(t, "DashboardSecurityHeaders")["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["ContentTypeOptions"]["Override"] is True
    csp = sub_text(headers["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    for directive in ("default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "connect-src 'self'"):
        assert directive in csp, directive
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    outputs = t.get("Outputs") or {}
    assert {"DashboardUrl", "DashboardBucketName", "DashboardUserPoolId", "DashboardUserPoolClientId"} <= set(outputs)


def check_dashboard_sign_in(t: dict[str, Any]) -> None:
    """Cognito without self sign-up, a password policy and an MFA parameter; the JWT authorizer
    takes its issuer and audience from that pool and its app client."""
    pool = props(t, "DashboardUserPool")
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True, "no self sign-up"
    policy = pool["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12
    for rule in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"):
        assert policy[rule] is True, rule
    assert is_ref(pool["MfaConfiguration"], "DashboardMfa")
    assert set(t["Parameters"]["DashboardMfa"]["AllowedValues"]) == {"OFF", "OPTIONAL", "ON"}
    client = props(t, "DashboardUserPoolClient")
    assert is_ref(client["UserPoolId"], "DashboardUserPool")
    assert client["GenerateSecret"] is False, "a browser cannot keep a client secret"
    assert set(client["ExplicitAuthFlows"]) == {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    jwt = props(t, "HttpApi")["Auth"]["Authorizers"]["DashboardJwt"]
    assert jwt["IdentitySource"] == "$request.header.Authorization"
    issuer = sub_text(jwt["JwtConfiguration"]["issuer"])
    assert issuer == "https://cognito-idp.${AWS::Region}.${AWS::URLSuffix}/${DashboardUserPool}", issuer
    assert jwt["JwtConfiguration"]["audience"] == [{"Ref": "DashboardUserPoolClient"}]


def check_table(t: dict[str, Any]) -> None:
    p = props(t, TABLE)
    assert p["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    gsi = {g["IndexName"]: g for g in p["GlobalSecondaryIndexes"]}
    assert gsi["gsi1"]["KeySchema"] == [
        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
    ]
    assert gsi["gsi1"]["Projection"] == {"ProjectionType": "ALL"}
    assert p["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert p["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert p["SSESpecification"]["SSEEnabled"] is True
    assert is_ref(p.get("DeletionProtectionEnabled"), "TableDeletionProtection")
    assert t["Parameters"]["TableDeletionProtection"]["Default"] == "true"


def check_ingest_failure_destination(t: dict[str, Any]) -> None:
    config = props(t, "IngestFunction")["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 2
    on_failure = config["DestinationConfig"]["OnFailure"]
    assert on_failure["Type"] == "SQS" and is_getatt(on_failure["Destination"], DLQ, "Arn")
    queue = props(t, DLQ)
    assert queue.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in queue


def check_uploads_notification_filters_on_the_prefix_only(t: dict[str, Any]) -> None:
    """S3 compares suffix rules case-sensitively: a `.csv` rule never delivers SALES.CSV or
    sales.csv.gz. So every object created under the uploads prefix is delivered (multipart
    uploads too) and the function keeps the sales exports, checking the same prefix."""
    events = props(t, "IngestFunction")["Events"]
    s3 = [e["Properties"] for e in events.values() if e["Type"] == "S3"]
    # Created objects are ingested; removed ones (a delete marker, a version deleted) retracted.
    assert sorted(as_list(e["Events"])[0] for e in s3) == ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
    for event in s3:
        assert len(as_list(event["Events"])) == 1 and is_ref(event["Bucket"], BUCKET)
        assert event["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": {"Ref": "UploadsPrefix"}}]
    variables = function_props(t, "IngestFunction")["Environment"]["Variables"]
    assert is_ref(variables["UPLOADS_PREFIX"], "UploadsPrefix")
    # The function's own rejects files must not land where it is notified.
    defaults = {name: t["Parameters"][name]["Default"] for name in ("UploadsPrefix", "RejectsPrefix")}
    assert not defaults["RejectsPrefix"].startswith(defaults["UploadsPrefix"]), defaults


def check_ingest_never_references_bucket(t: dict[str, Any]) -> None:
    """bucket -> notification -> function -> policy/env -> bucket is a circular dependency."""
    p = dict(props(t, "IngestFunction"))
    p.pop("Events")  # the S3 event itself names the bucket: that is how SAM wires it
    named = set(references(p))
    assert BUCKET not in named, "IngestFunction must build the bucket ARN with !Sub, never !Ref/!GetAtt"
    assert BUCKET not in set(references((t.get("Globals") or {}).get("Function") or {}))


INGEST_GRANTS = {
    *(
        ("dynamodb:" + a, "table")
        for a in ("GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem")
    ),
    ("s3:GetObject", "uploads-prefix"),
    ("s3:GetObjectVersion", "uploads-prefix"),
    ("s3:PutObject", "rejects-prefix"),
    ("s3:PutObject", "changes-prefix"),
    ("s3:GetObject", "changes-prefix"),
    ("s3:ListBucket", "bucket"),
    ("s3:ListBucketVersions", "bucket"),
}


def check_least_privilege(t: dict[str, Any]) -> None:
    for name in FUNCTIONS:
        for policy in as_list(props(t, name).get("Policies") or []):
            assert isinstance(policy, dict) and set(policy) == {"Statement"}, (
                f"{name}: only explicit statements (no SAM policy templates or managed policies)"
            )
    assert grants(t, "IngestFunction") == INGEST_GRANTS
    assert grants(t, "RedriveFunction") == INGEST_GRANTS | {
        (a, "dlq")
        for a in (
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueAttributes",
        )
    }
    assert grants(t, "ReconcileFunction") == {
        ("dynamodb:" + a, "table") for a in ("Scan", "Query", "GetItem", "UpdateItem", "PutItem")
    }
    assert grants(t, "MetricsFunction") == {
        ("dynamodb:Query", "table"),
        ("dynamodb:GetItem", "table"),
        ("dynamodb:Query", "table/index/gsi1"),
        ("s3:PutObject", "uploads-prefix"),
        ("s3:GetObject", "rejects-prefix"),  # presigned links to rejects files, nothing else
        ("s3:GetObject", "changes-prefix"),  # GET /imports/{import_id}/changes
        ("s3:ListBucket", "bucket"),
        ("dynamodb:PutItem", "table"),  # DELETE /imports/{import_id}: the record RETRACTING
        ("lambda:InvokeFunction", "ingest-function"),  # ... and the retraction started
    }
    assert grants(t, "HealthFunction") == {("dynamodb:DescribeTable", "table"), ("s3:ListBucket", "bucket")}
    for name in FUNCTIONS:
        # the rejects prefix and the uploads prefix must name the bucket the template creates
        for statement in function_statements(t, name):
            for resource in as_list(statement["Resource"]):
                text = sub_text(resource) if isinstance(resource, dict) and "Fn::Sub" in resource else ""
                if text.startswith("arn:${AWS::Partition}:s3:::"):
                    bucket_arn = f"arn:${{AWS::Partition}}:s3:::{bucket_name_sub(t)}"
                    assert text == bucket_arn or text.startswith(bucket_arn + "/"), text


def check_no_wildcard_allows(t: dict[str, Any]) -> None:
    for owner, statement in statements_of(t):
        if statement.get("Effect") != "Allow":
            continue
        actions = as_list(statement.get("Action") or [])
        wildcard_action = any(a == "*" or a.endswith(":*") for a in actions)
        wildcard_resource = "*" in as_list(statement.get("Resource") or [])
        if wildcard_action or wildcard_resource:
            key = (owner, statement.get("Sid"))
            assert key in DOCUMENTED_WILDCARDS, f"{owner}: undocumented wildcard in {statement!r}"


def check_alarms_notify_topic(t: dict[str, Any]) -> None:
    alarms = resources(t, "AWS::CloudWatch::Alarm")
    assert alarms
    for name, alarm in alarms.items():
        assert {"Ref": TOPIC} in (alarm["Properties"].get("AlarmActions") or []), name
    topic = props(t, TOPIC)
    assert "KmsMasterKeyId" in topic, "the alarm topic must be encrypted"
    subscription = [
        r for r in resources(t, "AWS::SNS::Subscription").values() if is_ref(r["Properties"]["TopicArn"], TOPIC)
    ]
    assert subscription and subscription[0].get("Condition") == "HasAlarmEmail"
    assert not evaluate_condition(t, "HasAlarmEmail")


def _alarms_on(t: dict[str, Any], metric: str) -> list[dict[str, Any]]:
    out = []
    for alarm in resources(t, "AWS::CloudWatch::Alarm").values():
        p = alarm["Properties"]
        named = [p.get("MetricName")] + [
            (m.get("MetricStat") or {}).get("Metric", {}).get("MetricName") for m in p.get("Metrics") or []
        ]
        if metric in named:
            out.append(p)
    return out


def check_required_alarms(t: dict[str, Any]) -> None:
    def dims(p: dict[str, Any]) -> list[dict[str, Any]]:
        return p.get("Dimensions") or [
            d
            for m in p.get("Metrics") or []
            for d in (m.get("MetricStat") or {}).get("Metric", {}).get("Dimensions", [])
        ]

    def watches(p: dict[str, Any], name: str, target: str) -> bool:
        return any(d["Name"] == name and target in set(references(d["Value"])) for d in dims(p))

    assert any(watches(p, "FunctionName", "IngestFunction") and len(dims(p)) == 1 for p in _alarms_on(t, "Errors"))
    assert any(watches(p, "QueueName", DLQ) for p in _alarms_on(t, "ApproximateNumberOfMessagesVisible"))
    assert any(watches(p, "ApiId", "HttpApi") for p in _alarms_on(t, "5xx"))
    latency = [p for p in _alarms_on(t, "Latency") if watches(p, "ApiId", "HttpApi")]
    assert latency and latency[0].get("ExtendedStatistic") == "p99" and latency[0]["Threshold"] == 2000
    for name in FUNCTIONS:
        assert any(watches(p, "FunctionName", name) for p in _alarms_on(t, "Throttles")), name
    throttle_metrics = {"ReadThrottleEvents", "WriteThrottleEvents", "ThrottledRequests"}
    assert any(watches(p, "TableName", TABLE) for m in throttle_metrics for p in _alarms_on(t, m)), (
        "DynamoDB throttling alarm"
    )


def check_environment_references(t: dict[str, Any]) -> None:
    for name in FUNCTIONS:
        variables = function_props(t, name)["Environment"]["Variables"]
        assert is_ref(variables.get("TABLE_NAME"), TABLE), name
        if "BUCKET_NAME" in variables:
            assert is_ref(variables["BUCKET_NAME"], BUCKET), name
    for name in ("MetricsFunction", "HealthFunction"):
        assert is_ref(function_props(t, name)["Environment"]["Variables"].get("BUCKET_NAME"), BUCKET), name
    assert is_ref(function_props(t, "RedriveFunction")["Environment"]["Variables"].get("DLQ_URL"), DLQ)


def check_dashboard_and_outputs(t: dict[str, Any]) -> None:
    dashboards = resources(t, "AWS::CloudWatch::Dashboard")
    assert len(dashboards) == 1
    body = sub_text(next(iter(dashboards.values()))["Properties"]["DashboardBody"])
    widgets = json.loads(re.sub(r"\$\{[^}!]+\}", "x", body))["widgets"]  # valid JSON once substituted
    assert widgets
    for metric in (
        "SalesCreated",
        "SalesUpdated",
        "SalesUnchanged",
        "ImportsSucceeded",
        "ImportsPartial",
        "ImportsFailed",
        "ObjectsNotIngested",
        "LinesIngested",
        "LinesRejected",
        "IngestDurationMs",
        "SalesMetrics",
        "Latency",
        "5xx",
        "4xx",
        "Errors",
        "Throttles",
    ):
        assert metric in body, metric
    outputs = set(t.get("Outputs") or {})
    assert outputs >= {
        "ApiUrl",
        "UploadsBucketName",
        "TableName",
        "IngestDeadLetterQueueUrl",
        "AlarmTopicArn",
        "DashboardName",
    }


def check_ingest_attempts_and_spill(t: dict[str, Any]) -> None:
    """The function knows which attempt is Lambda's last (so that attempt can mark its import
    FAILED instead of leaving it IN_PROGRESS), and both ingesting functions have /tmp room for
    the spill of a re-sorted file's scattered sales."""
    ingest = props(t, "IngestFunction")
    retries = ingest["EventInvokeConfig"]["MaximumRetryAttempts"]
    assert ingest["Environment"]["Variables"]["INGEST_MAX_ATTEMPTS"] == str(retries + 1)
    for name in ("IngestFunction", "RedriveFunction"):
        assert props(t, name)["EphemeralStorage"]["Size"] >= 2048, name


CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    name.removeprefix("check_"): fn for name, fn in globals().items() if name.startswith("check_")
}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_template_property(template: dict[str, Any], name: str) -> None:
    CHECKS[name](template)


# --------------------------------------------------------------------------- mutations


def _del(path: str) -> Callable[[dict[str, Any]], None]:
    """Delete a key given as "Resources.X.Properties.Y" (list indexes allowed)."""

    def mutate(t: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = t
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[int(last) if isinstance(node, list) else last]

    return mutate


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(t: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = t
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[int(last) if isinstance(node, list) else last] = value

    return mutate


def _add_statement(function: str, statement: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def mutate(t: dict[str, Any]) -> None:
        t["Resources"][function]["Properties"]["Policies"][0]["Statement"].append(statement)

    return mutate


def _append(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(t: dict[str, Any]) -> None:
        node: Any = t
        for part in path.split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]
        node.append(value)

    return mutate


F = "Resources.{}.Properties"
UPLOADS_RULES = F.format("IngestFunction") + ".Events.CsvUploaded.Properties.Filter.S3Key.Rules"
MUTATIONS: list[tuple[str, str, Callable[[dict[str, Any]], None]]] = [
    ("function_runtime", "no tracing", _del("Globals.Function.Tracing")),
    ("function_runtime", "x86", _set("Globals.Function.Architectures", ["x86_64"])),
    ("function_runtime", "no layer", _del("Globals.Function.Layers")),
    (
        "function_handlers",
        "redrive handler",
        _set(F.format("RedriveFunction") + ".Handler", "ingest_handler.handler"),
    ),
    ("function_log_groups", "no log group", _del(F.format("MetricsFunction") + ".LoggingConfig.LogGroup")),
    ("function_log_groups", "no retention", _del(F.format("IngestLogGroup") + ".RetentionInDays")),
    (
        "function_log_groups",
        "text logs",
        _set(F.format("HealthFunction") + ".LoggingConfig.LogFormat", "Text"),
    ),
    ("safe_deployments", "no alias", _del("Globals.Function.AutoPublishAlias")),
    (
        "safe_deployments",
        "no all-properties",
        _del(F.format("ReconcileFunction") + ".AutoPublishAliasAllProperties"),
    ),
    (
        "safe_deployments",
        "no rollback alarms",
        _del(F.format("IngestFunction") + ".DeploymentPreference.Alarms"),
    ),
    (
        "safe_deployments",
        "all at once API",
        _set(F.format("MetricsFunction") + ".DeploymentPreference.Type", "AllAtOnce"),
    ),
    (
        "log_level_parameters",
        "ALC level fixed",
        _set(F.format("IngestFunction") + ".LoggingConfig.ApplicationLogLevel", "INFO"),
    ),
    ("api_auth", "no default IAM", _del(F.format("HttpApi") + ".Auth.DefaultAuthorizer")),
    (
        "api_auth",
        "open route",
        _set(F.format("MetricsFunction") + ".Events.Revenue.Properties.Auth", {"Authorizer": "NONE"}),
    ),
    (
        "api_auth",
        "open report route",
        _set(F.format("MetricsFunction") + ".Events.RevenueBy.Properties.Auth", {"Authorizer": "NONE"}),
    ),
    ("api_auth", "rejects route gone", _del(F.format("MetricsFunction") + ".Events.ImportRejects")),
    ("api_auth", "health needs IAM", _del(F.format("HealthFunction") + ".Events.Health.Properties.Auth")),
    ("api_auth", "swagger route gone", _del(F.format("MetricsFunction") + ".Events.OpenApi")),
    ("api_auth", "swagger behind IAM", _del(F.format("MetricsFunction") + ".Events.OpenApi.Properties.Auth")),
    (
        "api_auth",
        "dashboard routes open",
        _set(F.format("MetricsFunction") + ".Events.App.Properties.Auth", {"Authorizer": "NONE"}),
    ),
    (
        "api_auth",
        "dashboard routes on IAM",
        _del(F.format("MetricsFunction") + ".Events.App.Properties.Auth"),
    ),
    ("api_auth", "dashboard routes gone", _del(F.format("MetricsFunction") + ".Events.App")),
    (
        "cors_closed_by_default",
        "any origin on the bucket",
        _set(F.format(BUCKET) + ".CorsConfiguration.CorsRules.0.AllowedOrigins", ["*"]),
    ),
    (
        "dashboard_hosting",
        "bucket readable by anyone",
        _set("Resources.DashboardBucketPolicy.Properties.PolicyDocument.Statement.0.Principal", "*"),
    ),
    (
        "dashboard_hosting",
        "any distribution may read",
        _del("Resources.DashboardBucketPolicy.Properties.PolicyDocument.Statement.0.Condition"),
    ),
    (
        "dashboard_hosting",
        "public bucket",
        _set(F.format("DashboardBucket") + ".PublicAccessBlockConfiguration.RestrictPublicBuckets", False),
    ),
    (
        "dashboard_hosting",
        "no OAC",
        _del(F.format("DashboardDistribution") + ".DistributionConfig.Origins.0.OriginAccessControlId"),
    ),
    (
        "dashboard_hosting",
        "plain HTTP allowed",
        _set(
            F.format("DashboardDistribution") + ".DistributionConfig.DefaultCacheBehavior.ViewerProtocolPolicy",
            "allow-all",
        ),
    ),
    (
        "dashboard_hosting",
        "no security headers",
        _del(F.format("DashboardDistribution") + ".DistributionConfig.DefaultCacheBehavior.ResponseHeadersPolicyId"),
    ),
    (
        "dashboard_hosting",
        "inline scripts allowed",
        _set(
            F.format("DashboardSecurityHeaders")
            + ".ResponseHeadersPolicyConfig.SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy",
            "default-src 'none'; script-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
        ),
    ),
    (
        "dashboard_hosting",
        "API answers cached",
        _set(F.format("DashboardApiCachePolicy") + ".CachePolicyConfig.DefaultTTL", 86400),
    ),
    (
        "dashboard_sign_in",
        "self sign-up",
        _set(F.format("DashboardUserPool") + ".AdminCreateUserConfig.AllowAdminCreateUserOnly", False),
    ),
    (
        "dashboard_sign_in",
        "short passwords",
        _set(F.format("DashboardUserPool") + ".Policies.PasswordPolicy.MinimumLength", 6),
    ),
    ("dashboard_sign_in", "MFA fixed", _set(F.format("DashboardUserPool") + ".MfaConfiguration", "OFF")),
    ("dashboard_sign_in", "client secret", _set(F.format("DashboardUserPoolClient") + ".GenerateSecret", True)),
    (
        "dashboard_sign_in",
        "issuer of another pool",
        _set(
            F.format("HttpApi") + ".Auth.Authorizers.DashboardJwt.JwtConfiguration.issuer",
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other",
        ),
    ),
    (
        "dashboard_sign_in",
        "any audience",
        _set(F.format("HttpApi") + ".Auth.Authorizers.DashboardJwt.JwtConfiguration.audience", ["someone-else"]),
    ),
    ("api_throttling_and_access_logs", "no throttling", _del(F.format("HttpApi") + ".DefaultRouteSettings")),
    ("api_throttling_and_access_logs", "no access logs", _del(F.format("HttpApi") + ".AccessLogSettings")),
    (
        "cors_closed_by_default",
        "CORS always on",
        _set(F.format("HttpApi") + ".CorsConfiguration", {"AllowOrigins": ["*"]}),
    ),
    (
        "cors_closed_by_default",
        "bucket CORS always on",
        _set(F.format(BUCKET) + ".CorsConfiguration", {"CorsRules": [{"AllowedOrigins": ["*"]}]}),
    ),
    ("bucket", "no versioning", _del(F.format(BUCKET) + ".VersioningConfiguration")),
    ("bucket", "no encryption", _del(F.format(BUCKET) + ".BucketEncryption")),
    (
        "bucket",
        "public policy",
        _set(F.format(BUCKET) + ".PublicAccessBlockConfiguration.BlockPublicPolicy", False),
    ),
    ("bucket", "no ownership controls", _del(F.format(BUCKET) + ".OwnershipControls")),
    ("bucket", "no rejects expiry", _del(F.format(BUCKET) + ".LifecycleConfiguration.Rules.0")),
    ("bucket", "no noncurrent expiry", _del(F.format(BUCKET) + ".LifecycleConfiguration.Rules.1")),
    ("bucket_tls_only", "no bucket policy", _del("Resources.UploadsBucketPolicy")),
    ("table", "no PITR", _del(F.format(TABLE) + ".PointInTimeRecoverySpecification")),
    ("table", "no SSE", _del(F.format(TABLE) + ".SSESpecification")),
    ("table", "no deletion protection", _del(F.format(TABLE) + ".DeletionProtectionEnabled")),
    ("table", "no TTL", _del(F.format(TABLE) + ".TimeToLiveSpecification")),
    (
        "ingest_failure_destination",
        "no destination",
        _del(F.format("IngestFunction") + ".EventInvokeConfig.DestinationConfig"),
    ),
    ("ingest_failure_destination", "DLQ unencrypted", _del(F.format(DLQ) + ".SqsManagedSseEnabled")),
    (
        "ingest_attempts_and_spill",
        "attempts not told",
        _del(F.format("IngestFunction") + ".Environment.Variables.INGEST_MAX_ATTEMPTS"),
    ),
    (
        "ingest_attempts_and_spill",
        "attempts out of step",
        _set(F.format("IngestFunction") + ".EventInvokeConfig.MaximumRetryAttempts", 1),
    ),
    ("ingest_attempts_and_spill", "small /tmp", _set(F.format("RedriveFunction") + ".EphemeralStorage.Size", 512)),
    (
        "uploads_notification_filters_on_the_prefix_only",
        "case-sensitive suffix rule",
        _append(UPLOADS_RULES, {"Name": "suffix", "Value": ".csv"}),
    ),
    ("uploads_notification_filters_on_the_prefix_only", "no prefix rule", _set(UPLOADS_RULES, [])),
    (
        "uploads_notification_filters_on_the_prefix_only",
        "PUT only (no multipart uploads)",
        _set(F.format("IngestFunction") + ".Events.CsvUploaded.Properties.Events", "s3:ObjectCreated:Put"),
    ),
    (
        "uploads_notification_filters_on_the_prefix_only",
        "function checks a literal prefix",
        _set("Globals.Function.Environment.Variables.UPLOADS_PREFIX", "uploads/"),
    ),
    (
        "uploads_notification_filters_on_the_prefix_only",
        "rejects under uploads",
        _set("Parameters.RejectsPrefix.Default", "uploads/rejects/"),
    ),
    (
        "ingest_never_references_bucket",
        "GetAtt in policy",
        _add_statement(
            "IngestFunction",
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": {"Fn::Sub": "${UploadsBucket.Arn}/uploads/*"},
            },
        ),
    ),
    (
        "ingest_never_references_bucket",
        "Ref in env",
        _set(F.format("IngestFunction") + ".Environment.Variables.BUCKET_NAME", {"Ref": BUCKET}),
    ),
    (
        "least_privilege",
        "SAM CRUD template",
        _set(F.format("IngestFunction") + ".Policies", [{"DynamoDBCrudPolicy": {"TableName": {"Ref": TABLE}}}]),
    ),
    (
        "least_privilege",
        "extra action",
        _add_statement(
            "MetricsFunction",
            {"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": {"Fn::GetAtt": [TABLE, "Arn"]}},
        ),
    ),
    (
        "least_privilege",
        "metrics reads uploads",
        _add_statement(
            "MetricsFunction",
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": {"Fn::Sub": "${UploadsBucket.Arn}/${UploadsPrefix}*"},
            },
        ),
    ),
    (
        "least_privilege",
        "whole bucket",
        _add_statement(
            "IngestFunction",
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": {"Fn::Sub": BUCKET_ARN_SUB + "/*"},
            },
        ),
    ),
    (
        "no_wildcard_allows",
        "star action",
        _add_statement(
            "HealthFunction",
            {"Effect": "Allow", "Action": "s3:*", "Resource": {"Fn::GetAtt": [BUCKET, "Arn"]}},
        ),
    ),
    (
        "no_wildcard_allows",
        "star resource",
        _add_statement("HealthFunction", {"Effect": "Allow", "Action": "dynamodb:DescribeTable", "Resource": "*"}),
    ),
    ("alarms_notify_topic", "alarm without action", _del(F.format("TableThrottlesAlarm") + ".AlarmActions")),
    ("alarms_notify_topic", "unencrypted topic", _del(F.format(TOPIC) + ".KmsMasterKeyId")),
    ("alarms_notify_topic", "unconditional email", _del("Resources.AlarmEmailSubscription.Condition")),
    ("required_alarms", "no DLQ alarm", _del("Resources.IngestDeadLetterQueueAlarm")),
    ("required_alarms", "no latency alarm", _del("Resources.ApiLatencyP99Alarm")),
    ("required_alarms", "no 5xx alarm", _del("Resources.Api5xxRateAlarm")),
    ("required_alarms", "no table throttle alarm", _del("Resources.TableThrottlesAlarm")),
    ("required_alarms", "no health throttles alarm", _del("Resources.HealthThrottlesAlarm")),
    ("required_alarms", "no ingest errors alarm", _del("Resources.IngestErrorsAlarm")),
    (
        "environment_references",
        "literal table",
        _set("Globals.Function.Environment.Variables.TABLE_NAME", "sales"),
    ),
    (
        "environment_references",
        "literal DLQ",
        _set(
            F.format("RedriveFunction") + ".Environment.Variables.DLQ_URL",
            "https://sqs.us-east-1.amazonaws.com/1/q",
        ),
    ),
    (
        "environment_references",
        "literal bucket",
        _set(F.format("HealthFunction") + ".Environment.Variables.BUCKET_NAME", "sales-metrics-dev"),
    ),
    ("dashboard_and_outputs", "no dashboard", _del("Resources.OperationsDashboard")),
    ("dashboard_and_outputs", "no DLQ output", _del("Outputs.IngestDeadLetterQueueUrl")),
]


@pytest.mark.parametrize(
    ("check", "mutation"), [(c, m) for c, m, _ in MUTATIONS], ids=[f"{c}:{m}" for c, m, _ in MUTATIONS]
)
def test_check_fails_when_property_removed(template: dict[str, Any], check: str, mutation: str) -> None:
    mutate = next(fn for c, m, fn in MUTATIONS if (c, m) == (check, mutation))
    broken = copy.deepcopy(template)
    mutate(broken)
    with pytest.raises((AssertionError, KeyError)):
        CHECKS[check](broken)


def test_every_check_has_a_mutation() -> None:
    assert set(CHECKS) == {c for c, _, _ in MUTATIONS}


# --------------------------------------------------------------------------- cfn-lint


def _cfn_lint() -> str | None:
    local = Path(sys.executable).with_name("cfn-lint")
    return str(local) if local.exists() else shutil.which("cfn-lint")


def test_cfn_lint_passes() -> None:
    cfn_lint = _cfn_lint()
    if cfn_lint is None:
        pytest.skip("cfn-lint is not installed (pip install -r requirements/dev.txt)")
    result = subprocess.run([cfn_lint, "--", str(TEMPLATE)], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------- samconfig.toml


def _overrides(text: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in text.split())


@pytest.mark.parametrize("env", ["default", "staging", "prod"])
def test_samconfig_environment(template: dict[str, Any], env: str) -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))[env]
    assert config["global"]["parameters"]["stack_name"]
    # function names are "<stack>-<function>" (at most 64 characters)
    assert len(config["global"]["parameters"]["stack_name"]) <= 50
    assert config["build"]["parameters"] == {"cached": True, "parallel": True}
    deploy = config["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["resolve_s3"] is True
    assert deploy["confirm_changeset"] is (env == "prod")
    overrides = _overrides(deploy["parameter_overrides"])
    assert overrides["Stage"] == {"default": "dev"}.get(env, env)
    for name, value in overrides.items():
        spec = template["Parameters"][name]  # KeyError: an override the template does not declare
        if "AllowedValues" in spec:
            assert value in [str(v) for v in spec["AllowedValues"]], (name, value)
        if "AllowedPattern" in spec:
            assert re.fullmatch(spec["AllowedPattern"], value), (name, value)
        if "MinValue" in spec:
            assert float(value) >= spec["MinValue"], (name, value)
