"""Read `template.yaml` the way CloudFormation and SAM do, for the local stack.

- `load_template(path)`: YAML with CloudFormation's short tags (`!Ref`, `!GetAtt`, `!Sub`, ...)
  turned into the plain long form (`{"Ref": x}`, `{"Fn::GetAtt": [r, a]}`, ...).
- `Resolver`: evaluates intrinsic functions and Conditions given parameter values (defaults from
  `Parameters`), pseudo parameters and each resource's physical name and attributes.
- `Template`: a typed view — functions (Globals merged the SAM way, environment resolved, layers,
  S3 and HttpApi events), buckets, tables and queues, with local physical names.

Local physical names follow CloudFormation: an explicit name property (`BucketName`, `TableName`,
`QueueName`, ...) is resolved and used; otherwise the name is `<stack>-<LogicalId>` (without
CloudFormation's random suffix, so a local stack is reproducible).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from devtools.lambdacontext import LambdaContext

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
DEFAULT_STACK_NAME = "sales-metrics-local"

_NO_VALUE = object()  # AWS::NoValue: the property (or list element) disappears


class TemplateError(ValueError):
    """The template cannot be read or resolved locally."""


# --------------------------------------------------------------------------- YAML with short tags


class CfnLoader(yaml.SafeLoader):  # type: ignore[misc]
    """A SafeLoader that understands CloudFormation's short-form intrinsic tags.

    Timestamps stay strings (CloudFormation does not turn `2010-09-09` into a date).
    """


CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_SHORT_TAGS = (
    "Base64", "Cidr", "FindInMap", "GetAZs", "GetAtt", "If", "ImportValue", "Join", "Select",
    "Split", "Sub", "Transform", "And", "Equals", "Not", "Or", "ToJsonString", "Length",
)


def _construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise TemplateError(f"unsupported YAML node {node!r}")


def _make_constructor(name: str) -> Callable[[yaml.SafeLoader, yaml.Node], Any]:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        value = _construct(loader, node)
        if name == "GetAtt" and isinstance(value, str):
            resource, _, attribute = value.partition(".")
            value = [resource, attribute]
        return {f"Fn::{name}": value}

    return construct


def _ref(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return {"Ref": _construct(loader, node)}


def _condition(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return {"Condition": _construct(loader, node)}


for _name in _SHORT_TAGS:
    CfnLoader.add_constructor(f"!{_name}", _make_constructor(_name))
CfnLoader.add_constructor("!Ref", _ref)
CfnLoader.add_constructor("!Condition", _condition)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=CfnLoader)  # nosec B506 - CfnLoader is a SafeLoader


def load_template(path: str | Path) -> dict[str, Any]:
    """The template as plain data: short tags in their long `Fn::` form."""
    data = load_yaml(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        raise TemplateError(f"{path}: not a CloudFormation template (no Resources)")
    return data


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
        imports: Mapping[str, str] | None = None,
    ) -> None:
        self.template = template
        self.region = region
        self.account_id = account_id
        self.stack_name = stack_name
        self.imports = dict(imports or {})
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
            (key, arg), = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Condition" and isinstance(arg, str):
                return self.condition(arg)
            if key.startswith("Fn::"):
                handler = getattr(self, "_fn_" + key[4:].lower(), None)
                if handler is None:
                    raise TemplateError(f"{key} is not supported locally")
                return handler(arg)
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

    def _fn_select(self, arg: Any) -> Any:
        index, items = (self._resolve(a) for a in arg)
        return items[int(index)]

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

    def _fn_findinmap(self, arg: Any) -> Any:
        name, top, second = (self._resolve(a) for a in arg[:3])
        mappings = self.template.get("Mappings") or {}
        try:
            return mappings[name][top][second]
        except KeyError:
            if len(arg) > 3 and isinstance(arg[3], dict) and "DefaultValue" in arg[3]:
                return self._resolve(arg[3]["DefaultValue"])
            raise TemplateError(f"Fn::FindInMap {name}/{top}/{second}: no such entry") from None

    def _fn_base64(self, arg: Any) -> str:
        return base64.b64encode(_to_str(self._resolve(arg)).encode()).decode()

    def _fn_getazs(self, arg: Any) -> list[str]:
        region = self._resolve(arg) or self.region
        return [f"{region}{suffix}" for suffix in "abcdef"]

    def _fn_cidr(self, arg: Any) -> list[str]:
        block, count, bits = (self._resolve(a) for a in arg)
        network = ipaddress.ip_network(str(block), strict=False)
        prefix = network.max_prefixlen - int(bits)
        subnets = network.subnets(new_prefix=prefix)
        return [str(next(subnets)) for _ in range(int(count))]

    def _fn_importvalue(self, arg: Any) -> str:
        name = _to_str(self._resolve(arg))
        if name not in self.imports:
            raise TemplateError(f"Fn::ImportValue {name}: no such export locally")
        return self.imports[name]

    def _fn_tojsonstring(self, arg: Any) -> str:
        return json.dumps(self._resolve(arg), separators=(",", ":"))

    def _fn_length(self, arg: Any) -> int:
        return len(self._resolve(arg))


def _to_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_to_str(v) for v in value)
    return str(value)


# --------------------------------------------------------------------------- SAM Globals


def _is_intrinsic(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and (
        "Ref" in value or "Condition" in value or next(iter(value)).startswith("Fn::")
    )


def merge_globals(global_value: Any, local_value: Any) -> Any:
    """SAM's Globals rule: maps merge (the resource wins), lists add up (globals first),
    anything else (and any intrinsic function) is overridden by the resource's value."""
    if (isinstance(global_value, dict) and isinstance(local_value, dict)
            and not _is_intrinsic(global_value) and not _is_intrinsic(local_value)):
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = merge_globals(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return [*global_value, *local_value]
    return local_value


# --------------------------------------------------------------------------- the typed view


@dataclass(frozen=True, slots=True)
class LayerSpec:
    logical_id: str | None  # None: a layer outside the template (only its ARN is known)
    content_uri: Path | None
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
    name: str
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
    other_events: dict[str, dict[str, Any]]
    maximum_retry_attempts: int  # asynchronous invocations (S3): Lambda's default is 2
    on_failure_arn: str | None  # EventInvokeConfig OnFailure destination, or DeadLetterQueue
    properties: dict[str, Any]  # every resolved property, Globals merged

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    def lambda_context(self, request_id: str | None = None) -> LambdaContext:
        """A fresh Lambda context for one invocation of this function."""
        context = LambdaContext(function_name=self.function_name, memory_limit_in_mb=self.memory_size,
                                timeout_seconds=self.timeout, invoked_function_arn=self.arn)
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
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::Serverless::LayerVersion": "LayerName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::IAM::Role": "RoleName",
}

# SQS queue properties → queue attributes (CreateQueue).
_QUEUE_ATTRIBUTES = (
    "DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout", "FifoQueue", "ContentBasedDeduplication", "DeduplicationScope",
    "FifoThroughputLimit", "SqsManagedSseEnabled", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds",
    "RedrivePolicy", "RedriveAllowPolicy",
)


class Template:
    """`template.yaml`, resolved for a local stack.

    `queue_url_base` is the SQS endpoint queue URLs are built on (the moto server's, locally);
    `overrides` replaces what Ref/GetAtt answer for a resource (e.g. a queue URL the server gave).
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
        imports: Mapping[str, str] | None = None,
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
        self.resolver = Resolver(
            self.data, parameters=parameters, stack_name=stack_name, region=region,
            account_id=account_id, resources=self.resource_info, imports=imports,
        )

    # raw access ------------------------------------------------------------------------------
    @property
    def parameters(self) -> dict[str, Any]:
        return self.resolver.parameters

    def resolve(self, value: Any) -> Any:
        return self.resolver.resolve(value)

    def raw_resources(self) -> dict[str, dict[str, Any]]:
        """Every resource whose Condition (if any) holds."""
        out = {}
        for logical_id, resource in self.data["Resources"].items():
            condition = resource.get("Condition")
            if condition is None or self.resolver.condition(condition):
                out[logical_id] = resource
        return out

    def resources_of_type(self, *types: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for logical_id, resource in self.raw_resources().items():
            if resource.get("Type") in types:
                yield logical_id, resource

    def properties(self, logical_id: str) -> dict[str, Any]:
        """The resource's properties, Globals merged (SAM types), intrinsics resolved."""
        resource = self.data["Resources"][logical_id]
        props = dict(resource.get("Properties") or {})
        section = {
            "AWS::Serverless::Function": "Function",
            "AWS::Serverless::HttpApi": "HttpApi",
            "AWS::Serverless::Api": "Api",
            "AWS::Serverless::SimpleTable": "SimpleTable",
            "AWS::Serverless::LayerVersion": "LayerVersion",
        }.get(resource.get("Type", ""))
        if section:
            globals_ = ((self.data.get("Globals") or {}).get(section)) or {}
            for key, value in globals_.items():
                props[key] = merge_globals(value, props[key]) if key in props else value
        return self.resolve(props) or {}

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
        resource = self.data["Resources"][logical_id]
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

    def _compute_info(self, logical_id: str) -> ResourceInfo:
        resources = self.data["Resources"]
        if logical_id not in resources:
            raise KeyError(logical_id)
        kind = resources[logical_id].get("Type", "")
        region, account = self.region, self.account_id
        name = self.physical_name(logical_id)
        if kind == "AWS::S3::Bucket":
            return ResourceInfo(name, {
                "Arn": f"arn:aws:s3:::{name}",
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
                "WebsiteURL": f"http://{name}.s3-website-{region}.amazonaws.com",
            })
        if kind in ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable"):
            arn = f"arn:aws:dynamodb:{region}:{account}:table/{name}"
            return ResourceInfo(name, {"Arn": arn, "StreamArn": f"{arn}/stream/1970-01-01T00:00:00.000"})
        if kind == "AWS::SQS::Queue":
            url = f"{self.queue_url_base}/{account}/{name}"
            return ResourceInfo(url, {
                "Arn": f"arn:aws:sqs:{region}:{account}:{name}", "QueueName": name, "QueueUrl": url,
            })
        if kind == "AWS::SNS::Topic":
            arn = f"arn:aws:sns:{region}:{account}:{name}"
            return ResourceInfo(arn, {"TopicArn": arn, "TopicName": name})
        if kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
            return ResourceInfo(name, {"Arn": arn})
        if kind in ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"):
            arn = f"arn:aws:lambda:{region}:{account}:layer:{name}:1"
            return ResourceInfo(arn, {"Arn": arn})
        if kind == "AWS::Logs::LogGroup":
            return ResourceInfo(name, {"Arn": f"arn:aws:logs:{region}:{account}:log-group:{name}:*"})
        if kind in ("AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api",
                    "AWS::Serverless::Api", "AWS::ApiGateway::RestApi"):
            api_id = "local" + re.sub(r"[^a-z0-9]", "", logical_id.lower())[:5]
            return ResourceInfo(api_id, {
                "ApiEndpoint": f"https://{api_id}.execute-api.{region}.amazonaws.com",
                "RootResourceId": "root",
            })
        if kind == "AWS::CloudWatch::Alarm":
            return ResourceInfo(name, {"Arn": f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"})
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
            out.append(TableSpec(
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
            ))
        return out

    def queues(self) -> list[QueueSpec]:
        out = []
        for logical_id, _ in self.resources_of_type("AWS::SQS::Queue"):
            props = self.properties(logical_id)
            info = self.resource_info(logical_id)
            attributes = {}
            for key in _QUEUE_ATTRIBUTES:
                if key in props:
                    value = props[key]
                    attributes[key] = (json.dumps(value) if isinstance(value, dict) else _to_str(value))
            name = info.attributes["QueueName"]
            out.append(QueueSpec(logical_id, name, info.attributes["Arn"], info.ref,
                                 name.endswith(".fifo"), attributes, props))
        return out

    def layers(self) -> dict[str, LayerSpec]:
        out = {}
        for logical_id, _ in self.resources_of_type("AWS::Serverless::LayerVersion",
                                                    "AWS::Lambda::LayerVersion"):
            props = self.properties(logical_id)
            uri = props.get("ContentUri") or props.get("Content")
            path = (self.root / uri).resolve() if isinstance(uri, str) else None
            out[logical_id] = LayerSpec(logical_id, path, self.resource_info(logical_id).ref)
        return out

    def functions(self) -> list[FunctionSpec]:
        return [self.function(logical_id) for logical_id, _ in
                self.resources_of_type("AWS::Serverless::Function")]

    def function(self, logical_id: str) -> FunctionSpec:
        resource = self.data["Resources"].get(logical_id)
        if resource is None or resource.get("Type") != "AWS::Serverless::Function":
            raise TemplateError(f"{logical_id} is not an AWS::Serverless::Function in {self.path.name}")
        raw_props = dict(resource.get("Properties") or {})
        globals_ = ((self.data.get("Globals") or {}).get("Function")) or {}
        for key, value in globals_.items():
            raw_props[key] = merge_globals(value, raw_props[key]) if key in raw_props else value

        layer_specs = self.layers()
        layers = []
        for item in raw_props.pop("Layers", None) or []:
            if isinstance(item, dict) and set(item) == {"Ref"} and item["Ref"] in layer_specs:
                layers.append(layer_specs[item["Ref"]])
            else:
                resolved = self.resolve(item)
                if resolved is not None:
                    layers.append(LayerSpec(None, None, str(resolved)))

        raw_events = raw_props.pop("Events", None) or {}
        props = self.resolve(raw_props) or {}
        info = self.resource_info(logical_id)

        code_uri = props.get("CodeUri")
        if not isinstance(code_uri, str):
            raise TemplateError(f"{logical_id}: CodeUri must be a local path to run it locally")
        handler = props.get("Handler")
        if not isinstance(handler, str) or "." not in handler:
            raise TemplateError(f"{logical_id}: Handler must be module.function")
        variables = ((props.get("Environment") or {}).get("Variables")) or {}

        s3_events, routes, others = self._function_events(raw_events)
        invoke_config = props.get("EventInvokeConfig") or {}
        on_failure = ((invoke_config.get("DestinationConfig") or {}).get("OnFailure") or {})
        failure_arn = on_failure.get("Destination")
        if failure_arn is None:
            failure_arn = (props.get("DeadLetterQueue") or {}).get("TargetArn")
        retries = invoke_config.get("MaximumRetryAttempts", 2)

        return FunctionSpec(
            logical_id=logical_id,
            function_name=info.ref,
            arn=info.attributes["Arn"],
            code_uri=(self.root / code_uri).resolve(),
            handler=handler,
            runtime=str(props.get("Runtime", "")),
            timeout=int(props.get("Timeout", 3)),
            memory_size=int(props.get("MemorySize", 128)),
            environment={str(k): _to_str(v) for k, v in variables.items()},
            layers=tuple(layers),
            s3_events=tuple(s3_events),
            http_routes=tuple(routes),
            other_events=others,
            maximum_retry_attempts=int(retries),
            on_failure_arn=str(failure_arn) if failure_arn is not None else None,
            properties=props,
        )

    def _function_events(
        self, raw_events: Mapping[str, Any]
    ) -> tuple[list[S3EventSpec], list[HttpRouteSpec], dict[str, dict[str, Any]]]:
        s3_events: list[S3EventSpec] = []
        routes: list[HttpRouteSpec] = []
        others: dict[str, dict[str, Any]] = {}
        for name, event in raw_events.items():
            kind = event.get("Type")
            raw_props = event.get("Properties") or {}
            if kind == "S3":
                bucket_ref = raw_props.get("Bucket")
                if not (isinstance(bucket_ref, dict) and "Ref" in bucket_ref):
                    raise TemplateError(f"S3 event {name}: Bucket must be !Ref to a bucket in the template")
                props = self.resolve(raw_props)
                events = props.get("Events")
                events = (events,) if isinstance(events, str) else tuple(events or ())
                rules = ((props.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
                s3_events.append(S3EventSpec(
                    name=name,
                    bucket_logical_id=bucket_ref["Ref"],
                    bucket_name=props["Bucket"],
                    events=events,
                    rules=tuple((str(r["Name"]), str(r["Value"])) for r in rules),
                ))
            elif kind == "HttpApi":
                api_ref = raw_props.get("ApiId")
                api_id = api_ref["Ref"] if isinstance(api_ref, dict) and "Ref" in api_ref else None
                props = self.resolve(raw_props)
                routes.append(HttpRouteSpec(
                    name=name,
                    api_logical_id=api_id,
                    path=str(props.get("Path", "$default")),
                    method=str(props.get("Method", "ANY")).upper(),
                    auth=self._route_auth(api_id, props.get("Auth")),
                    payload_format_version=str(props.get("PayloadFormatVersion", "2.0")),
                ))
            else:
                others[name] = {"Type": kind, "Properties": self.resolve(raw_props)}
        return s3_events, routes, others

    def _route_auth(self, api_logical_id: str | None, auth: Mapping[str, Any] | None) -> str:
        if auth and auth.get("Authorizer"):
            return str(auth["Authorizer"])
        if api_logical_id is not None:
            api_auth = self.properties(api_logical_id).get("Auth") or {}
        else:
            api_auth = ((self.data.get("Globals") or {}).get("HttpApi") or {}).get("Auth") or {}
            api_auth = self.resolve(api_auth) or {}
        return str(api_auth.get("DefaultAuthorizer") or "NONE")

    def http_routes(self) -> list[tuple[FunctionSpec, HttpRouteSpec]]:
        return [(fn, route) for fn in self.functions() for route in fn.http_routes]

    def outputs(self) -> dict[str, Any]:
        out = {}
        for name, output in (self.data.get("Outputs") or {}).items():
            condition = output.get("Condition")
            if condition is None or self.resolver.condition(condition):
                out[name] = self.resolve(output.get("Value"))
        return out


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")
