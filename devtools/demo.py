"""The whole product on this machine: `make demo` (interactive) and `make demo-check` (--once).

1. Starts an embedded AWS (moto server on 127.0.0.1) and creates the bucket, table and queue
   from `template.yaml` itself (devtools.localaws), so the local stack cannot drift from what
   deploys.
2. Runs the template's functions the way Lambda does (devtools.workers): one warm worker process
   per function to begin with, each serving one invocation at a time, more started on demand (up
   to `--max-workers` per function). An ingest therefore never holds up the API.
3. Serves the template's HttpApi routes on http://127.0.0.1:3000 (`--port`) with the local
   gateway (devtools.gateway), every request running the real handler with the API Gateway HTTP
   API v2 event and that function's own environment. Until the sample is in, every route answers
   503 with a message saying so.
4. Generates a realistic, seeded sample export (devtools.samplegen), PUTs it into the uploads
   bucket and runs the ingest function on the event S3 would send (devtools.s3events).
5. Prints what it did and what to try — curl lines with the figures fetched from the running API.
6. Serves the dashboard (the static files of `dashboard/`) at the same address, with sign-in
   against the template's Cognito user pool created on the embedded AWS, and a demo user; the
   gateway checks the page's tokens as the HTTP API's JWT authorizer does (devtools.cognito,
   devtools.site). Files the page uploads through presigned URLs are ingested (devtools.uploadwatch).
   It prints one line `dashboard: <url>  sign in as <email> / <password>`.
7. Watches a drop folder (`./drop`): a file copied into it is uploaded to `uploads/drop/` and
   delivered the same way; a sales export (`.csv` / `.csv.gz`, any case) is ingested, logged on
   one line and shows up under /imports; anything else gets one line saying it was not ingested.
   An ingest that takes more than a few seconds shows its progress (lines read, sales written,
   rate) every few seconds; an import that replaced many sales of other imports is warned about.
   Ctrl-C (or SIGTERM) stops the watcher, the gateway, the workers and the moto server, and exits 0.

`--once` runs the same path without waiting for you: after the figures it copies a second
export overlapping the first into the drop folder, waits for its import to show up in /imports,
prints the new figures and exits (0 only if everything worked). `--report FILE` writes what
it saw as JSON (for tests).

Logs: the handlers log JSON (Powertools) at INFO when deployed; here they run at WARNING with
metrics output off, so the terminal shows one readable line per request (the gateway's) and per
import (the drop folder's), and still every warning or error a handler logs. `--verbose` keeps
the template's log level and metrics, JSON and all.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import Any

from devtools import samplegen
from devtools.cognito import JwtAuthorizer, LocalUserPool, create_user, create_user_pools, jwt_authorizers
from devtools.dropfolder import (
    DropFolder,
    DropResult,
    describe_import,
    find_import,
    ingest_file,
    uploads_prefix,
)
from devtools.gateway import Gateway, GatewayServer
from devtools.localaws import (
    DEFAULT_TEMPLATE,
    REPO_ROOT,
    STATE_FILE,
    LocalAws,
    LocalAwsError,
    cors_rule,
    read_state,
    remove_state,
    write_state,
)
from devtools.site import COGNITO_PATH, Site, security_headers
from devtools.template import TemplateError
from devtools.uploadwatch import UploadWatcher
from devtools.workers import DEFAULT_MAX_PER_FUNCTION, WorkerPool, WorkerStartError

log = logging.getLogger("devtools.demo")

# What the demo's handlers run with (see the module docstring).
QUIET_HANDLERS = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}
# The embedded moto is one process standing in for both services: while an ingest writes, a
# one-key listing has taken more than the template's 1 s (tuned for AWS), and /health then
# called the bucket unavailable. Here the checks get 1.8 s; they run at once, so /health still
# answers within 2 s.
LOCAL_HEALTH = {"HEALTH_TIMEOUT_SECONDS": "1.8"}
ONCE_TIMEOUT_SECONDS = 120.0
# An ingest shows its progress once it has run this long, then every PROGRESS_EVERY seconds.
PROGRESS_AFTER_SECONDS = 3.0
PROGRESS_EVERY_SECONDS = 3.0
# The demo's dashboard user (moto only; the password meets the template's password policy).
DASHBOARD_EMAIL = "owner@example.com"
DASHBOARD_PASSWORD = "Demo-Owner-2025!"
DASHBOARD_ROOT = REPO_ROOT / "dashboard"
NOT_READY_MESSAGE = "the demo is starting: the sample export is being ingested; the API answers in a few seconds"


class DemoError(RuntimeError):
    """Something the demo needs did not work (the message says what)."""


# --------------------------------------------------------------------------- logging


_SHORT_NAMES = {
    "devtools.demo": "demo",
    "devtools.gateway": "http",
    "devtools.drop": "drop",
    "devtools.localaws": "aws",
    "devtools.s3events": "s3",
    "devtools.workers": "fn",
    "devtools.uploads": "upl",
    "devtools.cognito": "auth",
}


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.short = _SHORT_NAMES.get(record.name, record.name)
        return super().format(record)


def configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter("%(asctime)s %(short)-4s %(message)s", datefmt="%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("devtools").setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose else logging.ERROR)


# --------------------------------------------------------------------------- the gateway


def start_workers(stack: LocalAws, pool: WorkerPool, max_workers: int) -> None:
    """Warm workers for every function the demo runs (the API's and the ingest), started in
    parallel; from then on every invocation of the stack runs in one of them."""
    api = sorted({fn.logical_id for fn in stack.functions() if fn.http_routes})
    ingest = sorted({fn.logical_id for fn in stack.functions() if fn.s3_events})
    started = time.monotonic()
    try:
        # Two warm workers for each API function, so two concurrent requests (a browser's) find
        # one ready; any more start on demand (a cold start of a few seconds here).
        pool.warm([*api, *ingest], count={name: min(2, max_workers) for name in api})
    except WorkerStartError as exc:
        raise DemoError(str(exc)) from exc
    stack.runner = pool.invoke
    log.info(
        "functions warm in %.1fs (%s; up to %d each on demand)",
        time.monotonic() - started,
        ", ".join(f"{name} x{n}" for name, (_, n) in sorted(pool.counts().items())),
        max_workers,
    )


@dataclass(slots=True)
class Dashboard:
    pool: LocalUserPool
    client_id: str
    authorizers: dict[str, JwtAuthorizer]
    email: str
    password: str


def create_dashboard(stack: LocalAws, email: str = DASHBOARD_EMAIL, password: str = DASHBOARD_PASSWORD) -> Dashboard:
    """The template's user pool and app client on the embedded AWS, a user, and the API's JWT
    authorizers resolved against them."""
    pools = create_user_pools(stack)
    if not pools or not pools[0].client_ids:
        raise DemoError("template.yaml has no Cognito user pool with an app client: the dashboard cannot sign in")
    pool = pools[0]
    create_user(stack, pool, email, password)
    assert stack.template is not None
    authorizers = jwt_authorizers(stack.template, stack.endpoint_url)
    return Dashboard(pool, next(iter(pool.client_ids.values())), authorizers, email, password)


def dashboard_site(stack: LocalAws, dashboard: Dashboard) -> Site:
    assert stack.template is not None
    config = {
        "region": stack.region,
        "cognito_endpoint": COGNITO_PATH,
        "client_id": dashboard.client_id,
        "api_base": "/app",
    }
    return Site(
        DASHBOARD_ROOT,
        config,
        cognito_upstream=stack.endpoint_url,
        # The page PUTs uploads to (and reads rejects from) presigned URLs of the moto server.
        headers=security_headers(stack.template, [stack.endpoint_url]),
    )


def allow_dashboard_origin(stack: LocalAws, origin: str) -> None:
    """The uploads bucket's CORS rules as the template writes them, with the local dashboard's
    origin where the template names CloudFront's: the page PUTs uploads (and reads rejects)
    through presigned URLs from that origin, and moto checks a bucket's CORS rules as S3 does."""
    bucket = stack.bucket()
    rules = []
    for written in (bucket.properties.get("CorsConfiguration") or {}).get("CorsRules") or []:
        rule = dict(written)
        if rule.get("Id") == "dashboard":
            rule["AllowedOrigins"] = [origin]
        rules.append(cors_rule(rule))
    if rules:
        stack.client("s3").put_bucket_cors(Bucket=bucket.name, CORSConfiguration={"CORSRules": rules})


def start_gateway(
    stack: LocalAws, port: int, pool: WorkerPool, dashboard: Dashboard | None = None
) -> tuple[GatewayServer, threading.Thread]:
    # Each request runs on a worker of its function: the function's own resolved environment
    # (BUCKET_NAME only where the template sets it, ...) and the stack's endpoint.
    gateway = Gateway(
        stack.template_path,
        apply_environment=False,
        invoker=lambda spec, event: pool.invoke(spec.logical_id, event),
        authorizers=dashboard.authorizers if dashboard else None,
        site=dashboard_site(stack, dashboard) if dashboard else None,
    )
    try:
        server = GatewayServer(("127.0.0.1", port), gateway, ready=False, not_ready_message=NOT_READY_MESSAGE)
    except OSError as exc:
        raise DemoError(
            f"cannot serve on 127.0.0.1:{port}: {exc} (is another demo running? "
            "choose another port with --port / DEMO_ARGS='--port 3001')"
        ) from exc
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="gateway", daemon=True)
    thread.start()
    return server, thread


class IngestProgress:
    """Prints the progress of ingests that take more than a few seconds (from the counters the
    workers report: what the SDK read from S3 and the sales it committed)."""

    def __init__(self, ingest_functions: set[str]) -> None:
        self.ingest_functions = ingest_functions
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, logical_id: str, request_id: str, progress: dict[str, Any], elapsed: float) -> None:
        if logical_id not in self.ingest_functions or elapsed < PROGRESS_AFTER_SECONDS or progress.get("done"):
            return
        with self._lock:
            if elapsed - self._last.get(request_id, -PROGRESS_EVERY_SECONDS) < PROGRESS_EVERY_SECONDS:
                return
            self._last[request_id] = elapsed
        log.info("%s", describe_progress(progress, elapsed))


def describe_progress(progress: dict[str, Any], elapsed: float) -> str:
    objects = progress.get("objects") or []
    name = objects[-1].split("/", 3)[-1] if objects else "an export"
    read, size, lines = progress.get("bytes_read", 0), progress.get("object_bytes", 0), progress.get("lines_read", 0)
    sales = progress.get("sales_written", 0)
    if size and read:
        # Lines are counted in what has been read; the file's total is estimated from its size.
        estimate = round(lines * size / read)
        lines_text = f"{lines:,} of ~{estimate:,} lines read ({100 * read / size:.0f}%)"
    else:
        lines_text = f"{lines:,} lines read"
    rate = sales / elapsed if elapsed else 0.0
    # The first of the ingest's two reads only checks where each Sale ID's lines are.
    step = "checking Sale IDs, " if progress.get("reads", 0) == 1 and not sales else ""
    return f"ingesting {name}: {step}{lines_text}, {sales:,} sales written, {rate:,.0f} sales/s, {elapsed:.0f}s so far"


# --------------------------------------------------------------------------- HTTP


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(slots=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


def http_get(base: str, path: str, params: dict[str, str] | None = None, timeout: float = 60.0) -> Answer:
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    try:
        with _OPENER.open(url, timeout=timeout) as response:
            return Answer(response.status, response.read())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.read())
    except OSError as exc:
        raise DemoError(f"GET {url}: {exc}") from exc


def imports_listed(answer: Answer) -> list[dict[str, Any]]:
    data = answer.json()
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for name in ("imports", "items", "Items", "data"):
            if isinstance(data.get(name), list):
                return list(data[name])
    return []


# --------------------------------------------------------------------------- the sample exports


@dataclass(slots=True)
class Sample:
    path: Path
    key: str
    lines: int
    sales: int
    first: date
    last: date


def make_sample(folder: Path, *, lines: int, seed: int, prefix: str = "uploads/") -> Sample:
    """A seeded export, written to `folder`, and the key it goes to (a name with spaces, as
    people name their exports: its event carries the key URL-encoded, as real S3's do)."""
    path = folder / f"sample-seed{seed}-{lines}.csv"
    summary = samplegen.generate_export(path, lines=lines, seed=seed)
    if summary.first_date is None or summary.last_date is None:
        raise DemoError("--lines must be at least 1")
    key = f"{prefix}sample/Sales {summary.first_date:%Y-%m-%d} to {summary.last_date:%Y-%m-%d}.csv"
    return Sample(path, key, summary.lines, summary.sales, summary.first_date, summary.last_date)


def overlapping_export(out: Any, *, lines: int, seed: int) -> tuple[date, date]:
    """The next export after `generate_export(lines=lines, seed=seed)`: its second half again
    (same Sale IDs; the sale the first file cut short now complete) and as many new lines.
    Answers its date range."""
    first = samplegen.generate_export(io.BytesIO(), lines=lines, seed=seed)
    assert first.first_date is not None and first.last_date is not None
    middle = first.first_date + (first.last_date - first.first_date) / 2
    sales = samplegen.generate_sales(seed=seed, lines=lines + max(1, lines // 2))
    dates: list[date] = []

    def later() -> Iterator[samplegen.GenSale]:
        for sale in sales:
            if sale.sale_date >= middle:
                dates.append(sale.sale_date)
                yield sale

    samplegen.write_export(later(), out)
    return dates[0], dates[-1]


# --------------------------------------------------------------------------- the demo


@dataclass(slots=True)
class Figures:
    start: date
    end: date
    revenue: dict[str, Any]
    days: int
    imports: int


def fetch_figures(base: str, start: date, end: date) -> Figures:
    health = http_get(base, "/health")
    if health.status != 200:
        raise DemoError(f"GET /health answered {health.status}: {health.body[:300]!r}")
    params = {"start": start.isoformat(), "end": end.isoformat()}
    revenue = http_get(base, "/metrics/revenue", params)
    if revenue.status != 200:
        raise DemoError(f"GET /metrics/revenue answered {revenue.status}: {revenue.body[:300]!r}")
    daily = http_get(base, "/metrics/revenue/daily", params)
    if daily.status != 200:
        raise DemoError(f"GET /metrics/revenue/daily answered {daily.status}: {daily.body[:300]!r}")
    imports = http_get(base, "/imports")
    if imports.status != 200:
        raise DemoError(f"GET /imports answered {imports.status}: {imports.body[:300]!r}")
    return Figures(start, end, revenue.json(), len(daily.json().get("days") or []), len(imports_listed(imports)))


def money(value: Any) -> str:
    try:
        return f"S${Decimal(str(value)):,.2f}"
    except ArithmeticError:
        return str(value)


def describe_resources(stack: LocalAws) -> list[str]:
    lines = []
    for bucket in stack.template.buckets() if stack.template else []:
        lines.append(f"bucket {bucket.name}" + (" (versioned)" if bucket.versioning else ""))
    for table in stack.template.tables() if stack.template else []:
        keys = "/".join(k["AttributeName"] for k in table.key_schema)
        extra = [f"GSI {g['IndexName']}" for g in table.global_secondary_indexes]
        if table.ttl_attribute:
            extra.append(f"TTL {table.ttl_attribute}")
        lines.append(f"table {table.name} ({', '.join([keys, *extra])})")
    for queue in stack.template.queues() if stack.template else []:
        lines.append(f"queue {queue.name}")
    return lines


def banner(
    stack: LocalAws,
    base: str,
    sample: Sample,
    sample_line: str,
    figures: Figures,
    drop_folder: Path | None,
    started: float,
) -> str:
    r = figures.revenue
    start, end = figures.start.isoformat(), figures.end.isoformat()
    week_end = min(figures.end, figures.start + timedelta(days=6)).isoformat()
    out = [
        "",
        f"Sales metrics, running locally from {stack.template_path.name} (ready in {time.monotonic() - started:.1f}s)",
        f"  embedded AWS (moto) at {stack.endpoint_url}: " + "; ".join(describe_resources(stack)),
        f"  sample export: {sample.lines:,} lines, {sample.sales:,} sales, {start} .. {end} "
        f"-> s3://{stack.bucket().name}/{sample.key}",
        f"  import: {sample_line}",
        f"  API: {base} (the template's HttpApi routes; IAM auth is not enforced locally)",
        "",
        f"  {start} .. {end}: revenue {money(r.get('total_revenue_sgd'))} "
        f"(net {money(r.get('net_revenue_sgd'))}, tax {money(r.get('tax_sgd'))}), "
        f"{r.get('order_count')} orders averaging {money(r.get('average_order_value_sgd'))}, "
        f"{r.get('refund_count')} refunds ({money(r.get('refunds_sgd'))})",
        "",
        "Try:",
        f"  curl -s {base}/health",
        f"  curl -s '{base}/metrics/revenue?start={start}&end={end}'"
        f"      # total_revenue_sgd {r.get('total_revenue_sgd')}, order_count {r.get('order_count')}",
        f"  curl -s '{base}/metrics/revenue/daily?start={start}&end={week_end}'",
        f"  curl -s {base}/imports      # {figures.imports} import(s) so far",
        f"  open {base}/swagger       # Swagger UI (OpenAPI JSON: {base}/swagger?format=json)",
    ]
    if drop_folder is not None:
        shown = _shown(drop_folder)
        out += [
            f"  cp your-export.csv {shown}/    # uploaded to s3://{stack.bucket().name}/"
            f"{uploads_prefix(stack)}drop/, ingested, listed under /imports",
            "  make reconcile                 # recompute the aggregates from the stored sales (REPAIR=1)",
        ]
    return "\n".join(out) + "\n"


def _shown(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return "./" + str(path.resolve().relative_to(Path.cwd().resolve()))
    return str(path)


def run(args: argparse.Namespace, stop: threading.Event, watching: threading.Event) -> dict[str, Any]:
    started = time.monotonic()
    report: dict[str, Any] = {"ok": False}
    env = {**LOCAL_HEALTH, **({} if args.verbose else QUIET_HANDLERS)}
    with contextlib.ExitStack() as cleanup:
        workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="sales-demo-")))
        stack = LocalAws(args.template, port=args.moto_port, env_overrides=env)
        stack.start()
        cleanup.callback(stack.stop)
        log.info(
            "embedded AWS (moto) at %s; from %s: %s",
            stack.endpoint_url,
            stack.template_path.name,
            "; ".join(describe_resources(stack)),
        )

        pool = WorkerPool.for_stack(stack, max_per_function=args.max_workers)
        cleanup.callback(pool.close)
        pool.add_progress_listener(IngestProgress({fn.logical_id for fn in stack.functions() if fn.s3_events}))

        dashboard = create_dashboard(stack)
        # Bound first (a taken port fails now, not after the warm-up); 503 until the sample is in.
        server, thread = start_gateway(stack, args.port, pool, dashboard)
        base = server.url
        allow_dashboard_origin(stack, base)

        def close_gateway() -> None:
            server.shutdown()
            server.server_close()
            thread.join(10)

        cleanup.callback(close_gateway)
        log.info(
            "API at %s (%d routes from %s); it answers 503 until the sample is in",
            base,
            len(server.gateway.routes),
            stack.template_path.name,
        )
        report["gateway_url"] = base
        start_workers(stack, pool, args.max_workers)

        if not args.once:
            live = read_state(args.state_file)
            if live is not None and live.get("pid") != os.getpid():
                log.warning(
                    "another demo (pid %s) owns %s; make reconcile will talk to that one",
                    live.get("pid"),
                    args.state_file,
                )
            else:
                write_state(stack, args.state_file, gateway_url=base)
                cleanup.callback(remove_state, args.state_file)

        sample = make_sample(workdir, lines=args.lines, seed=args.seed, prefix=uploads_prefix(stack))
        result = ingest_file(stack, sample.path, sample.key, api_url=base)
        sample_line = _outcome(result)
        if result.record is None:
            raise DemoError(f"the sample was not ingested: {sample_line}")

        server.ready.set()
        report["health_status"] = http_get(base, "/health").status
        figures = fetch_figures(base, sample.first, sample.last)
        report.update(
            _figures_report(figures),
            sample_key=sample.key,
            sample_lines=sample.lines,
            sample_import=result.record.to_dict(),
            health_status=200,
        )

        drop_folder = (
            Path(args.drop_folder) if args.drop_folder else (workdir / "drop" if args.once else REPO_ROOT / "drop")
        )
        uploads = UploadWatcher(stack).start()
        cleanup.callback(uploads.stop)
        report["dashboard"] = {"url": base + "/", "email": dashboard.email, "password": dashboard.password}
        print(banner(stack, base, sample, sample_line, figures, drop_folder, started), flush=True)
        print(f"dashboard: {base}/  sign in as {dashboard.email} / {dashboard.password}", flush=True)

        if args.once:
            report["drop"] = once_drop(stack, base, drop_folder, sample, args, workdir, stop)
            report["ok"] = True
            report["seconds"] = round(time.monotonic() - started, 2)
            print(
                f"demo-check OK in {report['seconds']:.1f}s: /health 200, the sample and the dropped "
                "export ingested, figures served over HTTP",
                flush=True,
            )
            return report

        watcher = DropFolder(stack, drop_folder, api_url=base)
        watcher.start()
        cleanup.callback(watcher.stop)
        log.info("watching %s for *.csv, *.csv.gz in any case (Ctrl-C to stop)", _shown(drop_folder))
        watching.set()
        while not stop.wait(0.5):
            pass
        log.info("stopping: drop folder watcher, gateway, workers, embedded AWS")
        report["ok"] = True
    return report


def once_drop(
    stack: LocalAws,
    base: str,
    drop_folder: Path,
    sample: Sample,
    args: argparse.Namespace,
    workdir: Path,
    stop: threading.Event,
) -> dict[str, Any]:
    """Copy an export overlapping the sample into the drop folder; wait for it in /imports."""
    watcher = DropFolder(stack, drop_folder, interval=0.2, api_url=base)
    name = f"overlapping-export-seed{args.seed}.csv"
    staged = workdir / name
    with staged.open("wb") as out:
        first, last = overlapping_export(out, lines=args.lines, seed=args.seed)
    watcher.poll()  # what is already there is not ours to wait for
    shutil.copyfile(staged, drop_folder / name)
    log.info("copied %s into %s", name, _shown(drop_folder))
    deadline = time.monotonic() + ONCE_TIMEOUT_SECONDS
    result: DropResult | None = watcher.wait_for(lambda r: r.path.name == name, ONCE_TIMEOUT_SECONDS)
    if result is None:
        raise DemoError(f"{name} was not ingested within {ONCE_TIMEOUT_SECONDS:.0f}s")
    record = result.record or find_import(stack, result.notified)
    if record is None:
        raise DemoError(f"{name}: {_outcome(result)}")
    while True:  # the import must be visible through the API, not only in the table
        listed = imports_listed(http_get(base, "/imports"))
        if any(i.get("import_id") == record.import_id for i in listed):
            break
        if time.monotonic() > deadline or stop.is_set():
            raise DemoError(f"import {record.import_id} of {name} never showed up in GET /imports")
        time.sleep(0.2)
    figures = fetch_figures(base, min(first, sample.first), max(last, sample.last))
    r = figures.revenue
    print(
        f"dropped {name} ({first} .. {last}) -> {_outcome(result)}\n"
        f"  now {figures.start} .. {figures.end}: revenue {money(r.get('total_revenue_sgd'))}, "
        f"{r.get('order_count')} orders, {figures.imports} imports listed\n"
        f"  curl -s '{base}/metrics/revenue?start={figures.start}&end={figures.end}'"
        f"      # total_revenue_sgd {r.get('total_revenue_sgd')}",
        flush=True,
    )
    return {"file": name, "key": result.key, "import": record.to_dict(), **_figures_report(figures)}


def _outcome(result: DropResult) -> str:
    return describe_import(result.key, result.notified, result.record)


def _figures_report(figures: Figures) -> dict[str, Any]:
    return {
        "start": figures.start.isoformat(),
        "end": figures.end.isoformat(),
        "revenue": figures.revenue,
        "days": figures.days,
        "imports": figures.imports,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=3000, help="API port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--moto-port", type=int, default=0, help="embedded AWS port (0: any free one)")
    parser.add_argument(
        "--drop-folder",
        default=None,
        help="folder to watch for sales exports, .csv / .csv.gz in any case (default ./drop; --once: a temporary one)",
    )
    parser.add_argument("--lines", type=int, default=5000, help="lines in the generated sample export")
    parser.add_argument("--seed", type=int, default=7, help="seed of the sample export")
    parser.add_argument(
        "--once", action="store_true", help="run everything once (sample, figures, one drop), print, exit"
    )
    parser.add_argument(
        "--max-workers",
        type=int,
        default=DEFAULT_MAX_PER_FUNCTION,
        help="worker processes per function, started on demand (each runs one invocation at a time)",
    )
    parser.add_argument("--template", default=str(DEFAULT_TEMPLATE))
    parser.add_argument("--state-file", type=Path, default=STATE_FILE, help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, default=None, help="write what the demo saw as JSON")
    parser.add_argument("--verbose", action="store_true", help="handlers log JSON at the template's level")
    args = parser.parse_args(argv)
    if args.lines < 1:
        parser.error("--lines must be at least 1")
    if args.max_workers < 1:
        parser.error("--max-workers must be at least 1")
    configure_logging(args.verbose)

    stop = threading.Event()
    watching = threading.Event()  # the quiet phase: a signal ends the wait loop

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        first = not stop.is_set()
        stop.set()
        if not (first and watching.is_set()):
            raise KeyboardInterrupt  # starting up, --once, or a second Ctrl-C: stop right away

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    report: dict[str, Any] = {"ok": False}
    code = 1
    try:
        report = run(args, stop, watching)
        code = 0 if report.get("ok") else 1
    except KeyboardInterrupt:
        log.info("interrupted; everything stopped")
        code = 130 if args.once else 0
    except (DemoError, LocalAwsError, TemplateError) as exc:
        log.error("demo failed: %s", exc)
        report["error"] = str(exc)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("stopped: watcher, gateway, workers and embedded AWS are down")
        if args.report is not None:
            args.report.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main())
