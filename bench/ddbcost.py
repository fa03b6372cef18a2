"""DynamoDB requests and capacity units, counted from the requests boto3 sends.

moto reports no consumed capacity for transactions, so capacity is computed the way DynamoDB
bills it, from the item sizes in the requests (and, for updates, the items as stored after):

Item size (DynamoDB developer guide, "Item sizes and formats"): the sum over attributes of the
UTF-8 length of the name plus the value's size. String: UTF-8 bytes. Number: 1 byte per two
significant digits (leading/trailing zeros trimmed) + 1 (+1 if negative; an approximation, as
DynamoDB's own is). Binary: raw bytes. Boolean / null: 1. List / map: 3 bytes + per element
1 byte + the element (map elements also their name's length). Sets: the sum of their members.

Write units: each write 1 WCU per started KB of item size (the larger of the item before and
after; here the item after: a sale is rewritten at its own size, day aggregates and
idempotency records grow by a few bytes at most); a write inside TransactWriteItems 2 WCU per
started KB; a write to an item that has GSI keys (import records: `gsi1pk`/`gsi1sk`, projection
ALL) 1 more WCU per KB for the index (an unchanged index key: one index write). A single write
whose condition fails is billed too (listed as "condition failed").
Read units: strongly consistent reads 1 RCU per started 4 KB per item (GetItem, BatchGetItem);
Query sums the sizes of the items returned before rounding up to 4 KB (0.5 for an eventually
consistent read). Writes in transactions that DynamoDB cancelled are reported apart.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

KB = 1024


def number_size(text: str) -> int:
    value = Decimal(text)
    if value == 0:
        return 2
    digits = value.as_tuple().digits
    significant = "".join(map(str, digits)).strip("0") or "0"
    return (len(significant) + 1) // 2 + 1 + (1 if value < 0 else 0)


def value_size(value: dict[str, Any]) -> int:
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "N":
        return number_size(raw)
    if kind == "B":
        return len(raw) * 3 // 4  # base64 in JSON
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in raw.items())
    if kind == "SS":
        return sum(len(s.encode()) for s in raw)
    if kind == "NS":
        return sum(number_size(s) for s in raw)
    if kind == "BS":
        return sum(len(b) * 3 // 4 for b in raw)
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: dict[str, Any]) -> int:
    """Size in bytes of an item in DynamoDB's JSON wire form ({"name": {"S": "..."}})."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(size: int, transactional: bool) -> int:
    return math.ceil(max(size, 1) / KB) * (2 if transactional else 1)


def _has_gsi_keys(item: dict[str, Any]) -> bool:
    return "gsi1pk" in item and "gsi1sk" in item


def _kind(key_or_item: dict[str, Any]) -> str:
    pk = str(key_or_item.get("pk", {}).get("S", ""))
    if pk.startswith("IDEMPOTENCY#"):
        return "idempotency"
    if pk.startswith("IMPORT#"):
        return "import record"
    if pk == "DAYS":
        return "day aggregate"
    if pk.startswith("SALE#"):
        return "sale"
    if pk.startswith("BY#"):
        return "breakdown shard"
    return "other"


@dataclass
class Tally:
    """DynamoDB requests of one stretch of work, by operation and by what they touched."""

    requests: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)  # by operation: 4xx answers (e.g. cancelled)
    writes: Counter[str] = field(default_factory=Counter)  # item writes by kind, committed
    wcu: Counter[str] = field(default_factory=Counter)  # by kind, committed
    cancelled_wcu: int = 0
    rcu: float = 0.0
    items_read: int = 0
    # updates whose size is known only once stored: (table, key json, transactional, kind)
    pending_updates: list[tuple[str, str, bool, str]] = field(default_factory=list)
    transaction_items: list[int] = field(default_factory=list)
    sale_item_bytes: list[int] = field(default_factory=list)  # each committed sale item's size

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def total_wcu(self) -> int:
        return sum(self.wcu.values())


class DynamoDBCounter:
    """botocore event hooks counting every DynamoDB call of every client created while installed.

    `install()` wraps botocore's client factory so that each new DynamoDB client (the storage's
    resource client, Powertools' idempotency client from its own Session, anything else) gets
    the `before-call` / `after-call` hooks; `watch(client)` adds them to a client made earlier.
    """

    def __init__(self) -> None:
        self.tally = Tally()
        self._watched: set[int] = set()
        self._pending: dict[int, tuple[str, dict[str, Any]]] = {}
        self._original: Any = None

    # -- wiring ------------------------------------------------------------------------------

    def install(self) -> None:
        from botocore.client import ClientCreator  # noqa: PLC0415

        if self._original is not None:
            return
        original = ClientCreator.create_client
        counter = self

        def create_client(creator: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(creator, *args, **kwargs)
            counter.watch(client)
            return client

        ClientCreator.create_client = create_client  # type: ignore[method-assign, assignment]
        self._original = original

    def uninstall(self) -> None:
        from botocore.client import ClientCreator  # noqa: PLC0415

        if self._original is not None:
            ClientCreator.create_client = self._original  # type: ignore[method-assign]
            self._original = None

    def watch(self, client: Any) -> None:
        if client.meta.service_model.service_name != "dynamodb" or id(client) in self._watched:
            return
        self._watched.add(id(client))
        client.meta.events.register("before-call.dynamodb", self._before)
        client.meta.events.register("after-call.dynamodb", self._after)

    @contextmanager
    def measure(self) -> Iterator[Tally]:
        self.tally = Tally()
        yield self.tally

    # -- hooks -------------------------------------------------------------------------------

    def _before(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        body = params.get("body") or b"{}"
        request = json.loads(body.decode() if isinstance(body, bytes) else body)
        context["bench_request"] = (model.name, request)

    def _after(self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        name, request = context.pop("bench_request", (model.name, {}))
        tally = self.tally
        tally.requests[name] += 1
        ok = http_response.status_code < 300
        if not ok:
            tally.failed[name] += 1
        raw = getattr(http_response, "content", b"") or b"{}"
        try:
            response = json.loads(raw)
        except ValueError:
            response = {}
        if name == "TransactWriteItems":
            self._transaction(request, ok)
        elif name in ("PutItem", "UpdateItem", "DeleteItem"):
            self._single_write(name, request, ok)
        elif name == "BatchWriteItem":
            for table_requests in request.get("RequestItems", {}).values():
                for entry in table_requests:
                    item = entry.get("PutRequest", {}).get("Item") or entry.get("DeleteRequest", {}).get("Key", {})
                    self._count_write(_kind(item), item_size(item), False, _has_gsi_keys(item))
        elif name == "GetItem":
            item = response.get("Item")
            if item:
                tally.items_read += 1
                tally.rcu += math.ceil(item_size(item) / (4 * KB)) * (1 if request.get("ConsistentRead") else 0.5)
        elif name == "BatchGetItem":
            consistent = all(t.get("ConsistentRead") for t in request.get("RequestItems", {}).values())
            for items in response.get("Responses", {}).values():
                for item in items:
                    tally.items_read += 1
                    tally.rcu += math.ceil(item_size(item) / (4 * KB)) * (1 if consistent else 0.5)
        elif name in ("Query", "Scan"):
            items = response.get("Items", [])
            tally.items_read += len(items)
            size = sum(item_size(i) for i in items)
            tally.rcu += math.ceil(size / (4 * KB)) * (1 if request.get("ConsistentRead") else 0.5)

    def _count_write(self, kind: str, size: int, transactional: bool, gsi: bool) -> None:
        self.tally.writes[kind] += 1
        self.tally.wcu[kind] += write_units(size, transactional) + (write_units(size, False) if gsi else 0)

    def _single_write(self, name: str, request: dict[str, Any], ok: bool) -> None:
        # A single write whose condition fails is still billed (1 WCU per KB).
        table = request.get("TableName", "")
        if name == "PutItem":
            item = request.get("Item", {})
            kind = _kind(item) if ok else f"{_kind(item)} (condition failed)"
            self._count_write(kind, item_size(item), False, ok and _has_gsi_keys(item))
        else:
            key = request.get("Key", {})
            kind = _kind(key) if ok else f"{_kind(key)} (condition failed)"
            self.tally.pending_updates.append((table, json.dumps(key, sort_keys=True), False, kind))

    def _transaction(self, request: dict[str, Any], ok: bool) -> None:
        items = request.get("TransactItems", [])
        self.tally.transaction_items.append(len(items))
        for entry in items:
            ((op, body),) = entry.items()
            table = body.get("TableName", "")
            if op == "Put":
                item = body.get("Item", {})
                if ok:
                    size = item_size(item)
                    if _kind(item) == "sale":
                        self.tally.sale_item_bytes.append(size)
                    self._count_write(_kind(item), size, True, _has_gsi_keys(item))
                else:
                    self.tally.cancelled_wcu += write_units(item_size(item), True)
            elif op in ("Update", "Delete"):
                key = body.get("Key", {})
                if ok:
                    self.tally.pending_updates.append((table, json.dumps(key, sort_keys=True), True, _kind(key)))
                else:
                    self.tally.cancelled_wcu += 2  # an aggregate is far below 1 KB
            elif op == "ConditionCheck" and ok:
                self.tally.wcu["condition check"] += 2

    def settle(self, get_item: Any) -> None:
        """Size the updates from the items as stored now (`get_item(table, key) -> item | None`,
        through a client this counter does not watch)."""
        sizes: dict[tuple[str, str], int] = {}
        for table, key, transactional, kind in self.tally.pending_updates:
            if (table, key) not in sizes:
                item = get_item(table, json.loads(key))
                sizes[(table, key)] = item_size(item) if item else 0
            self._count_write(kind, sizes[(table, key)], transactional, False)
        self.tally.pending_updates.clear()


def per_lines(tally: Tally, lines: int) -> dict[str, Any]:
    """The figures of one tally per 1,000 lines (requests) and per line (capacity units)."""
    k = lines / 1000
    return {
        "lines": lines,
        "requests": tally.total_requests,
        "requests_per_1000_lines": round(tally.total_requests / k, 2),
        "by_operation_per_1000_lines": {op: round(n / k, 2) for op, n in sorted(tally.requests.items())},
        "by_operation": dict(sorted(tally.requests.items())),
        "failed_by_operation": dict(sorted(tally.failed.items())),
        "item_writes": dict(sorted(tally.writes.items())),
        "wcu": tally.total_wcu,
        "wcu_per_line": round(tally.total_wcu / lines, 3),
        "wcu_by_kind": dict(sorted(tally.wcu.items())),
        "cancelled_transaction_wcu": tally.cancelled_wcu,
        "rcu": round(tally.rcu, 1),
        "rcu_per_line": round(tally.rcu / lines, 4),
        "items_read": tally.items_read,
        "transactions": len(tally.transaction_items),
        "mean_items_per_transaction": round(sum(tally.transaction_items) / len(tally.transaction_items), 1)
        if tally.transaction_items
        else 0,
        "sale_item_bytes": {
            "mean": round(sum(sizes) / len(sizes), 1),
            "max": max(sizes),
            "over_1kb": sum(1 for n in sizes if n > KB),
            "count": len(sizes),
        }
        if (sizes := tally.sale_item_bytes)
        else None,
    }
