"""The ingest CPU / latency measurements in one fresh process; prints one JSON line. Run by ingest_bench.

    python -m bench.ingest_child PLAN_JSON

Environment: AWS_ENDPOINT_URL_S3 (a moto server in another process, holding the objects),
AWS_ENDPOINT_URL_DYNAMODB (`bench.instantddb` in another process), TABLE_NAME, POWERTOOLS_*.

For each object of the spec, in this one warm process (modules imported, the handler's clients
made by a warm-up run, as in a warm Lambda execution environment):

- baseline: a bare `csv.reader` pass over the object streamed from S3 - an S3 client made,
  GetObject, `csv.reader(io.TextIOWrapper(body))` to the end;
- ingest: the real `ingest_handler.handler` on the S3 event of that object (Powertools
  idempotency, the import record, parse, validate, group, plan, every TransactWriteItems, the
  rejects file), DynamoDB answering at once;
- ingest_commit_stubbed: the same with the storage's `commit` answering "written" in process
  (no transaction built or sent): what the ingest costs without its write path;

alternating, `rounds` of each (the baseline `BASELINE_PASSES` times a round); CPU time of this
process (`time.process_time`: all threads, user + system) and wall time of each. For the objects
named in `delay_keys`, one more ingest with the endpoint holding every answer back by
`delay_ms`: its wall time against the instant run's. `profile_key`: one more ingest under
cProfile, on one writer lane (cProfile follows one thread), summarised by package, by stage and
by function. `stages_key`: the ingest's own stages timed one by one on that object's bytes,
held in memory, on this thread (`stage_budget`): what each costs in µs per line, beside the
baseline, so that the 10x budget can be read stage by stage; and the whole ingest of it with the
writer lanes concurrent from the first flush (`WritePacing.fixed()`), against the handler's
pacing, which keeps them off while DynamoDB answers at once.
"""

from __future__ import annotations

import cProfile
import csv
import io
import json
import pstats
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

_PACKAGES = (  # (path fragment, label) for the own-time-by-package table; first match wins
    ("/salesmetrics/storage/", "salesmetrics.storage (this module's items and calls)"),
    ("/salesmetrics/parsing", "salesmetrics.parsing"),
    ("/salesmetrics/ingest", "salesmetrics.ingest"),
    ("/salesmetrics/sales", "salesmetrics.sales"),
    ("/salesmetrics/", "salesmetrics (other)"),
    ("/botocore/serialize", "botocore serialize"),
    ("/botocore/validate", "botocore validate"),
    ("/botocore/parsers", "botocore parsers"),
    ("/botocore/", "botocore (other)"),
    ("/boto3/", "boto3"),
    ("/jmespath/", "jmespath (endpoint context params)"),
    ("/urllib3/", "urllib3"),
    ("/http/", "http.client"),
    ("/email/", "email (header parsing)"),
    ("/json/", "json (Python part)"),
    ("/aws_lambda_powertools/", "powertools"),
    ("/copy.py", "copy (deep copies)"),
    ("/decimal", "decimal"),
)


BASELINE_PASSES = 3  # bare passes per round


def _post(url: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def _stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/_bench/stats", timeout=10) as response:
        return dict(json.loads(response.read()))


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def baseline(bucket: str, key: str, version_id: str) -> int:
    import boto3  # noqa: PLC0415 - imported (once) before any timing, by main

    s3: Any = boto3.client("s3")
    kwargs = {"Bucket": bucket, "Key": key, **({"VersionId": version_id} if version_id else {})}
    body = s3.get_object(**kwargs)["Body"]
    rows = 0
    for _row in csv.reader(io.TextIOWrapper(body, encoding="utf-8", newline="")):
        rows += 1
    return rows


# Stages of the ingest, by the function that holds each (cumulative time, so they nest: the
# botocore call and the body's encoding are inside `commit`).
_STAGES = (
    ("salesmetrics/scatter.py", "first_pass", "first pass (Sale IDs in more than one run, the decimal mark)"),
    ("salesmetrics/parsing.py", "__iter__", "reader: parse and validate every line"),
    ("salesmetrics/ingest.py", "_plan", "planning the transactions (content hash, day and breakdown deltas)"),
    ("salesmetrics/storage/dynamodb.py", "commit", "commit: build the items, send, read the answer"),
    ("salesmetrics/storage/transactions.py", "send", "  of which sending (body, sign, HTTP, parse the answer)"),
    ("salesmetrics/storage/transactions.py", "body", "    of which the body's JSON (the items' texts joined)"),
)


@contextmanager
def _one_lane() -> Iterator[None]:
    """The handler's ingests on one writer lane: no writer threads, no flush written in the
    background, every call on the calling thread."""
    from salesmetrics.ingest import Ingestor  # noqa: PLC0415 - after the revision's paths are set

    defaults = Ingestor.__init__.__kwdefaults__
    if defaults is None or "writers" not in defaults:
        raise RuntimeError("Ingestor no longer takes its writer lanes as a keyword argument")
    lanes = defaults["writers"]
    defaults["writers"] = 1
    try:
        yield
    finally:
        defaults["writers"] = lanes


@contextmanager
def _fixed_pacing(handler_module: Any) -> Iterator[None]:
    """The handler's ingests with the writer lanes concurrent from the first flush."""
    from salesmetrics.pacing import WritePacing  # noqa: PLC0415 - after the revision's paths are set

    paced = handler_module.WritePacing
    handler_module.WritePacing = WritePacing.fixed
    try:
        yield
    finally:
        handler_module.WritePacing = paced


def _profile(fn: Callable[[], Any], top: int = 25) -> dict[str, Any]:
    """`fn` under cProfile with the ingest on one writer lane: cProfile sees only the thread that
    enabled it, and the lanes and the flush in flight run in others. One lane does the same work
    (the same sales and items, about as many requests) on the profiled thread."""
    profiler = cProfile.Profile()  # wall clock: a CPU clock is a syscall per event here
    with _one_lane():
        profiler.enable()
        fn()
        profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    by_package: Counter[str] = Counter()
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        label = next((lbl for frag, lbl in _PACKAGES if frag in filename), None)
        if label is None:
            label = "C code (builtins, sockets, C json/csv/decimal)" if filename == "~" else "other Python"
        by_package[label] += tottime
        short = filename
        for marker in ("/site-packages/", "/layers/common/", "/lib/python3.13/", "/functions/"):
            if marker in filename:
                short = filename.split(marker, 1)[1]
                break
        rows.append(
            {
                "function": f"{short}:{line}({name})" if line else name,
                "calls": calls,
                "own_s": round(tottime, 3),
                "own_share": round(tottime / total, 3),
                "cumulative_s": round(cumtime, 3),
            }
        )
    rows.sort(key=lambda r: r["own_s"], reverse=True)
    stages = []
    for fragment, name, label in _STAGES:
        cumulative = sum(
            entry[3]
            for (filename, _line, fn_name), entry in stats.stats.items()  # type: ignore[attr-defined]
            if fn_name == name and fragment in filename
        )
        stages.append({"stage": label, "cumulative_s": round(cumulative, 3), "share": round(cumulative / total, 3)})
    packages = [{"package": p, "own_s": round(s, 3), "share": round(s / total, 3)} for p, s in by_package.most_common()]
    return {"total_s": round(total, 3), "top": rows[:top], "by_package": packages, "stages": stages}


STAGE_ROUNDS = 3  # each stage timed this many times, the fastest taken


def stage_budget(bucket: str, key: str, version_id: str, storage: Any) -> dict[str, Any]:
    """The ingest's stages one by one, on one thread, from the object's bytes held in memory:

    - first pass: `scatter.first_pass` (Sale IDs in more than one run, the decimal mark);
    - reader: `ExportReader` over the text, every line parsed and validated into sales;
    - content hash: every sale's `content_hash` (the writer computes it once per sale);
    - planning: `SaleWriter` over those sales in the ingest's flushes, one lane, its `commit`
      answering "written" in process (digest included: the writer asks for it);
    - items: planning plus every transaction's items built (`DynamoSalesStore.transaction`),
      not sent;
    - sending: those transactions' request bodies, written once beforehand, each sent through the
      storage's own `TransactionSender` to the instant endpoint (signing, HTTP, the answer parsed):
      what the requests cost however cheaply their items were planned and built.

    What is left of the whole ingest after these is the handler's own calls (the import record,
    the change list, the rejects file) and the threads. Imports and allocations outside the timed
    calls are not counted.
    """
    import boto3  # noqa: PLC0415

    from salesmetrics.formats import open_export  # noqa: PLC0415 - after the revision's paths are set
    from salesmetrics.ingest import SALES_PER_FLUSH, SaleWriter  # noqa: PLC0415
    from salesmetrics.parsing import ExportReader, iter_byte_lines  # noqa: PLC0415
    from salesmetrics.sales import Sale  # noqa: PLC0415
    from salesmetrics.scatter import first_pass  # noqa: PLC0415
    from salesmetrics.storage.base import Conflicts  # noqa: PLC0415

    s3: Any = boto3.client("s3")
    kwargs = {"Bucket": bucket, "Key": key, **({"VersionId": version_id} if version_id else {})}
    raw = s3.get_object(**kwargs)["Body"].read()

    sender = storage.table.sender
    if sender is None:
        raise RuntimeError("the storage's client sends transactions by its own call; nothing to time alone")

    class Answered:
        """`commit` answering "written": with `build`, after building the transaction's items;
        with `bodies`, after writing its request body there too."""

        def __init__(self, build: bool, bodies: list[bytes] | None = None) -> None:
            self.build = build
            self.bodies = bodies

        def commit(self, batch: Any) -> Conflicts:
            if self.build:
                items = storage.transaction(batch)[0]
                if self.bodies is not None:
                    self.bodies.append(sender.body(items, "bench-token"))
            return Conflicts()

        def read_sales(self, _sale_ids: Any) -> dict[str, Any]:
            return {}

    def first() -> Any:
        return first_pass(io.BytesIO(raw))

    scattered, dialect = first()

    def read() -> list[Sale]:
        # A generated export has no scattered sales, so no fragment to merge: its sales, as read.
        text, _ = open_export(io.BytesIO(raw))
        return [s for s in ExportReader(iter_byte_lines(text), dialect, scattered=scattered) if isinstance(s, Sale)]

    sales = read()

    def digests() -> None:
        for sale in sales:
            _ = sale.content_hash

    def write(build: bool, bodies: list[bytes] | None = None) -> None:
        writer = SaleWriter(Answered(build, bodies), "bench-import", "v#")  # type: ignore[arg-type]
        for start in range(0, len(sales), SALES_PER_FLUSH):
            writer.write(sales[start : start + SALES_PER_FLUSH])

    bodies: list[bytes] = []
    write(True, bodies)

    def send() -> None:
        for body in bodies:
            sender.send_body(body)

    stages = (
        ("first_pass", first),
        ("reader", read),
        ("content_hash", digests),
        ("planning", partial(write, False)),
        ("planning_and_items", partial(write, True)),
        ("sending", send),
    )
    timed: dict[str, float] = {}
    for _ in range(STAGE_ROUNDS):
        for name, fn in stages:
            _wall, cpu, _ = _timed(fn)
            timed[name] = min(cpu, timed.get(name, cpu))
    return {
        "sales": len(sales),
        "bytes": len(raw),
        "transactions": len(bodies),
        "request_bytes": sum(len(b) for b in bodies),
        "cpu_s": {k: round(v, 3) for k, v in timed.items()},
    }


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    import boto3  # noqa: F401, PLC0415 - everything imported before the first measurement
    import ingest_handler  # noqa: PLC0415 - reads the environment at import

    from devtools.lambdacontext import LambdaContext  # noqa: PLC0415
    from devtools.s3events import build_put_event  # noqa: PLC0415

    control = spec["dynamodb_endpoint"]
    bucket = spec["bucket"]

    def event(obj: dict[str, Any]) -> dict[str, Any]:
        return build_put_event(
            bucket=bucket, key=obj["key"], size=obj["size"], etag=obj["etag"], version_id=obj["version_id"] or None
        )

    def context() -> LambdaContext:
        return LambdaContext(function_name="bench-ingest", memory_limit_in_mb=1024, timeout_seconds=900)

    def ingest(obj: dict[str, Any]) -> dict[str, Any]:
        result = ingest_handler.handler(event(obj), context())
        (record,) = result["imports"]
        if record["status"] not in ("SUCCEEDED", "PARTIAL") or not record["sales_created"]:
            raise RuntimeError(f"the benchmark ingest did not ingest: {record}")
        return dict(record)

    def counted_ingest(obj: dict[str, Any]) -> tuple[float, float, dict[str, Any], dict[str, int]]:
        _post(control + "/_bench/reset", {})
        wall, cpu, record = _timed(lambda: ingest(obj))
        return wall, cpu, record, dict(_stats(control)["requests"])

    from salesmetrics.storage.base import Conflicts  # noqa: PLC0415 - after the revision's paths are set

    storage = ingest_handler.get_storage()
    real_commit = storage.commit

    def stubbed_ingest(obj: dict[str, Any]) -> dict[str, Any]:
        # The same run with `commit` answering "written" at once, in process: what is left
        # without the write path (a reference, not a target).
        storage.commit = lambda batch: Conflicts()  # type: ignore[method-assign]
        try:
            return ingest(obj)
        finally:
            storage.commit = real_commit  # type: ignore[method-assign]

    objects = spec["objects"]
    warm = objects[0]
    baseline(bucket, warm["key"], warm["version_id"])
    ingest(warm)
    out: dict[str, Any] = {"objects": {}}
    for obj in objects:
        runs: dict[str, list[dict[str, float]]] = {"baseline": [], "ingest": [], "ingest_commit_stubbed": []}
        record: dict[str, Any] = {}
        requests: dict[str, int] = {}
        for n in range(spec["rounds"]):
            kinds = ("baseline", "ingest", "ingest_commit_stubbed")
            for kind in kinds if n % 2 == 0 else kinds[::-1]:
                if kind == "baseline":
                    # The bare pass is short, so one slow moment of this shared machine moves it
                    # far (0.27-0.63 s for the same 100,000 lines): several passes, each recorded,
                    # and the ratio takes the fastest, as it does of the ingest.
                    for _ in range(BASELINE_PASSES - 1):
                        wall, cpu, rows = _timed(partial(baseline, bucket, obj["key"], obj["version_id"]))
                        runs[kind].append({"wall_s": round(wall, 3), "cpu_s": round(cpu, 3)})
                    wall, cpu, rows = _timed(partial(baseline, bucket, obj["key"], obj["version_id"]))
                elif kind == "ingest_commit_stubbed":
                    wall, cpu, _ = _timed(partial(stubbed_ingest, obj))
                else:
                    wall, cpu, record, requests = counted_ingest(obj)
                runs[kind].append({"wall_s": round(wall, 3), "cpu_s": round(cpu, 3)})
        entry: dict[str, Any] = {
            "lines": obj["lines"],
            "csv_rows": rows,
            "runs": runs,
            "record": record,
            "requests": requests,
        }
        if obj["key"] in spec.get("delay_keys", []):
            _post(control + "/_bench/delay", {"ms": spec["delay_ms"]})
            try:
                wall, cpu, _record, delayed_requests = counted_ingest(obj)
            finally:
                _post(control + "/_bench/delay", {"ms": 0})
            entry["delayed"] = {
                "delay_ms": spec["delay_ms"],
                "wall_s": round(wall, 3),
                "cpu_s": round(cpu, 3),
                "requests": delayed_requests,
            }
        out["objects"][obj["key"]] = entry
        print(
            f"   {obj['lines']:,} lines: baseline CPU {min(r['cpu_s'] for r in runs['baseline'])} s, "
            f"ingest CPU {min(r['cpu_s'] for r in runs['ingest'])} s",
            file=sys.stderr,
            flush=True,
        )
    staged = next((o for o in objects if o["key"] == spec.get("stages_key")), None)
    if staged is not None:
        out["stages"] = {
            "lines": staged["lines"],
            "key": staged["key"],
            **stage_budget(bucket, staged["key"], staged["version_id"], storage),
        }
        # The same ingest with the writer lanes concurrent from the first flush: what the threads
        # cost in CPU where they hide nothing (the handler's pacing keeps them off here).
        with _fixed_pacing(ingest_handler):
            out["stages"]["fixed_pacing_cpu_s"] = min(_timed(partial(ingest, staged))[1] for _ in range(STAGE_ROUNDS))
    profiled = next((o for o in objects if o["key"] == spec.get("profile_key")), None)
    if profiled is not None:
        out["profile"] = {"lines": profiled["lines"], **_profile(lambda: ingest(profiled))}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
