"""An "instant DynamoDB" for benchmarks: answers the DynamoDB JSON protocol at once, stores nothing.

    python -m bench.instantddb [--delay-ms N]    prints `READY <port>` once it listens on
                                                 127.0.0.1, serves until its stdin closes.

moto is far slower than the client it serves, so on moto the client's own cost (botocore's
parameter validation and serialisation, the resource layer's conversions) is hidden. This server
answers every operation the ingest path uses (TransactWriteItems, BatchGetItem, GetItem, PutItem,
UpdateItem, DeleteItem, Query, Scan, BatchWriteItem, DescribeTable) with what an *empty* table
would answer, as soon as it has read the request: conditions pass, reads find nothing. That is
exactly what a first ingest meets (the import record, the idempotency record and every sale are
new), so the client takes the same path as against DynamoDB; it keeps no data because a first
ingest never reads back what it wrote. It runs in its own process, so its work is not counted
in the measured process.

`--delay-ms` (or `POST /_bench/delay` with `{"ms": N}`) holds every DynamoDB answer back by N
ms, concurrently (an asyncio sleep, not a blocked thread): a stand-in for the network and
service latency of the real thing. `GET /_bench/stats` returns the requests and body bytes
seen by operation; `POST /_bench/reset` zeroes them. `InstantDynamoDB` starts one as a child
process and stops exactly that child.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import urllib.request
from collections import Counter
from typing import Any

from bench.common import ServerProcess

_TARGET_PREFIX = "DynamoDB_20120810."
_EMPTY_READ = b'{"Count":0,"Items":[],"ScannedCount":0}'
_FIXED: dict[str, bytes] = {
    "TransactWriteItems": b"{}",
    "PutItem": b"{}",
    "UpdateItem": b"{}",
    "DeleteItem": b"{}",
    "GetItem": b"{}",
    "TransactGetItems": b'{"Responses":[]}',
    "Query": _EMPTY_READ,
    "Scan": _EMPTY_READ,
    "BatchWriteItem": b'{"UnprocessedItems":{}}',
}


class _State:
    def __init__(self, delay_ms: float) -> None:
        self.delay = delay_ms / 1000
        self.requests: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()

    def answer(self, operation: str, body: bytes) -> tuple[int, bytes]:
        fixed = _FIXED.get(operation)
        if fixed is not None:
            return 200, fixed
        if operation == "BatchGetItem":
            tables = json.loads(body or b"{}").get("RequestItems", {})
            return 200, json.dumps({"Responses": {t: [] for t in tables}, "UnprocessedKeys": {}}).encode()
        if operation == "DescribeTable":
            name = json.loads(body or b"{}").get("TableName", "")
            return 200, json.dumps(
                {
                    "Table": {
                        "TableName": name,
                        "TableStatus": "ACTIVE",
                        "ItemCount": 0,
                        "TableSizeBytes": 0,
                        "KeySchema": [
                            {"AttributeName": "pk", "KeyType": "HASH"},
                            {"AttributeName": "sk", "KeyType": "RANGE"},
                        ],
                        "AttributeDefinitions": [
                            {"AttributeName": "pk", "AttributeType": "S"},
                            {"AttributeName": "sk", "AttributeType": "S"},
                        ],
                        "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
                        "TableArn": f"arn:aws:dynamodb:us-east-1:123456789012:table/{name}",
                    }
                }
            ).encode()
        return 400, json.dumps(
            {
                "__type": "com.amazon.coral.service#UnknownOperationException",
                "message": f"the instant endpoint does not answer {operation!r}",
            }
        ).encode()

    def control(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if method == "GET" and path == "/_bench/stats":
            return 200, json.dumps(
                {"requests": dict(self.requests), "bytes": dict(self.bytes), "delay_ms": self.delay * 1000}
            ).encode()
        if method == "POST" and path == "/_bench/reset":
            self.requests.clear()
            self.bytes.clear()
            return 200, b"{}"
        if method == "POST" and path == "/_bench/delay":
            self.delay = float(json.loads(body)["ms"]) / 1000
            return 200, b"{}"
        return 404, b'{"message": "unknown control path"}'


async def _serve_connection(state: _State, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            request_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
            method, path, _version = request_line.split(" ", 2)
            headers = {}
            for line in header_lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            target = headers.get("x-amz-target", "")
            if path.startswith("/_bench/"):
                status, payload = state.control(method, path, body)
            else:
                operation = target.removeprefix(_TARGET_PREFIX)
                state.requests[operation] += 1
                state.bytes[operation] += len(body)
                status, payload = state.answer(operation, body)
                if state.delay:
                    await asyncio.sleep(state.delay)
            reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/x-amz-json-1.0\r\n"
                f"Content-Length: {len(payload)}\r\nx-amzn-RequestId: instant\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                return
    finally:
        writer.close()


async def _main(delay_ms: float) -> None:
    state = _State(delay_ms)
    server = await asyncio.start_server(lambda r, w: _serve_connection(state, r, w), "127.0.0.1", 0, backlog=256)
    port = server.sockets[0].getsockname()[1]
    print(f"READY {port}", flush=True)
    loop = asyncio.get_running_loop()
    # EOF on stdin when the parent closes the pipe (or dies): then stop.
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


def _serve(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instantddb")
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    asyncio.run(_main(args.delay_ms))
    return 0


class InstantDynamoDB(ServerProcess):
    """The server as a child process: `endpoint_url`, `set_delay(ms)`, `stats()`, `reset()`."""

    module = "bench.instantddb"

    def __init__(self, delay_ms: float = 0.0) -> None:
        super().__init__("--delay-ms", str(delay_ms))
        self.delay_ms = delay_ms

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.endpoint_url + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return dict(json.loads(response.read()))

    def set_delay(self, ms: float) -> None:
        self._call("POST", "/_bench/delay", {"ms": ms})

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/_bench/stats")

    def reset(self) -> None:
        self._call("POST", "/_bench/reset", {})


if __name__ == "__main__":
    sys.exit(_serve(sys.argv[1:]))
