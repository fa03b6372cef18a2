"""A local stand-in for API Gateway (HTTP API, payload format 2.0) in front of the Lambda handlers.

Routes come from `template.yaml`: every `HttpApi` event of every `AWS::Serverless::Function`
(Path with `{param}` / `{param+}`, Method, Auth). A request is matched like API Gateway matches
it (exact paths before parameterised ones, greedy last), turned into the event API Gateway would
send, and given to the handler (`CodeUri` + `Handler`, imported by file path, layers on
sys.path) with a Lambda-like context. The handler's answer is mapped back to HTTP.

JWT authorizers are enforced as API Gateway enforces them when the gateway is given them
(`authorizers`, from devtools.cognito: the template's issuer and audience, the pool's JWKS): a
route behind one answers 401 `{"message": "Unauthorized"}` without a valid token, and its event
carries the token's claims. A route behind a JWT authorizer the gateway was not given always
answers 401. With `site` (devtools.site) the gateway also serves the dashboard's static files
and its sign-in proxy on the paths no route takes.

Not enforced locally (said once at start): IAM (SigV4) authorization. With
`require_authorization_header=True` a request to an IAM route without an `Authorization`
header of SigV4's shape (`AWS4-HMAC-SHA256 ...`; a bearer token is not one) gets API Gateway's 403
`{"message": "Forbidden"}`; the signature itself is never checked.

How functions run: in this process by default, one request at a time per function (one
execution environment each); with an `invoker` such as `devtools.workers.WorkerPool.invoke`
(`--max-workers N` on the command line, what `make demo` uses), the way Lambda runs them: one
invocation per warm worker process, more workers on demand up to N per function.

The server answers 503 `{"message": ...}` (with `Retry-After`) until it is marked ready
(`server.ready.set()`; `make_server` starts ready), and a client that hangs up early is noted in
one debug line, not a traceback.

    python -m devtools.gateway --port 3000 [--max-workers 4]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import importlib.util
import json
import logging
import os
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from devtools.cognito import JwtAuthorizer, Unauthorized, claims_for_event
from devtools.lambdacontext import ACCOUNT_ID
from devtools.template import FunctionSpec, HttpRouteSpec, Template

if TYPE_CHECKING:
    from devtools.site import Site

log = logging.getLogger("devtools.gateway")

API_ID = "localapi"
STAGE = "$default"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
# Bodies API Gateway passes as text; anything else arrives base64-encoded (isBase64Encoded: true).
_TEXT_TYPES = re.compile(
    r"^(text/|application/(json|.*\+json|xml|.*\+xml|javascript|x-www-form-urlencoded|yaml|x-yaml))",
    re.IGNORECASE,
)


# -- routes ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Route:
    function: FunctionSpec
    spec: HttpRouteSpec
    pattern: re.Pattern[str]
    names: tuple[str, ...]
    priority: tuple[int, int, int]  # sort key: exact before {param} before {greedy+}, longer first

    @property
    def route_key(self) -> str:
        return "$default" if self.spec.path == "$default" else f"{self.spec.method} {self.spec.path}"

    def matches_method(self, method: str) -> bool:
        return self.spec.method in ("ANY", method)


def compile_path(path: str) -> tuple[re.Pattern[str], tuple[str, ...], tuple[int, int, int]]:
    """`/imports/{import_id}` -> a regex over the request path (one segment per `{x}`, any for `{x+}`)."""
    if path == "$default":
        return re.compile(r"/.*"), (), (2, 0, 0)
    names: list[str] = []
    parts: list[str] = []
    greedy = params = 0
    for segment in path.strip("/").split("/"):
        match = re.fullmatch(r"\{([^}+]+)(\+?)\}", segment)
        if match is None:
            parts.append(re.escape(segment))
            continue
        names.append(match[1])
        if match[2]:
            greedy += 1
            parts.append(f"(?P<{_group(match[1])}>.+)")
        else:
            params += 1
            parts.append(f"(?P<{_group(match[1])}>[^/]+)")
    regex = "/" + "/".join(parts) if parts != [""] else "/"
    return re.compile(regex + r"\Z"), tuple(names), (1 if greedy else 0, params, -len(path))


def _group(name: str) -> str:
    return "p_" + re.sub(r"\W", "_", name)


def load_routes(template: Template) -> list[Route]:
    routes = []
    for function, spec in template.http_routes():
        pattern, names, priority = compile_path(spec.path)
        routes.append(Route(function, spec, pattern, names, priority))
    routes.sort(key=lambda r: r.priority)
    return routes


# -- functions -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class LoadedFunction:
    spec: FunctionSpec
    handler: Callable[[dict[str, Any], Any], Any]
    # One request at a time per function, as one Lambda execution environment serves them;
    # it also keeps module-level state of the handler (the resolver's current event) consistent.
    lock: threading.Lock = field(default_factory=threading.Lock)


def load_handler(spec: FunctionSpec) -> Callable[[dict[str, Any], Any], Any]:
    for path in reversed(spec.sys_paths()):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    module_file = spec.code_uri / (spec.module.replace(".", "/") + ".py")
    module = sys.modules.get(spec.module)
    # Reuse a module already imported from the same file (tests import handlers by name): one
    # module object means one resolver, one storage, one set of settings, as in one Lambda.
    if module is None or Path(getattr(module, "__file__", "") or "").resolve() != module_file.resolve():
        module = _import_file(spec.module, module_file)
    handler = getattr(module, spec.attribute, None)
    if not callable(handler):
        raise RuntimeError(f"{spec.logical_id}: {spec.handler} is not a function in {module_file}")
    return handler  # type: ignore[no-any-return]


def _import_file(name: str, path: Path) -> ModuleType:
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise RuntimeError(f"cannot import {path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


# -- events ----------------------------------------------------------------------------------------------


def build_event(
    method: str,
    raw_path: str,
    raw_query: str = "",
    headers: Iterable[tuple[str, str]] = (),
    body: bytes | None = None,
    *,
    route_key: str = "$default",
    path_parameters: dict[str, str] | None = None,
    source_ip: str = "127.0.0.1",
    iam: bool = False,
    jwt_claims: dict[str, str] | None = None,
    stage: str = STAGE,
    domain_name: str = "localhost",
) -> dict[str, Any]:
    """The API Gateway HTTP API payload format 2.0 event for one request.

    As API Gateway does: header names lower-cased, repeated headers joined with commas, cookies
    moved out of the headers into `cookies`, repeated query parameters joined with commas,
    `queryStringParameters`/`pathParameters`/`body` absent when empty, binary bodies base64.
    """
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        merged[lower] = f"{merged[lower]},{value}" if lower in merged else value
    merged.setdefault("host", domain_name)
    merged.setdefault("x-forwarded-for", source_ip)
    merged.setdefault("x-forwarded-proto", "http")
    merged.setdefault("x-forwarded-port", "80")
    now = datetime.now(UTC)
    merged["x-amzn-trace-id"] = f"Root=1-{int(now.timestamp()):08x}-{uuid.uuid4().hex[:24]}"
    if body:
        merged.setdefault("content-length", str(len(body)))

    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value

    request_context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": domain_name,
        "domainPrefix": domain_name.split(".", maxsplit=1)[0],
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": merged.get("user-agent", ""),
        },
        "requestId": str(uuid.uuid4()),
        "routeKey": route_key,
        "stage": stage,
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if iam:
        # What API Gateway adds after a SigV4 check; locally nothing was checked (see module doc).
        request_context["authorizer"] = {
            "iam": {
                "accessKey": "LOCALACCESSKEY",
                "accountId": ACCOUNT_ID,
                "callerId": "LOCALCALLER",
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": f"arn:aws:iam::{ACCOUNT_ID}:user/local",
                "userId": "LOCALCALLER",
            }
        }

    if jwt_claims is not None:
        request_context["authorizer"] = {"jwt": {"claims": jwt_claims, "scopes": None}}

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": merged,
        "requestContext": request_context,
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        content_type = merged.get("content-type", "")
        text = _as_text(body) if _TEXT_TYPES.match(content_type) else None
        if text is None:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
    return event


def _as_text(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def to_http(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """A handler's answer as API Gateway (payload 2.0) turns it into an HTTP response."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # Without statusCode API Gateway assumes 200 and a JSON body of whatever was returned.
        body = result if isinstance(result, str) else json.dumps(result)
        return 200, [("Content-Type", "application/json")], body.encode()
    status = int(result["statusCode"])
    headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(v)) for v in values)
    headers.extend(("Set-Cookie", str(c)) for c in result.get("cookies") or [])
    raw = result.get("body")
    if raw is None:
        payload = b""
    elif result.get("isBase64Encoded"):
        payload = base64.b64decode(raw)
    else:
        payload = str(raw).encode("utf-8")
    return status, headers, payload


# -- the server ---------------------------------------------------------------------------------------------


# Runs one function for one event and returns its result; lets a caller (the local stack) run
# handlers its own way, e.g. with each function's environment applied around the call.
Invoker = Callable[[FunctionSpec, dict[str, Any]], Any]


class Gateway:
    def __init__(
        self,
        template_path: str | Path,
        *,
        apply_environment: bool = True,
        invoker: Invoker | None = None,
        require_authorization_header: bool = False,
        authorizers: Mapping[str, JwtAuthorizer] | None = None,
        site: Site | None = None,
    ) -> None:
        self.template = Template(template_path)
        self.require_authorization_header = require_authorization_header
        self.authorizers = dict(authorizers or {})
        self.site = site
        self.routes = load_routes(self.template)
        self._functions: dict[str, LoadedFunction] = {}
        self._load_lock = threading.Lock()
        self._invoker = invoker
        if apply_environment and invoker is None:
            self._apply_environment()

    def _apply_environment(self) -> None:
        """Each function's template environment, without overriding what the caller set.

        All functions share this process, so a variable the functions disagree on keeps its
        first value (e.g. POWERTOOLS_SERVICE_NAME); the caller's environment always wins.
        """
        seen: set[str] = set()
        for function in {route.function.logical_id: route.function for route in self.routes}.values():
            for name, value in function.environment.items():
                if name not in os.environ:
                    os.environ[name] = value
                    seen.add(name)
        if seen:
            log.debug("environment from template.yaml: %s", ", ".join(sorted(seen)))

    def function(self, spec: FunctionSpec) -> LoadedFunction:
        with self._load_lock:
            loaded = self._functions.get(spec.logical_id)
            if loaded is None:
                loaded = LoadedFunction(spec, load_handler(spec))
                self._functions[spec.logical_id] = loaded
            return loaded

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if not route.matches_method(method):
                continue
            found = route.pattern.fullmatch(path)
            if found is not None:
                params = {name: unquote(found[_group(name)]) for name in route.names}
                return route, params
        return None

    def invoke(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes | None, source_ip: str = "127.0.0.1"
    ) -> tuple[int, list[tuple[str, str]], bytes, str]:
        """One request through the gateway: (status, headers, body, what served it)."""
        split = urlsplit(target)
        raw_path = split.path or "/"
        matched = self.match(method, raw_path)
        if matched is None and self.site is not None:
            served = self.site.serve(method, raw_path, headers, body)
            if served is not None:
                return served
        if matched is None:
            body_out = json.dumps({"message": "Not Found"}).encode()
            return 404, [("Content-Type", "application/json")], body_out, "no route"
        route, params = matched
        claims: dict[str, str] | None = None
        if route.spec.auth not in ("NONE", "AWS_IAM"):
            refused = self._check_jwt(route, headers)
            if isinstance(refused, tuple):
                return refused
            claims = refused
        if (
            self.require_authorization_header
            and route.spec.auth == "AWS_IAM"
            and not any(name.lower() == "authorization" and _sigv4_shaped(value) for name, value in headers)
        ):
            body_out = json.dumps({"message": "Forbidden"}).encode()
            return 403, [("Content-Type", "application/json")], body_out, "no authorization header"
        event = build_event(
            method,
            raw_path,
            split.query,
            headers,
            body,
            route_key=route.route_key,
            path_parameters=params or None,
            source_ip=source_ip,
            iam=route.spec.auth == "AWS_IAM",
            jwt_claims=claims,
            domain_name=_host(headers),
        )
        try:
            result = self._run(route.function, event)
        except Exception:
            # API Gateway's answer when the integration fails.
            log.error("%s raised:\n%s", route.function.handler, traceback.format_exc())
            body_out = json.dumps({"message": "Internal Server Error"}).encode()
            return 500, [("Content-Type", "application/json")], body_out, route.function.handler
        status, out_headers, payload = to_http(result)
        return status, out_headers, payload, route.function.handler

    def _check_jwt(
        self, route: Route, headers: list[tuple[str, str]]
    ) -> dict[str, str] | tuple[int, list[tuple[str, str]], bytes, str]:
        """The token's claims for the event, or API Gateway's 401 for this request."""
        authorizer = self.authorizers.get(route.spec.auth)
        try:
            if authorizer is None:
                raise Unauthorized(f"no {route.spec.auth} authorizer is configured on this gateway")
            claims = authorizer.verify(dict(headers))
        except Unauthorized as exc:
            log.info("%s: 401 (%s)", route.route_key, exc)
            challenge = f'Bearer error="invalid_token" error_description="{exc}"'
            body_out = json.dumps({"message": "Unauthorized"}).encode()
            return (
                401,
                [("Content-Type", "application/json"), ("www-authenticate", challenge)],
                body_out,
                f"{route.spec.auth} authorizer",
            )
        return claims_for_event(claims)

    def _run(self, function: FunctionSpec, event: dict[str, Any]) -> Any:
        if self._invoker is not None:
            return self._invoker(function, event)
        loaded = self.function(function)
        with loaded.lock:
            return loaded.handler(event, function.lambda_context())


def _sigv4_shaped(value: str) -> bool:
    # API Gateway refuses anything but a SigV4 Authorization header on an IAM route (a Cognito
    # bearer token included); the signature itself is not checked locally.
    return value.strip().startswith("AWS4-HMAC-SHA256 ")


def _host(headers: Iterable[tuple[str, str]]) -> str:
    for name, value in headers:
        if name.lower() == "host":
            return value.split(":")[0] or "localhost"
    return "localhost"


# A client that hung up: nothing to answer, nothing to report beyond one debug line.
_DISCONNECTED = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


class _Handler(BaseHTTPRequestHandler):
    server: GatewayServer
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        try:
            self._serve_request()
        except _DISCONNECTED as exc:
            self.close_connection = True
            log.debug("%s %s: the client disconnected (%s)", self.command, self.path, type(exc).__name__)

    def _serve_request(self) -> None:
        started = time.perf_counter()
        if not self.server.ready.is_set():
            self._send(
                503,
                [("Content-Type", "application/json"), ("Retry-After", "1")],
                json.dumps({"message": self.server.not_ready_message}).encode(),
            )
            log.info("%s %s -> 503 (not ready yet)", self.command, self.path)
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self._send(
                400,
                [("Content-Type", "application/json")],
                json.dumps({"message": "Bad Request: invalid Content-Length"}).encode(),
            )
            self.close_connection = True
            return
        if length > MAX_BODY_BYTES:
            self._send(
                413,
                [("Content-Type", "application/json")],
                json.dumps({"message": "Request Entity Too Large"}).encode(),
            )
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else None
        status, headers, payload, served_by = self.server.gateway.invoke(
            self.command, self.path, list(self.headers.items()), body, self.client_address[0]
        )
        self._send(status, headers, b"" if self.command == "HEAD" else payload, len(payload))
        log.info(
            "%s %s -> %d (%s, %.1f ms)",
            self.command,
            self.path,
            status,
            served_by,
            (time.perf_counter() - started) * 1000,
        )

    def _send(self, status: int, headers: list[tuple[str, str]], payload: bytes, length: int | None = None) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload) if length is None else length))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        # Our own single line per request (in _serve) replaces http.server's access log.
        pass


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        gateway: Gateway,
        *,
        ready: bool = True,
        not_ready_message: str = "starting up; try again in a moment",
    ) -> None:
        self.gateway = gateway
        self.ready = threading.Event()
        if ready:
            self.ready.set()
        self.not_ready_message = not_ready_message
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, _DISCONNECTED):
            log.debug("client %s disconnected (%s)", client_address, type(error).__name__)
            return
        log.error(
            "request from %s failed: %s: %s",
            client_address,
            type(error).__name__,
            error,
            exc_info=log.isEnabledFor(logging.DEBUG),
        )

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


def make_server(
    template_path: str | Path = "template.yaml",
    host: str = "127.0.0.1",
    port: int = 3000,
    *,
    apply_environment: bool = True,
    invoker: Invoker | None = None,
    require_authorization_header: bool = False,
) -> GatewayServer:
    """A gateway bound to host:port (port 0: any free port; see `server.url`). Not yet serving.

    By default handlers run in this process with the template's environment variables set where
    the caller has not set them; pass `invoker` to run them another way (e.g. the local stack's).
    """
    gateway = Gateway(
        template_path,
        apply_environment=apply_environment,
        invoker=invoker,
        require_authorization_header=require_authorization_header,
    )
    server = GatewayServer((host, port), gateway)
    iam = sorted(r.route_key for r in server.gateway.routes if r.spec.auth == "AWS_IAM")
    log.warning(
        "local gateway at %s: IAM (SigV4) authorization is NOT enforced locally (%d routes require it when deployed)%s",
        server.url,
        len(iam),
        "; an Authorization header must be present" if require_authorization_header else "",
    )
    for route in server.gateway.routes:
        log.info(
            "  %-28s -> %s (%s, auth %s)",
            route.route_key,
            route.function.handler,
            route.function.logical_id,
            route.spec.auth,
        )
    return server


def serve(
    template_path: str | Path = "template.yaml", host: str = "127.0.0.1", port: int = 3000, max_workers: int = 0
) -> None:
    """Serve until Ctrl-C. `max_workers` > 0: each function in worker processes (at most that
    many per function), with the template's environment under the caller's; 0: in this process."""
    from devtools.workers import WorkerPool

    pool: WorkerPool | None = None
    invoker: Invoker | None = None
    if max_workers > 0:
        template = Template(template_path)
        pool = WorkerPool(
            template.function,
            lambda logical_id: {**template.function(logical_id).environment, **os.environ},
            max_per_function=max_workers,
        )
        invoker = lambda spec, event: pool.invoke(spec.logical_id, event)  # noqa: E731
    server = make_server(template_path, host, port, invoker=invoker)
    try:
        if pool is not None:
            pool.warm(sorted({route.function.logical_id for route in server.gateway.routes}))
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        with contextlib.suppress(Exception, KeyboardInterrupt):  # a second Ctrl-C: just go
            if pool is not None:
                pool.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", default="template.yaml")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument(
        "--max-workers",
        type=int,
        default=4,
        help="worker processes per function, started on demand (0: run handlers in this process)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    serve(args.template, args.host, args.port, args.max_workers)


if __name__ == "__main__":
    main()
