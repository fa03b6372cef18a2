"""One measured ingest in a fresh process; prints a JSON line with its peak RSS. Run by memory_bench.

    python -m bench.memory_child local PATH
    python -m bench.memory_child s3 BUCKET KEY VERSION_ID ETAG      (AWS_ENDPOINT_URL: the moto server)
    python -m bench.memory_child write BUCKET KEY VERSION_ID ETAG   (AWS_ENDPOINT_URL_S3: the moto server,
                                                                     AWS_ENDPOINT_URL_DYNAMODB: bench.instantddb)

Both run the real `Ingestor` end to end (parse, validate, group, Sale.build, the flush buffer,
SaleWriter's transaction plans, the rejects file); only the DynamoDB calls are stubbed (`commit`
answers "written", nothing is stored), because writing a million sales into moto would take
hours and measure moto. `local` reads the file from disk; `s3` reads the object through the real
`S3ObjectStore.open_object` (boto3 GetObject's streaming body under a BufferedReader) from a moto
server running in another process, so this process only ever holds what the stream buffers.
`write` is `s3` with the real write path too: the unmodified `AwsStorage`, every import
record and transaction built and sent to `bench.instantddb` (another process, answering as an
empty table would), so the transactions' requests and botocore's buffers are in the peak.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class _Counting:
    """Stub answers for the sales store and the import log (the DynamoDB capabilities); counts what
    would be written."""

    def __init__(self) -> None:
        self.transactions = 0
        self.sale_writes = 0
        self.imports_put = 0

    def read_sales(self, sale_ids: Sequence[str]) -> dict[str, Any]:
        return {}

    def commit(self, batch: Any) -> Any:
        self.transactions += 1
        self.sale_writes += len(batch.writes)
        from salesmetrics.storage.base import Conflicts  # noqa: PLC0415

        return Conflicts()  # everything written

    def put_import(self, record: Any, *, if_status: Any = None) -> bool:
        self.imports_put += 1
        return True

    def get_import(self, import_id: str) -> None:
        return None


class LocalStorage(_Counting):
    def open_object(self, bucket: str, key: str, version_id: str, *, etag: str = "") -> BinaryIO:
        return open(key, "rb")

    def put_rejects(self, bucket: str, key: str, body: BinaryIO) -> None:
        while body.read(1 << 20):
            pass

    def put_changes(self, bucket: str, key: str, body: bytes) -> None:
        pass  # the part is built (in memory, as the ingest builds it), not kept

    def day_totals(self, *_: Any) -> dict[Any, Any]:  # pragma: no cover - protocol filler
        return {}

    def day_aggregates(self) -> Iterator[Any]:  # pragma: no cover
        return iter(())

    def iter_sales(self) -> Iterator[Any]:  # pragma: no cover
        return iter(())


def _s3_storage() -> Any:
    from salesmetrics.storage.s3 import S3ObjectStore  # noqa: PLC0415

    class S3OnlyStorage(_Counting, S3ObjectStore):
        """The real S3ObjectStore (open_object, put_rejects); DynamoDB calls stubbed."""

        def __init__(self) -> None:
            _Counting.__init__(self)
            S3ObjectStore.__init__(self)

    return S3OnlyStorage()


def _writing_storage() -> Any:
    from salesmetrics.storage.aws import AwsStorage  # noqa: PLC0415

    class CountingStorage(AwsStorage):
        """The real AwsStorage, counting its transactions."""

        def __init__(self) -> None:
            super().__init__("bench-memory")
            self.transactions = 0

        def commit(self, batch: Any) -> Any:
            self.transactions += 1
            return super().commit(batch)

    return CountingStorage()


def main(argv: list[str]) -> int:
    from salesmetrics.events import ObjectRef  # noqa: PLC0415
    from salesmetrics.ingest import Ingestor  # noqa: PLC0415

    mode = argv[0]
    if mode == "local":
        storage: Any = LocalStorage()
        ref = ObjectRef(
            bucket="local",
            key=argv[1],
            version_id="",
            etag="bench",
            size=0,
            event_time=datetime.now(UTC),
            sequencer="0",
            request_id="bench",
        )
    elif mode in ("s3", "write"):
        storage = _s3_storage() if mode == "s3" else _writing_storage()
        storage.s3  # noqa: B018 - the client made (and its modules loaded) before the baseline
        if mode == "write":
            storage.client  # noqa: B018
        bucket, key, version_id, etag = argv[1:5]
        ref = ObjectRef(
            bucket=bucket,
            key=key,
            version_id=version_id,
            etag=etag,
            size=0,
            event_time=datetime.now(UTC),
            sequencer="0",
            request_id="bench",
        )
    else:
        raise SystemExit(f"unknown mode {mode}")
    baseline_kib = _status_kib("VmRSS")
    started = time.perf_counter()
    record = Ingestor(storage, "rejects/").run(ref)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "mode": mode,
                "status": str(record.status),
                "rows_total": record.rows_total,
                "rows_ingested": record.rows_ingested,
                "rows_rejected": record.rows_rejected,
                "sales_created": record.sales_created,
                "transactions_planned": storage.transactions,
                "baseline_rss_kib": baseline_kib,
                "peak_rss_kib": _status_kib("VmHWM"),
                "ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "seconds": round(seconds, 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
