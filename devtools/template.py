"""Read `template.yaml` as CloudFormation deploys it, for the local AWS and the template tests.

The libraries do the reading; this module keeps only what they leave to CloudFormation.

- `load_template(path)`: cfn-lint's decoder (`cfnlint.decode.decode`): the YAML with its short
  tags (`!Ref`, `!GetAtt`, `!Sub`, ...) in the long form (`{"Ref": x}`, ...), as plain data.
- `sam_properties(data, logical_id)`: a SAM resource's properties with `Globals` merged by
  aws-sam-translator's own `Globals` (the first thing its transform does).
- `transform(data, parameters, region)`: aws-sam-translator's `Translator`: the CloudFormation
  template the SAM one deploys as (Lambda functions with Globals merged, the HTTP API's OpenAPI
  body, the bucket's notification configuration, event invoke configs, aliases). It runs offline:
  the region is given, and no managed policy is looked up (the template names none).
- `Resolver`: what the transform leaves to CloudFormation: parameter values (checked against
  `AllowedValues` / `AllowedPattern`), Conditions, and the intrinsic functions the template and its
  transform use (Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Split, Fn::If and the condition
  functions). Any other raises `TemplateError`.
- `Template`: the typed view the local AWS runs: functions, buckets, tables, queues and layers with
  local physical names, the S3 notifications with their filter rules, the HTTP API's route table.

Local physical names follow CloudFormation: an explicit name property (`BucketName`, `TableName`,
`QueueName`, ...) is resolved and used; otherwise the name is `<stack>-<LogicalId>` (without
CloudFormation's random suffix, so a local stack is reproducible).

cfn-lint and the translator take about 2 s to import together: they are imported when a template
is first read, so what only needs the specs (the worker pool) does not pay for them.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The local account and region, shared with the fake Lambda context's default ARN.
from devtools.lambdacontext import ACCOUNT_ID, REGION, LambdaContext

DEFAULT_STACK_NAME = "sales-metrics-local"
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
# Local CodeUri / ContentUri paths go through the transform as objects of this (never created)
# bucket, and come back as the local directory: `sam build` would upload them instead.
LOCAL_CODE_BUCKET = "local-code.invalid"

_NO_VALUE = object()  # AWS::NoValue: the property (or list element) disappears


class TemplateError(ValueError):
    """The template cannot be read or resolved locally."""


# --------------------------------------------------------------------------- reading


def _plain(value: Any) -> Any:
    """cfn-lint's marked nodes as plain dicts, lists and strings; YAML dates stay text (as
    CloudFormation reads `2010-09-09`)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _decoded(data: Any, matches: list[Any], source: str) -> dict[str, Any]:
    if matches or data is None:
        raise TemplateError(f"{source}: " + "; ".join(str(m) for m in matches))
    plain = _plain(data)
    if not isinstance(plain, dict) or not isinstance(plain.get("Resources"), dict):
        raise TemplateError(f"{source}: not a CloudFormation template (no Resources)")
    return plain


def load_template(path: str | Path) -> dict[str, Any]:
    """The template as plain data, short tags in their long form (cfn-lint's decoder)."""
    from cfnlint.decode import decode

    data, matches = decode(str(path))
    return _decoded(data, matches, str(path))


def load_template_text(text: str, source: str = "<template>") -> dict[str, Any]:
    """`load_template` for a template held in a string."""
    from cfnlint.decode import decode_str

    data, matches = decode_str(text)
    return _decoded(data, matches, source)


def sam_properties(data: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    """A resource's properties with the template's `Globals` merged as SAM merges them (maps
    merge with the resource winning, lists add up, anything else is the resource's)."""
    from samtranslator.plugins.globals.globals import Globals, InvalidGlobalsSectionException

    resource = data["Resources"][logical_id]
    properties = copy.deepcopy(resource.get("Properties") or {})
    try:
        globals_ = Globals(copy.deepcopy(dict(data)))
    except InvalidGlobalsSectionException as exc:
        raise TemplateError(exc.message) from exc
    merged = globals_.merge(str(resource.get("Type", "")), properties, logical_id, resource.get("IgnoreGlobals"))
    return dict(merged)


def merge_globals(global_value: Any, local_value: Any) -> Any:
    """SAM's rule for one Globals value and the resource's own (aws-sam-translator's merge)."""
    from samtranslator.plugins.globals.globals import GlobalProperties

    return GlobalProperties(copy.deepcopy(global_value)).merge(copy.deepcopy(local_value))


def _local_code(data: dict[str, Any]) -> dict[str, Any]:
    """A copy with local CodeUri / ContentUri paths as objects of LOCAL_CODE_BUCKET."""
    out = copy.deepcopy(data)
    sections = [(r.get("Type"), r.get("Properties")) for r in out["Resources"].values()]
    sections += [
        ("AWS::Serverless::Function", (out.get("Globals") or {}).get("Function")),
        ("AWS::Serverless::LayerVersion", (out.get("Globals") or {}).get("LayerVersion")),
    ]
    for kind, props in sections:
        key = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}.get(kind or "")
        if key and isinstance(props, dict) and isinstance(props.get(key), str) and "://" not in props[key]:
            props[key] = f"s3://{LOCAL_CODE_BUCKET}/{props[key]}"
    return out


def transform(
    data: Mapping[str, Any], parameters: Mapping[str, Any] | None = None, region: str = REGION
) -> dict[str, Any]:
    """The SAM template as the CloudFormation template it deploys as (aws-sam-translator)."""
    declared = data.get("Transform")
    if SAM_TRANSFORM not in (declared if isinstance(declared, list) else [declared]):
        return copy.deepcopy(dict(data))
    import boto3
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    # The translator warns about every feature toggle its default (empty) configuration lacks.
    logging.getLogger("samtranslator.feature_toggle").setLevel(logging.ERROR)
    # The translator warns about its own usage metrics, which nothing here publishes.
    logging.getLogger("samtranslator.metrics.metrics").setLevel(logging.ERROR)
    # The session only tells the translator the region and partition: nothing is called.
    session = boto3.session.Session(
        region_name=region,
        aws_access_key_id="local",  # nosec B106
        aws_secret_access_key="local",
    )  # nosec B106
    translator = Translator(None, Parser(), boto_session=session)
    try:
        return dict(
            translator.translate(
                _local_code(dict(data)), parameter_values=dict(parameters or {}), get_managed_policy_map=dict
            )
        )
    except InvalidDocumentException as exc:
        raise TemplateError("; ".join(cause.message for cause in exc.causes) or exc.message) from exc


# --------------------------------------------------------------------------- intrinsic functions


@dataclass(slots=True)
class ResourceInfo:
    """What `Ref` and `Fn::GetAtt` answer for one resource."""

    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


_SUB_VAR = re.compile(r"\$\{([^}]*)\}")


class Resolver:
    """Evaluates intrinsic functions against parameters, pseudo parameters and resources.

    `resources(logical_id)` answers `ResourceInfo` for Ref/GetAtt (or raises KeyError);
    the template wires it to its own lazy physical names.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        parameters: Mapping[str, Any] | None = None,
        stack_name: str = DEFAULT_STACK_NAME,
        region: str = REGION,
        account_id: str = ACCOUNT_ID,
        resources: Callable[[str], ResourceInfo] | None = None,
    ) -> None:
        self.template = template
        self._resources = resources
        self.parameters = self._parameter_values(parameters or {})
        self.pseudo: dict[str, Any] = {
            "AWS::AccountId": account_id,
            "AWS::Region": region,
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/"
            "00000000-0000-0000-0000-000000000000",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::Partition": "aws",
            "AWS::NotificationARNs": [],
        }
        self._conditions: dict[str, bool] = {}
        self._evaluating: set[str] = set()
        self._functions: dict[str, Callable[[Any], Any]] = {
            "Fn::GetAtt": self._fn_getatt,
            "Fn::Sub": self._fn_sub,
            "Fn::Join": self._fn_join,
            "Fn::Split": self._fn_split,
            "Fn::If": self._fn_if,
            "Fn::Equals": self._fn_equals,
            "Fn::Not": self._fn_not,
            "Fn::And": self._fn_and,
            "Fn::Or": self._fn_or,
        }

    # parameters ------------------------------------------------------------------------------
    def _parameter_values(self, given: Mapping[str, Any]) -> dict[str, Any]:
        declared = self.template.get("Parameters") or {}
        unknown = set(given) - set(declared)
        if unknown:
            raise TemplateError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            if name in given:
                value: Any = given[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                raise TemplateError(f"parameter {name} has no Default and no value was given")
            kind = str(spec.get("Type", "String"))
            if kind == "CommaDelimitedList" or kind.startswith("List<"):
                if isinstance(value, str):
                    value = [part.strip() for part in value.split(",")] if value else []
                value = [str(v) for v in value]
            else:
                value = _to_str(value)
                allowed = spec.get("AllowedValues")
                if allowed is not None and value not in [_to_str(a) for a in allowed]:
                    raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
                pattern = spec.get("AllowedPattern")
                if pattern is not None and kind == "String" and not re.fullmatch(pattern, value):
                    raise TemplateError(f"parameter {name}={value!r} does not match {pattern}")
            values[name] = value
        return values

    def parameter_strings(self) -> dict[str, str]:
        """The parameter values as CloudFormation passes them to a transform (lists joined)."""
        return {name: _to_str(value) for name, value in self.parameters.items()}

    # conditions ------------------------------------------------------------------------------
    def condition(self, name: str) -> bool:
        if name in self._conditions:
            return self._conditions[name]
        conditions = self.template.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"unknown condition {name}")
        if name in self._evaluating:
            raise TemplateError(f"condition {name} refers to itself")
        self._evaluating.add(name)
        try:
            value = self.resolve(conditions[name])
        finally:
            self._evaluating.discard(name)
        if not isinstance(value, bool):
            raise TemplateError(f"condition {name} is not a boolean: {value!r}")
        self._conditions[name] = value
        return value

    def conditions(self) -> dict[str, bool]:
        return {name: self.condition(name) for name in self.template.get("Conditions") or {}}

    # resolution ------------------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        """`value` with every intrinsic function evaluated (AWS::NoValue entries dropped)."""
        result = self._resolve(value)
        return None if result is _NO_VALUE else result

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self._resolve(v) for v in value]
            return [v for v in items if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Condition" and isinstance(arg, str):
                return self.condition(arg)
            if key.startswith("Fn::"):
                function = self._functions.get(key)
                if function is None:
                    raise TemplateError(f"{key} is not supported locally (the template does not use it)")
                return function(arg)
        resolved = {k: self._resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def _ref(self, name: Any) -> Any:
        name = self._resolve(name)
        if not isinstance(name, str):
            raise TemplateError(f"Ref to a non-name {name!r}")
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self._resource(name).ref

    def _resource(self, logical_id: str) -> ResourceInfo:
        if self._resources is None:
            raise TemplateError(f"no resource information for {logical_id}")
        try:
            return self._resources(logical_id)
        except KeyError:
            raise TemplateError(f"unknown resource or parameter {logical_id}") from None

    def _fn_getatt(self, arg: Any) -> Any:
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        resource, attribute = (self._resolve(a) for a in arg)
        info = self._resource(resource)
        if attribute not in info.attributes:
            raise TemplateError(f"{resource} has no attribute {attribute} locally")
        return info.attributes[attribute]

    def _fn_sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], {k: self._resolve(v) for k, v in (arg[1] or {}).items()}
        else:
            text, variables = arg, {}
        if not isinstance(text, str):
            raise TemplateError(f"Fn::Sub needs a string, got {text!r}")

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            name = name.strip()
            if name in variables:
                return _to_str(variables[name])
            if "." in name and name.split(".", 1)[0] not in self.parameters:
                return _to_str(self._fn_getatt(name))
            return _to_str(self._ref(name))

        return _SUB_VAR.sub(substitute, text)

    def _fn_join(self, arg: Any) -> str:
        delimiter, items = arg
        items = self._resolve(items)
        return str(delimiter).join(_to_str(i) for i in items)

    def _fn_split(self, arg: Any) -> list[str]:
        delimiter, text = (self._resolve(a) for a in arg)
        return str(text).split(str(delimiter))

    def _fn_if(self, arg: Any) -> Any:
        name, when_true, when_false = arg
        return self._resolve(when_true if self.condition(name) else when_false)

    def _fn_equals(self, arg: Any) -> bool:
        left, right = (self._resolve(a) for a in arg)
        return _to_str(left) == _to_str(right)

    def _fn_not(self, arg: Any) -> bool:
        (value,) = arg
        return not self._boolean(value)

    def _fn_and(self, arg: Any) -> bool:
        return all(self._boolean(a) for a in arg)

    def _fn_or(self, arg: Any) -> bool:
        return any(self._boolean(a) for a in arg)

    def _boolean(self, value: Any) -> bool:
        resolved = self._resolve(value)
        if not isinstance(resolved, bool):
            raise TemplateError(f"condition operand is not a boolean: {value!r}")
        return resolved


def _to_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_to_str(v) for v in value)
    return str(value)


def references(value: Any) -> Iterator[str]:
    """Every logical id or parameter a value names through Ref, GetAtt or a ${...} in Sub."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner
            elif key == "Fn::GetAtt":
                yield (inner.split(".", 1) if isinstance(inner, str) else inner)[0]
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                for name in re.findall(r"\$\{([^}!]+)\}", text):
                    yield name.split(".", 1)[0].strip()
                if isinstance(inner, list):
                    yield from references(inner[1])
            else:
                yield from references(inner)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


# --------------------------------------------------------------------------- the typed view


@dataclass(frozen=True, slots=True)
class LayerSpec:
    logical_id: str | None  # as written; None: a layer outside the template (only its ARN is known)
    content_uri: Path | None  # None: not local code
    arn: str


@dataclass(frozen=True, slots=True)
class S3EventSpec:
    name: str
    bucket_logical_id: str
    bucket_name: str
    events: tuple[str, ...]  # e.g. ("s3:ObjectCreated:*",)
    rules: tuple[tuple[str, str], ...]  # (("prefix", "uploads/"), ("suffix", ".csv"))

    def matches(self, event_name: str, key: str) -> bool:
        """Would S3 notify for `event_name` (`s3:ObjectCreated:Put`) on this (decoded) key?

        Prefix and suffix rules compare exactly as S3 does: case-sensitively (`.csv` is not `.CSV`).
        """
        if not any(_event_matches(pattern, event_name) for pattern in self.events):
            return False
        for name, value in self.rules:
            rule = name.lower()
            if rule == "prefix" and not key.startswith(value):
                return False
            if rule == "suffix" and not key.endswith(value):
                return False
        return True


def _event_matches(pattern: str, event_name: str) -> bool:
    if not event_name.startswith("s3:"):
        event_name = "s3:" + event_name
    if pattern.endswith("*"):
        return event_name.startswith(pattern[:-1])
    return pattern == event_name


@dataclass(frozen=True, slots=True)
class HttpRouteSpec:
    name: str  # "GET /health"
    api_logical_id: str | None
    path: str  # "/imports/{import_id}"; "$default" for the catch-all
    method: str  # upper case, "ANY" for any
    auth: str  # the effective authorizer: "NONE", "AWS_IAM", or an authorizer's name
    payload_format_version: str


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    logical_id: str
    function_name: str
    arn: str
    code_uri: Path
    handler: str  # "module.function"
    runtime: str
    timeout: int
    memory_size: int
    environment: dict[str, str]
    layers: tuple[LayerSpec, ...]
    s3_events: tuple[S3EventSpec, ...]
    http_routes: tuple[HttpRouteSpec, ...]
    maximum_retry_attempts: int  # asynchronous invocations (S3): Lambda's default is 2
    on_failure_arn: str | None  # EventInvokeConfig OnFailure destination, or DeadLetterQueue
    properties: dict[str, Any]  # the deployed AWS::Lambda::Function's properties, resolved

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    def lambda_context(self, request_id: str | None = None) -> LambdaContext:
        """A fresh Lambda context for one invocation of this function."""
        context = LambdaContext(
            function_name=self.function_name,
            memory_limit_in_mb=self.memory_size,
            timeout_seconds=self.timeout,
            invoked_function_arn=self.arn,
        )
        if request_id:
            context.aws_request_id = request_id
        return context

    def sys_paths(self) -> list[Path]:
        """What the Lambda runtime puts on sys.path: the code, then each layer (/opt/python)."""
        paths = [self.code_uri]
        for layer in self.layers:
            if layer.content_uri is not None:
                python = layer.content_uri / "python"
                paths.append(python if python.is_dir() else layer.content_uri)
        return paths


@dataclass(frozen=True, slots=True)
class BucketSpec:
    logical_id: str
    name: str
    arn: str
    versioning: bool
    properties: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TableSpec:
    logical_id: str
    name: str
    arn: str
    attribute_definitions: list[dict[str, str]]
    key_schema: list[dict[str, str]]
    global_secondary_indexes: list[dict[str, Any]]
    local_secondary_indexes: list[dict[str, Any]]
    billing_mode: str
    ttl_attribute: str | None
    stream_view_type: str | None
    properties: dict[str, Any]


@dataclass(frozen=True, slots=True)
class QueueSpec:
    logical_id: str
    name: str
    arn: str
    url: str
    fifo: bool
    attributes: dict[str, str]  # SQS attribute names (MessageRetentionPeriod, ...), as strings
    properties: dict[str, Any]


# Property that carries the explicit physical name, per resource type.
_NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::IAM::Role": "RoleName",
}

# SQS queue properties → queue attributes (CreateQueue).
_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "SqsManagedSseEnabled",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "RedrivePolicy",
    "RedriveAllowPolicy",
)


class Template:
    """`template.yaml` as it deploys (after the SAM transform), resolved for a local stack.

    `data` is the template as written (SAM), `deployed` the CloudFormation template it transforms
    into; the typed view reads `deployed`, so the local stack runs what CloudFormation would create.
    `queue_url_base` is the SQS endpoint queue URLs are built on (the moto server's, locally);
    `overrides` replaces what Ref/GetAtt answer for a resource (e.g. a queue URL the server gave),
    keyed by the deployed template's logical ids.
    """

    def __init__(
        self,
        path: str | Path = "template.yaml",
        *,
        parameters: Mapping[str, Any] | None = None,
        stack_name: str = DEFAULT_STACK_NAME,
        region: str = REGION,
        account_id: str = ACCOUNT_ID,
        queue_url_base: str | None = None,
    ) -> None:
        self.path = Path(path).resolve()
        self.root = self.path.parent
        self.data = load_template(self.path)
        self.region = region
        self.account_id = account_id
        self.stack_name = stack_name
        self.queue_url_base = (queue_url_base or f"https://sqs.{region}.amazonaws.com").rstrip("/")
        self.overrides: dict[str, ResourceInfo] = {}
        self._infos: dict[str, ResourceInfo] = {}
        self._naming: set[str] = set()
        # Parameters are checked against the template as written, before the transform sees them.
        checked = Resolver(self.data, parameters=parameters)
        self.deployed = transform(self.data, checked.parameter_strings(), region)
        self.resolver = Resolver(
            self.deployed,
            parameters=parameters,
            stack_name=stack_name,
            region=region,
            account_id=account_id,
            resources=self.resource_info,
        )

    # raw access ------------------------------------------------------------------------------
    @property
    def parameters(self) -> dict[str, Any]:
        return self.resolver.parameters

    def resolve(self, value: Any) -> Any:
        return self.resolver.resolve(value)

    def raw_resources(self) -> dict[str, dict[str, Any]]:
        """Every resource of the template as written whose Condition (if any) holds."""
        return {
            logical_id: resource for logical_id, resource in self.data["Resources"].items() if self._exists(resource)
        }

    def _exists(self, resource: Mapping[str, Any]) -> bool:
        condition = resource.get("Condition")
        return condition is None or self.resolver.condition(condition)

    def resources_of_type(self, *types: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Resources of the deployed template of these types whose Condition (if any) holds."""
        for logical_id, resource in self.deployed["Resources"].items():
            if resource.get("Type") in types and self._exists(resource):
                yield logical_id, resource

    def properties(self, logical_id: str) -> dict[str, Any]:
        """A deployed resource's properties, intrinsics resolved."""
        return self.resolve(self.deployed["Resources"][logical_id].get("Properties") or {}) or {}

    # physical names, Ref and GetAtt ----------------------------------------------------------
    def resource_info(self, logical_id: str) -> ResourceInfo:
        if logical_id in self.overrides:
            return self.overrides[logical_id]
        if logical_id not in self._infos:
            if logical_id in self._naming:
                raise TemplateError(f"{logical_id}'s name depends on itself")
            self._naming.add(logical_id)
            try:
                self._infos[logical_id] = self._compute_info(logical_id)
            finally:
                self._naming.discard(logical_id)
        return self._infos[logical_id]

    def physical_name(self, logical_id: str) -> str:
        resource = self.deployed["Resources"][logical_id]
        kind = resource.get("Type", "")
        name_property = _NAME_PROPERTY.get(kind)
        raw = (resource.get("Properties") or {}).get(name_property) if name_property else None
        if raw is not None:
            name = self.resolve(raw)
            if name is not None:
                return str(name)
        name = f"{self.stack_name}-{logical_id}"
        if kind == "AWS::S3::Bucket":
            name = name.lower()[:63]
        elif kind == "AWS::SQS::Queue" and (resource.get("Properties") or {}).get("FifoQueue"):
            name += ".fifo"
        return name

    def _compute_info(self, logical_id: str) -> ResourceInfo:  # noqa: C901 - one branch per resource type the template declares
        resources = self.deployed["Resources"]
        if logical_id not in resources:
            raise KeyError(logical_id)
        kind = resources[logical_id].get("Type", "")
        region, account = self.region, self.account_id
        if kind == "AWS::Lambda::Alias":
            # Ref: the alias ARN (what the S3 notification and the API integration invoke).
            props = resources[logical_id].get("Properties") or {}
            function = self.resolve({"Fn::GetAtt": [props["FunctionName"]["Ref"], "Arn"]})
            return ResourceInfo(f"{function}:{props['Name']}", {})
        if kind == "AWS::Lambda::Version":
            props = resources[logical_id].get("Properties") or {}
            function = self.resolve({"Fn::GetAtt": [props["FunctionName"]["Ref"], "Arn"]})
            return ResourceInfo(f"{function}:1", {"Version": "1"})
        name = self.physical_name(logical_id)
        if kind == "AWS::S3::Bucket":
            return ResourceInfo(
                name,
                {
                    "Arn": f"arn:aws:s3:::{name}",
                    "DomainName": f"{name}.s3.amazonaws.com",
                    "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
                },
            )
        if kind == "AWS::DynamoDB::Table":
            arn = f"arn:aws:dynamodb:{region}:{account}:table/{name}"
            return ResourceInfo(name, {"Arn": arn, "StreamArn": f"{arn}/stream/1970-01-01T00:00:00.000"})
        if kind == "AWS::SQS::Queue":
            url = f"{self.queue_url_base}/{account}/{name}"
            return ResourceInfo(
                url,
                {
                    "Arn": f"arn:aws:sqs:{region}:{account}:{name}",
                    "QueueName": name,
                    "QueueUrl": url,
                },
            )
        if kind == "AWS::SNS::Topic":
            arn = f"arn:aws:sns:{region}:{account}:{name}"
            return ResourceInfo(arn, {"TopicArn": arn, "TopicName": name})
        if kind == "AWS::Lambda::Function":
            return ResourceInfo(name, {"Arn": f"arn:aws:lambda:{region}:{account}:function:{name}"})
        if kind == "AWS::Lambda::LayerVersion":
            arn = f"arn:aws:lambda:{region}:{account}:layer:{name}:1"
            return ResourceInfo(arn, {"Arn": arn})
        if kind == "AWS::Logs::LogGroup":
            return ResourceInfo(name, {"Arn": f"arn:aws:logs:{region}:{account}:log-group:{name}:*"})
        if kind == "AWS::ApiGatewayV2::Api":
            api_id = "local" + re.sub(r"[^a-z0-9]", "", logical_id.lower())[:5]
            return ResourceInfo(api_id, {"ApiEndpoint": f"https://{api_id}.execute-api.{region}.amazonaws.com"})
        if kind == "AWS::CloudFront::Distribution":
            distribution_id = "E" + re.sub(r"[^A-Z0-9]", "", logical_id.upper())[:13]
            return ResourceInfo(
                distribution_id, {"DomainName": f"{distribution_id.lower()}.cloudfront.net", "Id": distribution_id}
            )
        if kind == "AWS::IAM::Role":
            return ResourceInfo(name, {"Arn": f"arn:aws:iam::{account}:role/{name}", "RoleId": name})
        return ResourceInfo(name, {"Arn": f"arn:aws:local:{region}:{account}:{logical_id}"})

    # typed view ------------------------------------------------------------------------------
    def buckets(self) -> list[BucketSpec]:
        out = []
        for logical_id, _ in self.resources_of_type("AWS::S3::Bucket"):
            props = self.properties(logical_id)
            info = self.resource_info(logical_id)
            status = (props.get("VersioningConfiguration") or {}).get("Status")
            out.append(BucketSpec(logical_id, info.ref, info.attributes["Arn"], status == "Enabled", props))
        return out

    def tables(self) -> list[TableSpec]:
        out = []
        for logical_id, _ in self.resources_of_type("AWS::DynamoDB::Table"):
            props = self.properties(logical_id)
            info = self.resource_info(logical_id)
            ttl = props.get("TimeToLiveSpecification") or {}
            stream = props.get("StreamSpecification") or {}
            out.append(
                TableSpec(
                    logical_id=logical_id,
                    name=info.ref,
                    arn=info.attributes["Arn"],
                    attribute_definitions=list(props.get("AttributeDefinitions") or []),
                    key_schema=list(props.get("KeySchema") or []),
                    global_secondary_indexes=list(props.get("GlobalSecondaryIndexes") or []),
                    local_secondary_indexes=list(props.get("LocalSecondaryIndexes") or []),
                    billing_mode=str(props.get("BillingMode") or "PROVISIONED"),
                    ttl_attribute=ttl.get("AttributeName") if _truthy(ttl.get("Enabled")) else None,
                    stream_view_type=stream.get("StreamViewType"),
                    properties=props,
                )
            )
        return out

    def queues(self) -> list[QueueSpec]:
        out = []
        for logical_id, _ in self.resources_of_type("AWS::SQS::Queue"):
            props = self.properties(logical_id)
            info = self.resource_info(logical_id)
            attributes = {
                key: json.dumps(props[key]) if isinstance(props[key], dict) else _to_str(props[key])
                for key in _QUEUE_ATTRIBUTES
                if key in props
            }
            name = info.attributes["QueueName"]
            out.append(
                QueueSpec(logical_id, name, info.attributes["Arn"], info.ref, name.endswith(".fifo"), attributes, props)
            )
        return out

    def layers(self) -> dict[str, LayerSpec]:
        """The template's layers with local content, keyed by their logical id as written."""
        out = {}
        for deployed_id, resource in self.resources_of_type("AWS::Lambda::LayerVersion"):
            content = (resource.get("Properties") or {}).get("Content") or {}
            logical_id = self._written_id(deployed_id, "AWS::Serverless::LayerVersion")
            out[logical_id] = LayerSpec(
                logical_id,
                self._local_path(content.get("S3Bucket"), content.get("S3Key")),
                self.resource_info(deployed_id).ref,
            )
        return out

    def _written_id(self, deployed_id: str, sam_type: str) -> str:
        """The logical id as written of a deployed resource (SAM appends a hash to a layer's)."""
        for logical_id, resource in self.data["Resources"].items():
            if resource.get("Type") == sam_type and re.fullmatch(re.escape(logical_id) + "[0-9a-f]{10}", deployed_id):
                return str(logical_id)
        return deployed_id

    def _local_path(self, bucket: Any, key: Any) -> Path | None:
        if bucket != LOCAL_CODE_BUCKET or not isinstance(key, str):
            return None
        return (self.root / key).resolve()

    def functions(self) -> list[FunctionSpec]:
        return [
            self.function(logical_id)
            for logical_id, resource in self.data["Resources"].items()
            if resource.get("Type") == "AWS::Serverless::Function" and self._exists(resource)
        ]

    def function(self, logical_id: str) -> FunctionSpec:
        resource = self.deployed["Resources"].get(logical_id)
        written = self.data["Resources"].get(logical_id) or {}
        if resource is None or written.get("Type") != "AWS::Serverless::Function":
            raise TemplateError(f"{logical_id} is not an AWS::Serverless::Function in {self.path.name}")
        raw_props = resource.get("Properties") or {}
        layer_specs = {spec.arn: spec for spec in self.layers().values()}
        layers = []
        for item in self.resolve(raw_props.get("Layers") or []) or []:
            layers.append(layer_specs.get(str(item)) or LayerSpec(None, None, str(item)))
        props = self.properties(logical_id)
        info = self.resource_info(logical_id)

        code = raw_props.get("Code") or {}
        code_uri = self._local_path(code.get("S3Bucket"), code.get("S3Key"))
        if code_uri is None:
            raise TemplateError(f"{logical_id}: CodeUri must be a local path to run it locally")
        handler = props.get("Handler")
        if not isinstance(handler, str) or "." not in handler:
            raise TemplateError(f"{logical_id}: Handler must be module.function")
        variables = ((props.get("Environment") or {}).get("Variables")) or {}

        invoke_config: dict[str, Any] = {}
        for config_id, _ in self.resources_of_type("AWS::Lambda::EventInvokeConfig"):
            config = self.deployed["Resources"][config_id].get("Properties") or {}
            if config.get("FunctionName") == {"Ref": logical_id}:
                invoke_config = self.properties(config_id)
        on_failure = (invoke_config.get("DestinationConfig") or {}).get("OnFailure") or {}
        failure_arn = on_failure.get("Destination")
        if failure_arn is None:
            failure_arn = (props.get("DeadLetterConfig") or {}).get("TargetArn")
        retries = invoke_config.get("MaximumRetryAttempts", 2)

        return FunctionSpec(
            logical_id=logical_id,
            function_name=info.ref,
            arn=info.attributes["Arn"],
            code_uri=code_uri,
            handler=handler,
            runtime=str(props.get("Runtime", "")),
            timeout=int(props.get("Timeout", 3)),
            memory_size=int(props.get("MemorySize", 128)),
            environment={str(k): _to_str(v) for k, v in variables.items()},
            layers=tuple(layers),
            s3_events=tuple(self._s3_events(logical_id)),
            http_routes=tuple(self._http_routes(logical_id)),
            maximum_retry_attempts=int(retries),
            on_failure_arn=str(failure_arn) if failure_arn is not None else None,
            properties=props,
        )

    def _invoked_function(self, target: Any) -> str | None:
        """The function a notification or integration invokes: directly, or through an alias or
        version of it."""
        for name in references(target):
            resource = self.deployed["Resources"].get(name) or {}
            kind = resource.get("Type")
            if kind == "AWS::Lambda::Function":
                return name
            if kind in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):
                return self._invoked_function((resource.get("Properties") or {}).get("FunctionName"))
        return None

    def _s3_events(self, function_id: str) -> Iterator[S3EventSpec]:
        """The bucket notifications (as the transform wrote them) that invoke this function."""
        for bucket_id, resource in self.resources_of_type("AWS::S3::Bucket"):
            notifications = (resource.get("Properties") or {}).get("NotificationConfiguration") or {}
            for index, config in enumerate(notifications.get("LambdaConfigurations") or []):
                if self._invoked_function(config.get("Function")) != function_id:
                    continue
                resolved = self.resolve(config)
                rules = ((resolved.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
                yield S3EventSpec(
                    name=self._s3_event_name(function_id, bucket_id, index),
                    bucket_logical_id=bucket_id,
                    bucket_name=self.resource_info(bucket_id).ref,
                    events=(str(resolved["Event"]),),
                    rules=tuple((str(r["Name"]), str(r["Value"])) for r in rules),
                )

    def _s3_event_name(self, function_id: str, bucket_id: str, index: int) -> str:
        """The name of the function's S3 event as written (the notification does not carry it)."""
        events = (self.data["Resources"][function_id].get("Properties") or {}).get("Events") or {}
        names = [
            name
            for name, event in events.items()
            if event.get("Type") == "S3" and (event.get("Properties") or {}).get("Bucket") == {"Ref": bucket_id}
        ]
        return names[0] if len(names) == 1 else f"{bucket_id}Notification{index}"

    def _http_routes(self, function_id: str) -> Iterator[HttpRouteSpec]:
        """The HTTP API routes (the transform's OpenAPI body) that integrate this function."""
        for api_id, resource in self.resources_of_type("AWS::ApiGatewayV2::Api"):
            body = (resource.get("Properties") or {}).get("Body") or {}
            for path, operations in (body.get("paths") or {}).items():
                for method, operation in operations.items():
                    integration = operation.get("x-amazon-apigateway-integration") or {}
                    if self._invoked_function(integration.get("uri")) != function_id:
                        continue
                    security = operation.get("security") or [{"NONE": []}]
                    method_name = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
                    yield HttpRouteSpec(
                        name=f"{method_name} {path}",
                        api_logical_id=api_id,
                        path=str(path),
                        method=method_name,
                        auth=str(next(iter(security[0]), "NONE")),
                        payload_format_version=str(integration.get("payloadFormatVersion", "2.0")),
                    )

    def http_routes(self) -> list[tuple[FunctionSpec, HttpRouteSpec]]:
        return [(fn, route) for fn in self.functions() for route in fn.http_routes]

    def outputs(self) -> dict[str, Any]:
        out = {}
        for name, output in (self.deployed.get("Outputs") or {}).items():
            if self._exists(output):
                out[name] = self.resolve(output.get("Value"))
        return out


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")
