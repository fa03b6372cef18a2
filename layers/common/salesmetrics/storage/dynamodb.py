"""The sales store and the import log on the stack's one DynamoDB table (docs/architecture.md has
the keys). `DynamoTable` is what they share: the client, the table's name, the bounded back-off.

DynamoDB is reached through the low-level client with items in DynamoDB's wire JSON, built by
`storage.items`, and with botocore's parameter validation off: the requests are this module's
own, of fixed shapes (checked against botocore's model in the unit tests), and validating them
again on every call cost as much CPU as building them. A transaction's items, already wire JSON,
are written into the request body as they are, not walked again by botocore: `TransactionSender`
(`storage.transactions`) writes that body and hands it to the client's own endpoint (signing,
HTTP, the client's retry policy and quota); on a client it cannot stand in for, `WireItems`
has botocore's call do the same.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import platform
import random
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from ..breakdowns import BreakdownShard, KeyTotals, ShardRef, layout
from ..dates import utc_now
from ..errors import InvalidCursor
from ..imports import ImportRecord, ImportStatus
from ..sales import DayTotals, StoredSale
from .base import (
    MAX_TRANSACTION_ITEMS,
    Conflicts,
    DayAggregate,
    TransientStorageError,
    WriteBatch,
)
from .import_log import ImportLog
from .items import (
    DAYS_PK,
    IMPORT_SK,
    IMPORTS_GSI_PK,
    SALE_READ_ATTRIBUTES,
    SALE_SK,
    ShardSums,
    breakdown_pk,
    breakdown_shard,
    day_item,
    day_totals,
    day_update,
    import_pk,
    item_text,
    number,
    plain_item,
    sale_delete,
    sale_pk,
    sale_put,
    shard_item,
    shard_update,
    stored_sale,
    to_wire,
)
from .sales_store import SalesStore
from .transactions import TransactionSender

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = [
    "DAYS_PK",
    "IMPORTS_GSI_PK",
    "IMPORT_SK",
    "MAX_BATCH_GET",
    "MAX_TRANSACTION_ITEMS",
    "SALE_SK",
    "DynamoImportLog",
    "DynamoSalesStore",
    "DynamoTable",
    "Transaction",
    "WireItems",
    "decode_cursor",
    "encode_cursor",
    "import_pk",
    "sale_pk",
    "user_agent",
]

MAX_BATCH_GET = 100
# Connections kept open to DynamoDB: every writer lane of an ingest (16) sends at once, and a
# pool smaller than that would open and drop a connection per request (botocore's default is 10).
MAX_CONNECTIONS = 24
_RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)
_RETRYABLE_REASONS = frozenset(
    {
        "TransactionConflict",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
    }
)
_SALE_PROJECTION = ", ".join(f"#{i}" for i in range(len(SALE_READ_ATTRIBUTES)))
_SALE_NAMES = {f"#{i}": name for i, name in enumerate(SALE_READ_ATTRIBUTES)}
_SALE_SK = {"S": SALE_SK}


class WireItems(list[Mapping[str, Any]]):
    """TransactWriteItems' `TransactItems`, already in DynamoDB's wire JSON (sale Puts as their
    text, `EncodedItem`; the other items as dicts).

    botocore serialises a request by walking every value of it against the service model in
    Python, and derives an endpoint parameter (the tables' ARNs) with a JMESPath search over
    every item: for a 100-item transaction, more CPU than building the items. For DynamoDB's
    JSON protocol that walk writes the wire dicts out unchanged, so on this module's client the
    items are set aside before serialisation (botocore serialises the first one alone, which
    names the same table, plus its own fields such as the idempotency token) and written into
    the JSON body as text just before the request is signed and sent; retries resend that same
    body. On any other client they are serialised as the plain list of mappings they also are.
    """


class Transaction(NamedTuple):
    """One batch's TransactWriteItems items, and where in them each kind starts."""

    items: WireItems
    sales_to: int  # items[:sales_to] are the sales' Puts and Deletes, in the batch's order
    shards_from: int  # items[shards_from:] update the breakdown shards `shards`, in order
    shards: list[ShardRef]


_SET_ASIDE = "salesmetrics.wire_items"


def _set_aside_wire_items(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    items = params.get("TransactItems")
    if isinstance(items, WireItems) and len(items) > 1:
        context[_SET_ASIDE] = items
        params["TransactItems"] = [json.loads(item_text(items[0]))]


def _restore_wire_items(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    items = context.pop(_SET_ASIDE, None)
    if items is not None:
        body = json.loads(params["body"])
        del body["TransactItems"]
        rest = json.dumps(body, separators=(",", ":"))[1:-1]
        listed = ",".join([item_text(item) for item in items])
        params["body"] = ("{" + rest + ("," if rest else "") + '"TransactItems":[' + listed + "]}").encode()


def user_agent() -> str:
    """The User-Agent of the DynamoDB client, made once. Without one set, botocore builds its own
    twice per request, sanitising each of its ~20 parts character by character in Python: ~0.4 ms
    of CPU per TransactWriteItems measured here, a tenth of the call (docs/benchmarks.md)."""
    env = os.environ.get("AWS_EXECUTION_ENV", "")
    return " ".join(
        part
        for part in (
            "salesmetrics",  # botocore adds its own Botocore/version after this string
            f"Python/{platform.python_version()}",
            f"exec-env/{env}" if env else "",
        )
        if part
    )


def _dynamodb_client() -> DynamoDBClient:
    config = Config(
        retries={"mode": "standard", "max_attempts": 4},
        parameter_validation=False,
        max_pool_connections=MAX_CONNECTIONS,
        user_agent=user_agent(),
    )
    client = boto3.client("dynamodb", config=config)
    if client.meta.service_model.protocol == "json":  # the protocol whose body is that JSON
        events = client.meta.events
        events.register("before-parameter-build.dynamodb.TransactWriteItems", _set_aside_wire_items)
        # First, so that anything else looking at the request before it is sent sees the real body.
        events.register_first("before-call.dynamodb.TransactWriteItems", _restore_wire_items)
    return client


@dataclass(frozen=True, slots=True)
class _Meta:
    client: DynamoDBClient


@dataclass(frozen=True, slots=True)
class TableRef:
    """The table's name and the client that reaches it, shaped as boto3's `Table` is where code
    reaches for it (`.name`, `.meta.client`); the client speaks DynamoDB's wire JSON. `sender`
    sends that client's transactions from their items' text (None: the client's own call)."""

    name: str
    meta: _Meta
    sender: TransactionSender | None = None


class DynamoTable:
    """The table and its client, made on first use (so moto's mock, started later, sees it).

    Every retry loop here is bounded; past the bound a `TransientStorageError` fails the
    invocation so that Lambda retries the event, and finally the DLQ keeps it. Safe to share
    between threads once made (boto3 clients are; their creation is serialised here).
    """

    def __init__(
        self,
        table_name: str,
        *,
        max_attempts: int = 8,
        backoff_base: float = 0.05,
        backoff_cap: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.table_name = table_name
        self.max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep
        self._table: TableRef | None = None
        self._table_lock = threading.Lock()

    @property
    def table(self) -> TableRef:
        if self._table is None:
            with self._table_lock:
                if self._table is None:
                    client = _dynamodb_client()
                    sender = TransactionSender.for_client(client)
                    self._table = TableRef(self.table_name, _Meta(client), sender)
        return self._table

    @property
    def client(self) -> DynamoDBClient:
        return self.table.meta.client

    def transact(self, items: WireItems) -> None:
        """One TransactWriteItems of these items; a refusal raises botocore's `ClientError`."""
        sender = self.table.sender
        if sender is None:
            self.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        else:
            sender.send(items)

    def _backoff(self, attempt: int) -> None:
        # Full jitter: concurrent ingests that collided should not collide again in step.
        self._sleep(random.uniform(0, min(self._backoff_cap, self._backoff_base * 2**attempt)))  # noqa: S311  # nosec B311 - jitter, not security


class DynamoSalesStore(DynamoTable, SalesStore):
    """`SalesStore`: sale items, day aggregates and breakdown shards, written in one transaction."""

    def read_sales(self, sale_ids: Sequence[str]) -> dict[str, StoredSale]:
        found: dict[str, StoredSale] = {}
        unique = list(dict.fromkeys(sale_ids))
        for start in range(0, len(unique), MAX_BATCH_GET):
            chunk = unique[start : start + MAX_BATCH_GET]
            keys: list[dict[str, Any]] = [{"pk": {"S": sale_pk(s)}, "sk": _SALE_SK} for s in chunk]
            for attempt in range(self.max_attempts):
                request: dict[str, Any] = {
                    self.table_name: {
                        "Keys": keys,
                        "ConsistentRead": True,
                        "ProjectionExpression": _SALE_PROJECTION,
                        "ExpressionAttributeNames": _SALE_NAMES,
                    }
                }
                response = cast(dict[str, Any], self.client.batch_get_item(RequestItems=request))
                for item in response.get("Responses", {}).get(self.table_name, []):
                    stored = stored_sale(item)
                    found[stored.sale_id] = stored
                keys = response.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
                if not keys:
                    break
                self._backoff(attempt)
            else:
                raise TransientStorageError(f"BatchGetItem left {len(keys)} keys unprocessed")
        return found

    def transaction(self, batch: WriteBatch) -> Transaction:
        """The batch as TransactWriteItems' items: the sales' Puts and Deletes, then the day
        updates, then the breakdown shards' updates (which a cancellation reason's index names)."""
        now = utc_now()
        table = self.table_name
        items = WireItems([sale_put(table, w, now) for w in batch.writes])
        items += [sale_delete(table, d) for d in batch.deletes]
        sales_to = len(items)
        items += [
            day_update(table, day, delta, now) for day, delta in sorted(batch.day_deltas.items()) if not delta.is_zero()
        ]
        shards_from = len(items)
        shards: list[ShardRef] = []
        for ref, shard_delta in sorted(batch.breakdowns.items()):
            update = shard_update(table, ref, shard_delta, now)
            if update is not None:
                items.append(update)
                shards.append(ref)
        return Transaction(items, sales_to, shards_from, shards)

    def commit(self, batch: WriteBatch) -> Conflicts:  # noqa: C901 - every cancellation reason read in one place
        items, sales_to, shards_from, shards = self.transaction(batch)
        if not items:
            return Conflicts()
        if len(items) > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"a transaction holds at most {MAX_TRANSACTION_ITEMS} items, not {len(items)}")
        for attempt in range(self.max_attempts):
            try:
                self.transact(items)
                return Conflicts()
            except ClientError as exc:
                error = exc.response.get("Error", {})
                code = error.get("Code", "")
                if code == "TransactionCanceledException":
                    reasons = cast(list[dict[str, Any]], exc.response.get("CancellationReasons") or [])
                    conflicts: dict[str, StoredSale | None] = {}
                    full: list[ShardRef] = []
                    other: set[str] = set()
                    for index, reason in enumerate(reasons):
                        reason_code = reason.get("Code") or "None"
                        if reason_code == "ConditionalCheckFailed" and index < sales_to:
                            raw = reason.get("Item")
                            sale_id = (
                                batch.writes[index].sale.sale_id
                                if index < len(batch.writes)
                                else batch.deletes[index - len(batch.writes)].sale_id
                            )
                            conflicts[sale_id] = stored_sale(raw) if raw else None
                        elif reason_code == "ConditionalCheckFailed" and index >= shards_from:
                            full.append(shards[index - shards_from])
                        elif reason_code != "None":
                            other.add(reason_code)
                    if conflicts or full:
                        return Conflicts(conflicts, full)
                    if other - _RETRYABLE_REASONS:
                        raise
                elif code not in _RETRYABLE_CODES:
                    raise
                self._backoff(attempt)
        raise TransientStorageError(f"transaction of {len(items)} items kept being refused")

    def day_totals(self, start: date, end: date) -> dict[date, DayTotals]:
        values = {":pk": {"S": DAYS_PK}, ":start": {"S": start.isoformat()}, ":end": {"S": end.isoformat()}}
        return {agg.day: agg.totals for agg in self._query_days("pk = :pk AND sk BETWEEN :start AND :end", values)}

    def day_aggregates(self) -> Iterator[DayAggregate]:
        return self._query_days("pk = :pk", {":pk": {"S": DAYS_PK}})

    def _query_days(self, condition: str, values: dict[str, Any]) -> Iterator[DayAggregate]:
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        while True:
            page = cast(dict[str, Any], self.client.query(**kwargs))
            for item in page.get("Items", []):
                rev = item.get("rev")
                yield DayAggregate(
                    date.fromisoformat(item["sk"]["S"]), day_totals(item), int(rev["N"]) if rev is not None else 0
                )
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def iter_sales(self) -> Iterator[StoredSale]:
        paginator = self.client.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self.table_name,
            FilterExpression="#sk = :sale",
            ProjectionExpression=_SALE_PROJECTION,
            ExpressionAttributeNames={**_SALE_NAMES, "#sk": "sk"},
            ExpressionAttributeValues={":sale": _SALE_SK},
        ):
            for item in page.get("Items", []):
                yield stored_sale(item)

    def replace_day(self, day: date, totals: DayTotals, expected_rev: int | None) -> bool:
        item = day_item(day, totals, (expected_rev or 0) + 1, utc_now())
        kwargs: dict[str, Any] = {"TableName": self.table_name, "Item": item}
        if expected_rev is None:
            kwargs["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            kwargs["ConditionExpression"] = "#rev = :rev"
            kwargs["ExpressionAttributeNames"] = {"#rev": "rev"}
            kwargs["ExpressionAttributeValues"] = {":rev": {"N": str(expected_rev)}}
        try:
            self.client.put_item(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _shard_items(self, dimension: str, start: date, end: date) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :start AND :end",
            "ExpressionAttributeValues": {
                ":pk": {"S": breakdown_pk(dimension)},
                ":start": {"S": start.isoformat()},
                # every shard of the last day: `#<n>` sorts before `#~`
                ":end": {"S": end.isoformat() + "#~"},
            },
        }
        while True:
            page = cast(dict[str, Any], self.client.query(**kwargs))
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def breakdown_shards(self, dimension: str, start: date, end: date) -> Iterator[BreakdownShard]:
        ids: dict[str, str] = {}
        for item in self._shard_items(dimension, start, end):
            yield breakdown_shard(item, ids)

    def breakdown_totals(self, dimension: str, start: date, end: date) -> dict[str, KeyTotals]:
        sums = ShardSums()
        for item in self._shard_items(dimension, start, end):
            sums.add(item)
        return sums.totals()

    def replace_breakdown(
        self, dimension: str, day: date, figures: Mapping[str, KeyTotals], expected: Sequence[BreakdownShard]
    ) -> bool:
        """Rewrite a day's shards with `figures`, only if none was written since `expected` was
        read (each shard's `rev`). Shards left over are emptied, not deleted: an empty shard is
        what a new one is, and the repair needs no DeleteItem permission."""
        now = utc_now()
        held = {shard.shard: shard for shard in expected}
        contents = layout(figures)
        items: list[dict[str, Any]] = []
        for index in range(max(len(contents), max(held, default=-1) + 1)):
            old = held.get(index)
            content = contents[index] if index < len(contents) else {}
            rev = (old.rev if old else 0) + 1
            put: dict[str, Any] = {
                "TableName": self.table_name,
                "Item": shard_item(dimension, day, index, content, rev, now),
            }
            if old is None:
                put["ConditionExpression"] = "attribute_not_exists(pk)"
            else:
                put["ConditionExpression"] = "#rev = :rev"
                put["ExpressionAttributeNames"] = {"#rev": "rev"}
                put["ExpressionAttributeValues"] = {":rev": number(old.rev)}
            items.append({"Put": put})
        if not items:
            return True
        if len(items) > MAX_TRANSACTION_ITEMS:
            raise ValueError(
                f"a repair of {dimension} on {day} would rewrite {len(items)} shards; at most "
                f"{MAX_TRANSACTION_ITEMS} fit one transaction"
            )
        try:
            self.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                return False
            raise
        return True


class DynamoImportLog(DynamoTable, ImportLog):
    """`ImportLog`: one item per import, listed newest first through the `gsi1` index."""

    def put_import(self, record: ImportRecord, *, if_status: Collection[ImportStatus] | None = None) -> bool:
        item = {k: to_wire(v) for k, v in record.to_dict().items() if v is not None}
        item.update(
            pk={"S": import_pk(record.import_id)},
            sk={"S": IMPORT_SK},
            gsi1pk={"S": IMPORTS_GSI_PK},
            gsi1sk={"S": f"{record.started_at}#{record.import_id}"},
        )
        if if_status is None:
            self.client.put_item(TableName=self.table_name, Item=item)
            return True
        kwargs: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        if if_status:
            values = {f":s{n}": {"S": str(status)} for n, status in enumerate(sorted(if_status))}
            kwargs = {
                "ConditionExpression": f"attribute_not_exists(pk) OR #status IN ({', '.join(values)})",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": values,
            }
        try:
            self.client.put_item(TableName=self.table_name, Item=item, **kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get_import(self, import_id: str) -> ImportRecord | None:
        item = self.client.get_item(
            TableName=self.table_name,
            ConsistentRead=True,
            Key={"pk": {"S": import_pk(import_id)}, "sk": {"S": IMPORT_SK}},
        ).get("Item")
        return ImportRecord.from_dict(plain_item(item)) if item else None

    def list_imports(self, limit: int, cursor: str | None) -> tuple[list[ImportRecord], str | None]:
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": IMPORTS_GSI_PK}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = {k: {"S": v} for k, v in decode_cursor(cursor).items()}
        page = cast(dict[str, Any], self.client.query(**kwargs))
        records = [ImportRecord.from_dict(plain_item(item)) for item in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        return records, encode_cursor({k: v["S"] for k, v in last.items()}) if last else None


# -- pagination cursors -----------------------------------------------------------------------------

_CURSOR_KEYS = frozenset({"pk", "sk", "gsi1pk", "gsi1sk"})


def encode_cursor(last_key: dict[str, Any]) -> str:
    raw = json.dumps({k: str(v) for k, v in last_key.items()}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str) -> dict[str, str]:
    """Decode a `next_token`; anything that is not one of ours raises InvalidCursor (HTTP 400).

    Checked here, before any call, so that DynamoDB never sees a start key it would refuse (a
    ValidationException is not bad input to be told apart from failures above this module).
    """
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor("next_token is not a valid pagination token") from exc
    if (
        not isinstance(data, dict)
        or set(data) != _CURSOR_KEYS
        or not all(isinstance(v, str) and v for v in data.values())
        or data["gsi1pk"] != IMPORTS_GSI_PK
        or not data["pk"].startswith("IMPORT#")
        or data["sk"] != IMPORT_SK
        or not data["gsi1sk"].endswith("#" + data["pk"].removeprefix("IMPORT#"))
        or not all(_fits_key(data[name], limit) for name, limit in _CURSOR_KEY_BYTES.items())
    ):
        raise InvalidCursor("next_token is not a valid pagination token")
    return data


# DynamoDB's limits on key values (UTF-8 bytes): partition keys 2048, sort keys 1024.
_CURSOR_KEY_BYTES = {"pk": 2048, "sk": 1024, "gsi1pk": 2048, "gsi1sk": 1024}


def _fits_key(value: str, limit: int) -> bool:
    try:
        return len(value.encode("utf-8")) <= limit
    except UnicodeEncodeError:  # a lone surrogate (JSON "\ud800"): no DynamoDB string holds it
        return False
