"""`Storage` on one DynamoDB table and the uploads bucket (see docs/architecture.md for the keys)."""

from __future__ import annotations

import base64
import binascii
import io
import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import boto3
from boto3.dynamodb.conditions import Attr, Key
from boto3.dynamodb.types import TypeDeserializer
from botocore.config import Config
from botocore.exceptions import ClientError

from ..errors import InvalidCursor
from ..imports import ImportRecord
from ..money import ZERO
from ..sales import DayTotals, Sale, StoredSale
from .base import Conflicts, DayAggregate, ObjectGone, SaleWrite, TransientStorageError, WriteBatch

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3.client import S3Client

DAYS_PK = "DAYS"
IMPORTS_GSI_PK = "IMPORTS"
SALE_SK = "SALE"
IMPORT_SK = "IMPORT"
MAX_BATCH_GET = 100
MAX_TRANSACTION_ITEMS = 100
_RETRYABLE_CODES = frozenset({
    "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "InternalServerError", "ServiceUnavailable", "TransactionInProgressException",
})
# What GetObject answers for a version that was deleted (or a key whose latest version is a delete
# marker): no retry can bring it back.
_GONE_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "404", "MethodNotAllowed", "405"})
_RETRYABLE_REASONS = frozenset({
    "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded",
})
_SALE_FIELDS = ("sale_id", "sale_date", "ver", "hash", "total", "tax", "discounts",
                "import_id", "first_import_id", "change")
_DAY_FIELDS = ("revenue", "net", "tax", "discounts", "order_count", "order_value",
               "refund_count", "refunds", "sales_count")
_deserializer = TypeDeserializer()


def sale_pk(sale_id: str) -> str:
    return f"SALE#{sale_id}"


def import_pk(import_id: str) -> str:
    return f"IMPORT#{import_id}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DynamoStorage:
    """DynamoDB + S3. Clients are created on first use (so moto's mock, started later, sees them).

    Every retry loop here is bounded; past the bound a `TransientStorageError` fails the
    invocation so that Lambda retries the event, and finally the DLQ keeps it.
    """

    def __init__(
        self,
        table_name: str,
        *,
        max_attempts: int = 8,
        backoff_base: float = 0.05,
        backoff_cap: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        health_timeout: float = 2.0,
    ) -> None:
        self.table_name = table_name
        self.max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep
        self._health_timeout = health_timeout
        self._table: Table | None = None
        self._s3: S3Client | None = None

    # -- clients ------------------------------------------------------------------------------

    @property
    def table(self) -> Table:
        if self._table is None:
            config = Config(retries={"mode": "standard", "max_attempts": 4})
            self._table = boto3.resource("dynamodb", config=config).Table(self.table_name)
        return self._table

    @property
    def client(self) -> DynamoDBClient:
        # The resource's client (de)serialises Python values, Decimal included, in every call.
        return self.table.meta.client

    @property
    def s3(self) -> S3Client:
        if self._s3 is None:
            self._s3 = boto3.client("s3", config=Config(retries={"mode": "standard", "max_attempts": 4},
                                                       signature_version="s3v4"))
        return self._s3

    def _backoff(self, attempt: int) -> None:
        # Full jitter: concurrent ingests that collided should not collide again in step.
        self._sleep(random.uniform(0, min(self._backoff_cap, self._backoff_base * 2**attempt)))  # noqa: S311  # nosec B311 - jitter, not security

    # -- sales and aggregates -----------------------------------------------------------------

    def read_sales(self, sale_ids: Sequence[str]) -> dict[str, StoredSale]:
        found: dict[str, StoredSale] = {}
        unique = list(dict.fromkeys(sale_ids))
        for start in range(0, len(unique), MAX_BATCH_GET):
            chunk = unique[start:start + MAX_BATCH_GET]
            keys: list[dict[str, Any]] = [{"pk": sale_pk(s), "sk": SALE_SK} for s in chunk]
            for attempt in range(self.max_attempts):
                request: dict[str, Any] = {self.table_name: {
                    "Keys": keys, "ConsistentRead": True,
                    "ProjectionExpression": ", ".join(f"#{i}" for i in range(len(_SALE_FIELDS))),
                    "ExpressionAttributeNames": {f"#{i}": n for i, n in enumerate(_SALE_FIELDS)},
                }}
                response = cast(dict[str, Any], self.client.batch_get_item(RequestItems=request))
                for item in response.get("Responses", {}).get(self.table_name, []):
                    stored = _stored_sale(item)
                    found[stored.sale_id] = stored
                keys = response.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
                if not keys:
                    break
                self._backoff(attempt)
            else:
                raise TransientStorageError(f"BatchGetItem left {len(keys)} keys unprocessed")
        return found

    def commit(self, batch: WriteBatch) -> Conflicts:
        items: list[dict[str, Any]] = [_put_sale(self.table_name, w) for w in batch.writes]
        now = _now()
        items += [_add_to_day(self.table_name, day, delta, now)
                  for day, delta in sorted(batch.day_deltas.items()) if not delta.is_zero()]
        if not items:
            return {}
        if len(items) > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"a transaction holds at most {MAX_TRANSACTION_ITEMS} items, not {len(items)}")
        for attempt in range(self.max_attempts):
            try:
                self.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
                return {}
            except ClientError as exc:
                error = exc.response.get("Error", {})
                code = error.get("Code", "")
                if code == "TransactionCanceledException":
                    reasons = cast(list[dict[str, Any]], exc.response.get("CancellationReasons") or [])
                    conflicts: dict[str, StoredSale | None] = {}
                    other: set[str] = set()
                    for index, reason in enumerate(reasons):
                        reason_code = reason.get("Code") or "None"
                        if reason_code == "ConditionalCheckFailed" and index < len(batch.writes):
                            raw = reason.get("Item")
                            conflicts[batch.writes[index].sale.sale_id] = (
                                _stored_sale({k: _deserializer.deserialize(v) for k, v in raw.items()})
                                if raw else None)
                        elif reason_code != "None":
                            other.add(reason_code)
                    if conflicts:
                        return conflicts
                    if other - _RETRYABLE_REASONS:
                        raise
                elif code not in _RETRYABLE_CODES:
                    raise
                self._backoff(attempt)
        raise TransientStorageError(f"transaction of {len(items)} items kept being refused")

    def day_totals(self, start: date, end: date) -> dict[date, DayTotals]:
        condition = Key("pk").eq(DAYS_PK) & Key("sk").between(start.isoformat(), end.isoformat())
        return {agg.day: agg.totals for agg in self._query_days(condition)}

    def day_aggregates(self) -> Iterator[DayAggregate]:
        return self._query_days(Key("pk").eq(DAYS_PK))

    def _query_days(self, condition: Any) -> Iterator[DayAggregate]:
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition}
        while True:
            page = self.table.query(**kwargs)
            for item in page.get("Items", []):
                yield _day_aggregate(item)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def iter_sales(self) -> Iterator[StoredSale]:
        paginator = self.client.get_paginator("scan")
        names = {f"#{i}": n for i, n in enumerate(_SALE_FIELDS)}
        for page in paginator.paginate(
            TableName=self.table_name,
            FilterExpression="#sk = :sale",
            ProjectionExpression=", ".join(n for n in names),
            ExpressionAttributeNames={**names, "#sk": "sk"},
            ExpressionAttributeValues={":sale": SALE_SK},
        ):
            for item in page.get("Items", []):
                yield _stored_sale(cast(dict[str, Any], item))

    def replace_day(self, day: date, totals: DayTotals, expected_rev: int | None) -> bool:
        item: dict[str, Any] = {"pk": DAYS_PK, "sk": day.isoformat(), "rev": (expected_rev or 0) + 1,
                                "updated_at": _now(), **_totals_to_item(totals)}
        condition = Attr("pk").not_exists() if expected_rev is None else Attr("rev").eq(expected_rev)
        try:
            self.table.put_item(Item=item, ConditionExpression=condition)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # -- imports ------------------------------------------------------------------------------

    def put_import(self, record: ImportRecord) -> None:
        item = {k: v for k, v in record.to_dict().items() if v is not None}
        item.update(pk=import_pk(record.import_id), sk=IMPORT_SK, gsi1pk=IMPORTS_GSI_PK,
                    gsi1sk=f"{record.started_at}#{record.import_id}")
        self.table.put_item(Item=item)

    def get_import(self, import_id: str) -> ImportRecord | None:
        item = self.table.get_item(Key={"pk": import_pk(import_id), "sk": IMPORT_SK},
                                   ConsistentRead=True).get("Item")
        return ImportRecord.from_dict(dict(item)) if item else None

    def list_imports(self, limit: int, cursor: str | None) -> tuple[list[ImportRecord], str | None]:
        kwargs: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": Key("gsi1pk").eq(IMPORTS_GSI_PK),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = decode_cursor(cursor)
        page = self.table.query(**kwargs)
        records = [ImportRecord.from_dict(dict(item)) for item in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        return records, encode_cursor(cast(dict[str, Any], last)) if last else None

    # -- objects ------------------------------------------------------------------------------

    def open_object(self, bucket: str, key: str, version_id: str) -> BinaryIO:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            body = self.s3.get_object(**kwargs)["Body"]
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _GONE_CODES:
                raise ObjectGone(f"s3://{bucket}/{key} version {version_id or '(none)'}: {code}") from exc
            raise
        # A buffered reader over the HTTP body: lines come from C code, memory stays at one buffer.
        return cast(BinaryIO, io.BufferedReader(_BodyReader(body), buffer_size=1 << 20))

    def put_rejects(self, bucket: str, key: str, body: BinaryIO) -> None:
        self.s3.upload_fileobj(body, bucket, key, ExtraArgs={"ContentType": "text/csv; charset=utf-8"})

    def presign_upload(self, bucket: str, key: str, content_type: str, expires_in: int) -> str:
        return self.s3.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": key, "ContentType": content_type},
            ExpiresIn=expires_in, HttpMethod="PUT")

    # -- health -------------------------------------------------------------------------------

    def _health_config(self) -> Config:
        return Config(connect_timeout=self._health_timeout, read_timeout=self._health_timeout,
                      retries={"total_max_attempts": 1})

    def check_table(self) -> None:
        boto3.client("dynamodb", config=self._health_config()).describe_table(TableName=self.table_name)

    def check_bucket(self, bucket: str) -> None:
        boto3.client("s3", config=self._health_config()).list_objects_v2(Bucket=bucket, MaxKeys=1)


class _BodyReader(io.RawIOBase):
    """Adapts botocore's StreamingBody to RawIOBase so io.BufferedReader can sit on it."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


# -- item shapes ----------------------------------------------------------------------------------


def _put_sale(table: str, write: SaleWrite) -> dict[str, Any]:
    sale = write.sale
    item = sale_item(sale, write.version, write.import_id, write.first_import_id, write.content_hash)
    item["change"] = write.change
    put: dict[str, Any] = {"TableName": table, "Item": item, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
    if write.expected is None:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        put["ConditionExpression"] = "#ver = :expected"
        put["ExpressionAttributeNames"] = {"#ver": "ver"}
        put["ExpressionAttributeValues"] = {":expected": write.expected.version}
    return {"Put": put}


def sale_item(sale: Sale, version: str, import_id: str, first_import_id: str, content_hash: str) -> dict[str, Any]:
    lines = []
    for ln in sale.lines:
        line: dict[str, Any] = {"line_no": ln.line_no, "item_name": ln.item_name, "item_total": ln.item_total,
                                "payment_method": ln.payment_method, "location": ln.location}
        for name in ("quantity", "item_price", "subtotal", "discount_amount", "tax"):
            value = getattr(ln, name)
            if value is not None:
                line[name] = value
        lines.append(line)
    return {
        "pk": sale_pk(sale.sale_id), "sk": SALE_SK, "sale_id": sale.sale_id,
        "sale_date": sale.sale_date.isoformat(), "ver": version, "hash": content_hash,
        "total": sale.total, "tax": sale.tax, "discounts": sale.discounts, "client_id": sale.client_id,
        "lines": lines, "import_id": import_id, "first_import_id": first_import_id, "updated_at": _now(),
    }


def _add_to_day(table: str, day: date, delta: DayTotals, now: str) -> dict[str, Any]:
    values = {f":{name}": getattr(delta, name) for name in _DAY_FIELDS}
    adds = ", ".join(f"#{name} :{name}" for name in _DAY_FIELDS)
    return {"Update": {
        "TableName": table,
        "Key": {"pk": DAYS_PK, "sk": day.isoformat()},
        "UpdateExpression": f"ADD {adds}, #rev :one SET #updated_at = :now",
        "ExpressionAttributeNames": {**{f"#{n}": n for n in _DAY_FIELDS}, "#rev": "rev", "#updated_at": "updated_at"},
        "ExpressionAttributeValues": {**values, ":one": 1, ":now": now},
    }}


def _totals_to_item(totals: DayTotals) -> dict[str, Any]:
    return {name: getattr(totals, name) for name in _DAY_FIELDS}


def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value)) if value is not None else ZERO


def _stored_sale(item: dict[str, Any]) -> StoredSale:
    return StoredSale(
        sale_id=str(item["sale_id"]),
        sale_date=date.fromisoformat(str(item["sale_date"])),
        version=str(item["ver"]),
        content_hash=str(item["hash"]),
        total=_dec(item.get("total")),
        tax=_dec(item.get("tax")),
        discounts=_dec(item.get("discounts")),
        import_id=str(item.get("import_id", "")),
        first_import_id=str(item.get("first_import_id", "")),
        change=str(item.get("change", "updated")),
    )


def _day_aggregate(item: dict[str, Any]) -> DayAggregate:
    totals = DayTotals(
        revenue=_dec(item.get("revenue")), net=_dec(item.get("net")), tax=_dec(item.get("tax")),
        discounts=_dec(item.get("discounts")), order_count=int(item.get("order_count", 0)),
        order_value=_dec(item.get("order_value")), refund_count=int(item.get("refund_count", 0)),
        refunds=_dec(item.get("refunds")), sales_count=int(item.get("sales_count", 0)),
    )
    return DayAggregate(date.fromisoformat(str(item["sk"])), totals, int(item.get("rev", 0)))


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
    if (not isinstance(data, dict) or set(data) != _CURSOR_KEYS
            or not all(isinstance(v, str) and v for v in data.values()) or data["gsi1pk"] != IMPORTS_GSI_PK
            or not data["pk"].startswith("IMPORT#") or data["sk"] != IMPORT_SK
            or not data["gsi1sk"].endswith("#" + data["pk"].removeprefix("IMPORT#"))
            or not all(_fits_key(data[name], limit) for name, limit in _CURSOR_KEY_BYTES.items())):
        raise InvalidCursor("next_token is not a valid pagination token")
    return data


# DynamoDB's limits on key values (UTF-8 bytes): partition keys 2048, sort keys 1024.
_CURSOR_KEY_BYTES = {"pk": 2048, "sk": 1024, "gsi1pk": 2048, "gsi1sk": 1024}


def _fits_key(value: str, limit: int) -> bool:
    try:
        return len(value.encode("utf-8")) <= limit
    except UnicodeEncodeError:  # a lone surrogate (JSON "\ud800"): no DynamoDB string holds it
        return False
