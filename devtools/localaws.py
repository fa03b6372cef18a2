"""An embedded AWS for local runs: a moto server on 127.0.0.1 and the template's resources.

    with LocalAws("template.yaml") as stack:
        stack.invoke("HealthFunction", event)

- The moto server (`ThreadedMotoServer`) binds 127.0.0.1 on a free port (or the one given), its
  access log silenced.
- Every `AWS::S3::Bucket`, `AWS::DynamoDB::Table` and `AWS::SQS::Queue` of `template.yaml` is
  created with the API calls their CloudFormation properties stand for — not through moto's
  CloudFormation, which has no SAM transform and skips TTL and more (docs/library-notes.md) — so the
  local stack cannot drift from what deploys.
- `invoke(function_logical_id, event)` runs a function's real handler in this process: its
  CodeUri and layers on `sys.path`, its resolved `Environment` (Globals merged) plus what the
  Lambda runtime sets, and a fake Lambda context. `invoke_async` adds what Lambda does for
  asynchronous (S3) invocations: retries, then the OnFailure destination (the DLQ).

While the stack runs, the process environment points boto3 at it (`AWS_ENDPOINT_URL`) with fake
credentials, so nothing reaches real AWS; `stop()` restores the environment.

Invocations run one at a time: a function's environment is applied to `os.environ` (process-wide),
and `salesmetrics.config.get_settings()` is cached per process, so two functions with different
environments cannot run side by side in one process. To run them side by side, as Lambda does, set
`runner` to a `devtools.workers.WorkerPool`'s invoke (one process per execution environment).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from devtools import motopatch
from devtools.lambdacontext import ACCOUNT_ID, REGION, LambdaContext
from devtools.locallambda import LambdaEndpoint
from devtools.template import (
    DEFAULT_STACK_NAME,
    BucketSpec,
    FunctionSpec,
    QueueSpec,
    ResourceInfo,
    TableSpec,
    Template,
    TemplateError,
)

log = logging.getLogger("devtools.localaws")

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"
# Where a running demo tells other commands (make reconcile, make redrive) how to reach its stack.
STATE_FILE = REPO_ROOT / ".local" / "stack.json"

# Fake credentials and region for everything local; a dead proxy catches anything that escapes.
SAFE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}


_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_LIVE_LOCK = threading.Lock()
_LIVE_SERVERS: set[int] = set()  # local stacks of this process running their own moto server


class LocalAwsError(RuntimeError):
    """The local stack could not be started, reached or used."""


@dataclass(slots=True)
class AsyncInvocation:
    """The outcome of an asynchronous invocation (what S3 notifications get)."""

    function_logical_id: str
    request_id: str
    attempts: int
    result: Any = None
    error: BaseException | None = None
    dead_lettered_to: str | None = None  # the OnFailure destination's ARN, once retries ran out

    @property
    def ok(self) -> bool:
        return self.error is None


# --------------------------------------------------------------------------- the stack


class LocalAws:
    """A moto server with the template's resources, and a way to run the template's functions.

    `endpoint_url`: attach to a server that is already running (started by another process, e.g.
    the demo) instead of starting one; its resources are then expected to exist.
    `env_overrides`: applied over every function's environment (like `sam local --env-vars`).
    """

    def __init__(
        self,
        template_path: str | Path = DEFAULT_TEMPLATE,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        parameters: Mapping[str, Any] | None = None,
        stack_name: str = DEFAULT_STACK_NAME,
        region: str = REGION,
        env_overrides: Mapping[str, str] | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise LocalAwsError("the local stack binds the loopback interface only")
        self.template_path = Path(template_path).resolve()
        self.port = port
        self.host = host
        self.parameters = dict(parameters or {})
        self.stack_name = stack_name
        self.region = region
        self.env_overrides = dict(env_overrides or {})
        self.endpoint_url = endpoint_url.rstrip("/") if endpoint_url else ""
        self.attached = endpoint_url is not None
        self.template: Template | None = None
        self._server: Any = None
        self._saved_environ: dict[str, str | None] | None = None
        self._invoke_lock = threading.RLock()
        self._functions: dict[str, FunctionSpec] = {}
        self._modules: dict[str, ModuleType] = {}
        self._added_paths: list[str] = []
        # Set to run invocations elsewhere (devtools.workers: one process per execution
        # environment); None runs them here, one at a time.
        self.runner: Callable[[str, Any, str | None], Any] | None = None
        self.lambda_endpoint: LambdaEndpoint | None = None  # the Lambda Invoke API of the functions

    # lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalAws:
        if self.template is not None:
            return self
        started = time.monotonic()
        try:
            if not self.attached:
                self._start_server()
            self._apply_process_environment()
            self.template = Template(
                self.template_path,
                parameters=self.parameters,
                stack_name=self.stack_name,
                region=self.region,
                account_id=ACCOUNT_ID,
                queue_url_base=self.endpoint_url,
            )
            if self.attached:
                self._check_reachable()
                self._adopt_queue_urls()
            else:
                with _LIVE_LOCK:
                    # moto keeps its state per process, shared by every server in it: the first
                    # live stack starts from a clean slate, a second one shares it.
                    if not _LIVE_SERVERS:
                        self._moto_reset()
                        motopatch.apply()
                    _LIVE_SERVERS.add(id(self))
                self.create_resources()
            self.lambda_endpoint = LambdaEndpoint(self, self.host if self.host != "localhost" else "127.0.0.1").start()
        except BaseException:
            self.stop()
            raise
        log.debug("local stack ready at %s in %.2fs", self.endpoint_url, time.monotonic() - started)
        return self

    def stop(self) -> None:
        """Stop the moto server (if this stack started it) and restore the environment."""
        endpoint, self.lambda_endpoint = self.lambda_endpoint, None
        if endpoint is not None:
            with contextlib.suppress(Exception):
                endpoint.stop()
        server, self._server = self._server, None
        if server is not None:
            with _LIVE_LOCK:
                _LIVE_SERVERS.discard(id(self))
            with contextlib.suppress(Exception):
                server.stop()
        if self._saved_environ is not None:
            _restore_environ(self._saved_environ)
            self._saved_environ = None
        for path in self._added_paths:
            with contextlib.suppress(ValueError):
                sys.path.remove(path)
        self._added_paths.clear()
        self.template = None

    def _start_server(self) -> None:
        # werkzeug logs every request at INFO: silence the moto server's access log.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        try:
            server.start()
        except OSError as exc:
            raise LocalAwsError(f"cannot start the moto server on {self.host}:{self.port}: {exc}") from exc
        self._server = server
        host, port = server.get_host_and_port()
        self.port = int(port)
        self.endpoint_url = f"http://{host}:{port}"

    def _apply_process_environment(self) -> None:
        values = dict(SAFE_ENVIRONMENT)
        values.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint_url,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_REGION": self.region,
                "NO_PROXY": _no_proxy(os.environ.get("NO_PROXY", "")),
                "no_proxy": _no_proxy(os.environ.get("no_proxy", "")),
            }
        )
        self._saved_environ = _apply_environ(values)

    def _check_reachable(self) -> None:
        try:
            with _NO_PROXY_OPENER.open(f"{self.endpoint_url}/", timeout=3) as response:
                response.read(1)
        except urllib.error.HTTPError:
            return  # it answered
        except OSError as exc:
            raise LocalAwsError(f"no local stack answers at {self.endpoint_url}: {exc}") from exc

    # resources -------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        """A boto3 client bound to the local endpoint (created on demand, never before start)."""
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # nosec B106
        )

    def create_resources(self) -> dict[str, list[str]]:
        """Create every bucket, table and queue of the template; answer their physical names."""
        template = self._template()
        created: dict[str, list[str]] = {"buckets": [], "tables": [], "queues": []}
        for bucket in template.buckets():
            self._create_bucket(bucket)
            created["buckets"].append(bucket.name)
        for table in template.tables():
            self._create_table(table)
            created["tables"].append(table.name)
        for queue in template.queues():
            self._create_queue(queue)
            created["queues"].append(queue.name)
        return created

    def reset(self) -> None:
        """Empty everything (moto's reset) and create the template's resources again."""
        self._moto_reset()
        self.create_resources()

    def _moto_reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with _NO_PROXY_OPENER.open(request, timeout=10) as response:
            response.read()

    def _create_bucket(self, bucket: BucketSpec) -> None:
        s3 = self.client("s3")
        kwargs: dict[str, Any] = {"Bucket": bucket.name}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        # Already there when another stack of this process made it (moto's state is process-wide).
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(**kwargs)
        props = bucket.properties
        if bucket.versioning:
            s3.put_bucket_versioning(Bucket=bucket.name, VersioningConfiguration={"Status": "Enabled"})
        encryption = (props.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration")
        if encryption:
            rules = [
                {
                    "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                    **{k: rule[k] for k in ("BucketKeyEnabled",) if k in rule},
                }
                for rule in encryption
                if "ServerSideEncryptionByDefault" in rule
            ]
            if rules:
                s3.put_bucket_encryption(Bucket=bucket.name, ServerSideEncryptionConfiguration={"Rules": rules})
        block = props.get("PublicAccessBlockConfiguration")
        if block:
            s3.put_public_access_block(Bucket=bucket.name, PublicAccessBlockConfiguration=block)
        cors = (props.get("CorsConfiguration") or {}).get("CorsRules")
        if cors:
            s3.put_bucket_cors(Bucket=bucket.name, CORSConfiguration={"CORSRules": [cors_rule(r) for r in cors]})

    def _create_table(self, table: TableSpec) -> None:
        ddb = self.client("dynamodb")
        kwargs: dict[str, Any] = {
            "TableName": table.name,
            "AttributeDefinitions": table.attribute_definitions,
            "KeySchema": table.key_schema,
            "BillingMode": table.billing_mode,
        }
        provisioned = table.billing_mode == "PROVISIONED"
        if provisioned:
            kwargs["ProvisionedThroughput"] = _throughput(table.properties.get("ProvisionedThroughput"))
        if table.global_secondary_indexes:
            kwargs["GlobalSecondaryIndexes"] = [_index(i, provisioned) for i in table.global_secondary_indexes]
        if table.local_secondary_indexes:
            kwargs["LocalSecondaryIndexes"] = [_index(i, False) for i in table.local_secondary_indexes]
        if table.stream_view_type:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream_view_type}
        sse = table.properties.get("SSESpecification") or {}
        if sse.get("SSEEnabled") in (True, "true"):
            kwargs["SSESpecification"] = {"Enabled": True, **{k: sse[k] for k in ("SSEType",) if k in sse}}
        try:
            ddb.create_table(**kwargs)
        except ddb.exceptions.ResourceInUseException:
            return  # another stack of this process created it (moto's state is process-wide)
        if table.ttl_attribute:
            ddb.update_time_to_live(
                TableName=table.name, TimeToLiveSpecification={"AttributeName": table.ttl_attribute, "Enabled": True}
            )
        pitr = table.properties.get("PointInTimeRecoverySpecification") or {}
        if pitr.get("PointInTimeRecoveryEnabled") in (True, "true"):
            ddb.update_continuous_backups(
                TableName=table.name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )

    def _create_queue(self, queue: QueueSpec) -> None:
        response = self.client("sqs").create_queue(QueueName=queue.name, Attributes=queue.attributes)
        self._set_queue_url(queue, response["QueueUrl"])

    def _set_queue_url(self, queue: QueueSpec, url: str) -> None:
        template = self._template()
        template.overrides[queue.logical_id] = ResourceInfo(
            url, {"Arn": queue.arn, "QueueName": queue.name, "QueueUrl": url}
        )
        self._functions.clear()

    def _adopt_queue_urls(self) -> None:
        sqs = self.client("sqs")
        for queue in self._template().queues():
            with contextlib.suppress(Exception):
                self._set_queue_url(queue, sqs.get_queue_url(QueueName=queue.name)["QueueUrl"])

    # the typed view, resolved against this stack -----------------------------------------------
    def _template(self) -> Template:
        if self.template is None:
            raise LocalAwsError("the local stack is not started")
        return self.template

    def function(self, logical_id: str) -> FunctionSpec:
        if logical_id not in self._functions:
            self._functions[logical_id] = self._template().function(logical_id)
        return self._functions[logical_id]

    def functions(self) -> list[FunctionSpec]:
        return [self.function(f.logical_id) for f in self._template().functions()]

    def bucket(self, logical_id: str | None = None) -> BucketSpec:
        """A bucket of the template; without a name, the one sales exports go to (the bucket the
        functions' S3 events watch), as the template also holds the dashboard's static files."""
        buckets = self._template().buckets()
        if logical_id is None and len(buckets) > 1:
            watched = {spec.bucket_logical_id for fn in self.functions() for spec in fn.s3_events}
            if len(watched) == 1:
                logical_id = watched.pop()
        return _pick(buckets, logical_id, "bucket")

    def table(self, logical_id: str | None = None) -> TableSpec:
        return _pick(self._template().tables(), logical_id, "table")

    def queue(self, logical_id: str | None = None) -> QueueSpec:
        queue = _pick(self._template().queues(), logical_id, "queue")
        return queue

    def describe(self) -> dict[str, Any]:
        """What another process needs to attach to this stack (written to `STATE_FILE`)."""
        template = self._template()
        return {
            "endpoint_url": self.endpoint_url,
            "region": self.region,
            "stack_name": self.stack_name,
            "template": str(self.template_path),
            "parameters": self.parameters,
            "pid": os.getpid(),
            "buckets": {b.logical_id: b.name for b in template.buckets()},
            "tables": {t.logical_id: t.name for t in template.tables()},
            "queues": {q.logical_id: q.url for q in template.queues()},
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    # running functions ------------------------------------------------------------------------
    def environment(self, logical_id: str) -> dict[str, str]:
        """The variables a function sees: the Lambda runtime's, the template's, then overrides."""
        fn = self.function(logical_id)
        runtime = {
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(fn.timeout),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.function_name}",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.runtime or 'python3.13'}",
            "_HANDLER": fn.handler,
            "LAMBDA_TASK_ROOT": str(fn.code_uri),
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            **({"AWS_ENDPOINT_URL_LAMBDA": self.lambda_endpoint.url} if self.lambda_endpoint else {}),
            # As under `sam local`: Powertools' Tracer stays off (no X-Ray daemon here).
            "AWS_SAM_LOCAL": "true",
            **SAFE_ENVIRONMENT,
        }
        return {**runtime, **fn.environment, **self.env_overrides}

    def _foreign_names(self, logical_id: str) -> set[str]:
        """Variables other functions define and this one does not: absent while it runs, as in
        its own execution environment (e.g. BUCKET_NAME, which the ingest function must not see)."""
        own = set(self.function(logical_id).environment) | set(self.env_overrides)
        names = {name for fn in self.functions() for name in fn.environment}
        return names - own

    def handler_module(self, logical_id: str) -> ModuleType:
        """Import (once) the function's handler module with its code and layers on sys.path."""
        fn = self.function(logical_id)
        with self._invoke_lock:
            if fn.module in self._modules:
                return self._modules[fn.module]
            for path in reversed(fn.sys_paths()):
                text = str(path)
                if text not in sys.path:
                    sys.path.insert(0, text)
                    self._added_paths.append(text)
            with _environment(self.environment(logical_id), unset=self._foreign_names(logical_id)):
                _clear_settings_cache()
                try:
                    module = importlib.import_module(fn.module)
                except ImportError as exc:
                    raise LocalAwsError(f"{logical_id}: cannot import {fn.module} from {fn.code_uri}: {exc}") from exc
            where = Path(getattr(module, "__file__", "") or "").resolve()
            if fn.code_uri not in where.parents:
                raise LocalAwsError(
                    f"{logical_id}: module {fn.module} was imported from {where}, not {fn.code_uri} "
                    "(handler module names must be unique across functions)"
                )
            self._modules[fn.module] = module
            return module

    def context(self, logical_id: str, request_id: str | None = None) -> LambdaContext:
        # Retries of one asynchronous invocation share its request id.
        return self.function(logical_id).lambda_context(request_id)

    def invoke(self, logical_id: str, event: Any, *, request_id: str | None = None) -> Any:
        """Run the function's handler on `event` (synchronously); its exception propagates."""
        if self.template is None:
            raise LocalAwsError("the local stack is not started")
        if self.runner is not None:
            return self.runner(logical_id, event, request_id)
        fn = self.function(logical_id)
        with self._invoke_lock:
            module = self.handler_module(logical_id)
            handler = getattr(module, fn.attribute, None)
            if not callable(handler):
                raise LocalAwsError(f"{logical_id}: {fn.handler} is not a function")
            context = self.context(logical_id, request_id)
            started = time.monotonic()
            with _environment(self.environment(logical_id), unset=self._foreign_names(logical_id)):
                _clear_settings_cache()
                try:
                    return handler(event, context)
                finally:
                    _clear_settings_cache()
                    elapsed = time.monotonic() - started
                    if elapsed > fn.timeout:
                        log.warning(
                            "%s ran %.1fs: Lambda would have stopped it at its %ss timeout",
                            logical_id,
                            elapsed,
                            fn.timeout,
                        )

    def invoke_async(self, logical_id: str, event: Any, *, retry_delay: float = 0.0) -> AsyncInvocation:
        """Run the function as Lambda runs an asynchronous (S3) invocation.

        On an error Lambda retries up to `MaximumRetryAttempts` (EventInvokeConfig, default 2)
        with the same request id; when retries run out the invocation record goes to the
        OnFailure destination (or DeadLetterQueue) — the SQS queue of the template, here.
        """
        fn = self.function(logical_id)
        request_id = str(uuid.uuid4())
        outcome = AsyncInvocation(logical_id, request_id, attempts=0)
        for attempt in range(1, fn.maximum_retry_attempts + 2):
            outcome.attempts = attempt
            try:
                outcome.result = self.invoke(logical_id, event, request_id=request_id)
                outcome.error = None
                return outcome
            except Exception as exc:
                outcome.error = exc
                log.warning(
                    "%s failed (attempt %d of %d): %s: %s",
                    logical_id,
                    attempt,
                    fn.maximum_retry_attempts + 1,
                    type(exc).__name__,
                    exc,
                )
                if attempt <= fn.maximum_retry_attempts and retry_delay:
                    time.sleep(retry_delay)
        if fn.on_failure_arn and outcome.error is not None:
            self._send_to_destination(fn, event, outcome)
        return outcome

    def _send_to_destination(self, fn: FunctionSpec, event: Any, outcome: AsyncInvocation) -> None:
        arn = fn.on_failure_arn or ""
        queue = next((q for q in self._template().queues() if q.arn == arn), None)
        if queue is None:
            log.warning(
                "%s: OnFailure destination %s is not a queue of the template; record dropped", fn.logical_id, arn
            )
            return
        error = outcome.error
        assert error is not None
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestContext": {
                "requestId": outcome.request_id,
                "functionArn": f"{fn.arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": outcome.attempts,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "requestId": outcome.request_id,
                "stackTrace": traceback.format_tb(error.__traceback__),
            },
        }
        self.client("sqs").send_message(QueueUrl=queue.url, MessageBody=json.dumps(record, default=str))
        outcome.dead_lettered_to = arn
        log.warning("%s: retries exhausted; the event went to %s", fn.logical_id, queue.name)


# --------------------------------------------------------------------------- state file


def write_state(stack: LocalAws, path: Path = STATE_FILE, **extra: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**stack.describe(), **extra}, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def remove_state(path: Path = STATE_FILE) -> None:
    """Remove the state file if this process wrote it."""
    with contextlib.suppress(FileNotFoundError, ValueError, OSError):
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()


def read_state(path: Path = STATE_FILE) -> dict[str, Any] | None:
    """The running demo's stack, or None when no demo is running (stale files are ignored)."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    pid = state.get("pid")
    if not isinstance(pid, int) or not _alive(pid):
        return None
    return dict(state)


def attach(path: Path = STATE_FILE, **kwargs: Any) -> LocalAws:
    """A LocalAws attached to the running demo's moto server (raises LocalAwsError if none)."""
    state = read_state(path)
    if state is None:
        raise LocalAwsError(f"no local stack is running (no live {path}); start one with `make demo`")
    stack = LocalAws(
        state["template"],
        parameters=state.get("parameters") or {},
        stack_name=state.get("stack_name", DEFAULT_STACK_NAME),
        region=state.get("region", REGION),
        endpoint_url=state["endpoint_url"],
        **kwargs,
    )
    return stack.start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --------------------------------------------------------------------------- helpers


def _pick[T: (BucketSpec, TableSpec, QueueSpec)](items: list[T], logical_id: str | None, what: str) -> T:
    if logical_id is None:
        if len(items) != 1:
            raise TemplateError(f"the template has {len(items)} {what}s: name one")
        return items[0]
    for item in items:
        if item.logical_id == logical_id:
            return item
    raise TemplateError(f"no {what} {logical_id} in the template")


def _throughput(value: Mapping[str, Any] | None) -> dict[str, int]:
    value = value or {}
    return {
        "ReadCapacityUnits": int(value.get("ReadCapacityUnits", 5)),
        "WriteCapacityUnits": int(value.get("WriteCapacityUnits", 5)),
    }


def _index(index: Mapping[str, Any], provisioned: bool) -> dict[str, Any]:
    out = {k: index[k] for k in ("IndexName", "KeySchema", "Projection") if k in index}
    if provisioned:
        out["ProvisionedThroughput"] = _throughput(index.get("ProvisionedThroughput"))
    return out


def cors_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    names = {
        "AllowedHeaders": "AllowedHeaders",
        "AllowedMethods": "AllowedMethods",
        "AllowedOrigins": "AllowedOrigins",
        "ExposedHeaders": "ExposeHeaders",
        "Id": "ID",
        "MaxAge": "MaxAgeSeconds",
    }
    return {names[k]: v for k, v in rule.items() if k in names}


def _no_proxy(current: str) -> str:
    hosts = [h for h in current.split(",") if h.strip()]
    for host in ("127.0.0.1", "localhost"):
        if host not in hosts:
            hosts.append(host)
    return ",".join(hosts)


def _apply_environ(values: Mapping[str, str]) -> dict[str, str | None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    return saved


def _restore_environ(saved: Mapping[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@contextlib.contextmanager
def _environment(values: Mapping[str, str], unset: Iterable[str] = ()) -> Iterator[None]:
    removed = {name: os.environ.pop(name) for name in unset if name in os.environ and name not in values}
    saved = {**_apply_environ(values), **removed}
    try:
        yield
    finally:
        _restore_environ(saved)


def _clear_settings_cache() -> None:
    """`salesmetrics.config.get_settings()` reads the environment once per process; each
    function has its own, so forget it whenever the environment changes."""
    config = sys.modules.get("salesmetrics.config")
    get_settings = getattr(config, "get_settings", None)
    cache_clear = getattr(get_settings, "cache_clear", None)
    if callable(cache_clear):
        cache_clear()
