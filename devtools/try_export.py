"""Try your own export on the local stack: ingest it, read the figures back over the API, then drop
it again (same key, another key) and check that nothing changes and the aggregates reconcile.

    make try-export FILE=path/to/sales.csv
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

from devtools.demo import QUIET_HANDLERS
from devtools.gateway import Gateway, GatewayServer
from devtools.localaws import LocalAws
from devtools.s3events import upload_and_notify


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--template", default="template.yaml")
    args = parser.parse_args(argv)
    data = args.file.read_bytes()
    with LocalAws(args.template, env_overrides=QUIET_HANDLERS) as stack:
        gateway = Gateway(
            args.template, apply_environment=False, invoker=lambda spec, event: stack.invoke(spec.logical_id, event)
        )
        server = GatewayServer(("127.0.0.1", 0), gateway)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"

        def get(path: str) -> Any:
            with urllib.request.urlopen(base + path, timeout=30) as response:
                return json.load(response)

        def drop(key: str) -> dict[str, Any]:
            record: dict[str, Any] = upload_and_notify(stack, data, key).result["imports"][0]
            print(
                f"{key}: {record['status']} | {record['rows_total']} rows ({record['rows_ingested']} ingested, "
                f"{record['rows_rejected']} rejected) | sales {record['sales_created']} created, "
                f"{record['sales_updated']} updated, {record['sales_unchanged']} unchanged | {record['message']}"
            )
            return record

        try:
            first = drop(f"uploads/try/{args.file.name}")
            if first["status"] == "FAILED":
                return 1
            days = stack.client("dynamodb").query(
                TableName=stack.table().name,
                KeyConditionExpression="pk = :d",
                ExpressionAttributeValues={":d": {"S": "DAYS"}},
            )["Items"]
            start, end = days[0]["sk"]["S"], days[-1]["sk"]["S"]
            figures = get(f"/metrics/revenue?start={start}&end={end}")
            print(json.dumps(figures, indent=2))
            drop(f"uploads/try/{args.file.name}")
            drop(f"uploads/try/copy of {args.file.name}")
            unchanged = get(f"/metrics/revenue?start={start}&end={end}") == figures
            report = stack.invoke("ReconcileFunction", {"repair": False})
            print(
                f"figures unchanged after dropping it again and under another key: {unchanged}; "
                f"reconcile: {report['days_checked']} days, {report['days_with_drift']} with drift"
            )
            return 0 if unchanged and report["days_with_drift"] == 0 else 1
        finally:
            server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
