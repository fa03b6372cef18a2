"""Three fixes to moto's DynamoDB (5.2.x), for the tests, the local stack and the benchmarks.

1. `TransactWriteItems` takes its rollback backup as a deep copy of the whole table - once per
   *item* of the transaction - so ingesting N sales costs O(N^2) (a 2,000-line export: ~220 s).
   Instead, snapshot just the items the transaction touches and, when moto cancels it, put
   exactly those back: the same all-or-nothing outcome at O(transaction size).
2. Nothing serialises writes: moto server runs requests on threads, and a cancelled transaction
   restoring its backup would undo writes other threads made meanwhile. Real DynamoDB isolates
   transactions from other writes; one lock around the backend's writes gives the same here, so
   concurrency tests judge this project's code and not a race inside the mock. DescribeTable
   counts the table's items by walking its partitions, and a write adding one meanwhile made it
   answer 500 ("dictionary changed size during iteration") to the health check while an ingest
   wrote: the count now walks a copy of the partitions (taken at once under the GIL), without
   the lock, which a DescribeTable queued behind an ingest's transactions waited seconds for.
3. A Query on the table's own key sorts and walks every item of the table to find one partition,
   so its cost grows with the table, where DynamoDB's grows with the partition. Such a Query now
   reads just its partition (same items, same order), so latency benchmarks measure the design
   (metrics read one partition of day aggregates) rather than the mock. A Query on an index
   still walks every item (moto keeps no index), but no longer sorts the whole table first: it
   sorts the matches by the index's keys afterwards anyway (GET /imports on a table of 20,000
   sales: ~1 s of sorting gone).
4. moto turns every DynamoDB answer into JSON by walking the operation's output shape, ~1.5 ms
   per item returned: a year of day aggregates took 0.6 s to serialise, and 2-3 s while an
   ingest kept the server busy. Answers of item reads (Query, Scan, GetItem, BatchGetItem) are
   plain JSON already, binary values aside, so they are written with `json.dumps` (byte values
   base64, as the shape walker does); anything it cannot write falls back to moto's own way.
5. Two of moto's update-expression validators (one ADD/SET/REMOVE clause each, no overlapping
   paths) run at every node of the expression's tree, and each run collects every clause below
   its node: quadratic in the expression's terms. A breakdown shard's update of 24 keys (~120
   terms) took ~0.2 s to validate, most of a local ingest's time. Below the root, a node's
   clauses are a subset of the root's, so the root's check alone finds every violation the
   others could: they now run at the root only (the same errors, for the same expressions).
"""

from __future__ import annotations

import base64
import copy as real_copy
import functools
import json
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

log = logging.getLogger("devtools.motopatch")
_state = {"applied": False}
_lock = threading.RLock()
_in_transaction = threading.local()
_partition = threading.local()  # (table, hash key) while a base-table Query runs on this thread
_UNSORTED = object()  # ... or (table, _UNSORTED) while an index Query runs


class _CopyShim:
    """Stands in for the `copy` module inside moto.dynamodb.models: within a transaction, the
    whole-table backup is skipped (the item snapshots replace it); everything else is real."""

    def __init__(self, table_type: type) -> None:
        self._table_type = table_type

    def __getattr__(self, name: str) -> Any:
        return getattr(real_copy, name)

    def deepcopy(self, obj: Any, memo: Any = None) -> Any:
        if getattr(_in_transaction, "active", False) and memo is None and isinstance(obj, self._table_type):
            return obj  # moto's rollback then "restores" the live table: a no-op
        return real_copy.deepcopy(obj, memo)


def _snapshot(backend: Any, transact_items: Any) -> list[tuple[Any, Any, Any, Any]]:
    """(table, hash key, range key, a copy of the stored item or None) per item touched."""
    snapshots = []
    for entry in transact_items or []:
        try:
            _, op = next(iter(entry.items()))
            table = backend.get_table(op["TableName"])
            if "Key" in op:
                key = op["Key"]
            else:
                names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
                key = {name: op["Item"][name] for name in names}
            hash_value, range_value = backend.get_keys_value(table, key)
            current = table.get_item(hash_value, range_value)
        except Exception:  # nosec B112 - moto reports the malformed item itself
            continue
        snapshots.append((table, hash_value, range_value, real_copy.deepcopy(current)))
    return snapshots


def _restore(snapshots: list[tuple[Any, Any, Any, Any]]) -> None:
    for table, hash_value, range_value, item in reversed(snapshots):
        if range_value is not None:
            if item is None:
                table.items.get(hash_value, {}).pop(range_value, None)
            else:
                table.items[hash_value][range_value] = item
        elif item is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = item


def _serialised(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return method(*args, **kwargs)

    return wrapper


def _patch_query(table_type: Any) -> None:
    import inspect

    original_query = table_type.query
    original_all_items = table_type.all_items
    signature = inspect.signature(original_query)

    def all_items(self: Any) -> Any:
        hint = getattr(_partition, "value", None)
        if hint is not None and hint[0] is self and self.range_key_attr:
            if hint[1] is _UNSORTED:
                # list() copies a dict's values in one step (no other thread runs meanwhile), so
                # writes of other threads cannot change the dicts under this iteration.
                return [item for partition in list(self.items.values()) for item in list(partition.values())]
            return sorted(self.items.get(hint[1], {}).values(), key=lambda item: item.range_key)
        return original_all_items(self)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(self, *args, **kwargs).arguments
        if arguments.get("index_name") is None and arguments.get("hash_key") is not None:
            _partition.value = (self, arguments["hash_key"])
        elif arguments.get("index_name") is not None:
            _partition.value = (self, _UNSORTED)  # the matches are sorted by the index keys
        else:
            return original_query(self, *args, **kwargs)
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _partition.value = None

    table_type.all_items = all_items
    table_type.query = query


_ITEM_READS = frozenset({"Query", "Scan", "GetItem", "BatchGetItem"})


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON")


def _patch_item_reads(result_type: Any) -> None:
    original = result_type.execute_result

    def execute_result(self: Any, context: Any) -> Any:
        if getattr(context.operation_model, "name", None) in _ITEM_READS:
            try:
                body = json.dumps(self.result, default=_json_default)
            except (TypeError, ValueError):
                return original(self, context)
            return (
                200,
                {"Content-Type": "application/x-amz-json-1.0", "x-amzn-requestid": uuid.uuid4().hex.upper()},
                body,
            )
        return original(self, context)

    result_type.execute_result = execute_result


def _patch_update_validators(validators: Any) -> None:
    for cls, name in (
        (validators.ActionCountValidator, "verify_action_counts"),
        (validators.OverlappingPathsValidator, "check_for_overlapping_paths"),
    ):
        original = getattr(cls, name)

        def at_root(self: Any, node: Any, _original: Callable[..., Any] = original) -> Any:
            return _original(self, node) if node.parent is None else node

        setattr(cls, name, at_root)


def _patch_item_count(table_type: Any) -> None:
    def count(self: Any) -> int:
        partitions = list(self.items.values())  # one C call: no write can resize it midway
        return sum(len(value) for value in partitions) if self.has_range_key else len(partitions)

    table_type.__len__ = count


def apply() -> None:
    """Idempotent; call before the first DynamoDB request to moto (in-process or moto server)."""
    if _state["applied"]:
        return
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    backend = models.DynamoDBBackend
    original = backend.transact_write_items
    if getattr(models, "copy", None) is not real_copy:
        log.warning("moto's DynamoDB backend changed shape; TransactWriteItems left unpatched")
        return

    def transact_write_items(self: Any, transact_items: Any) -> Any:
        with _lock:
            snapshots = _snapshot(self, transact_items)
            _in_transaction.active = True
            try:
                return original(self, transact_items)
            except BaseException:
                _restore(snapshots)
                raise
            finally:
                _in_transaction.active = False

    _patch_query(Table)
    _patch_item_count(Table)
    from moto.dynamodb.parsing import validators

    _patch_update_validators(validators)
    from moto.dynamodb.responses import DynamoResult

    _patch_item_reads(DynamoResult)
    models.copy = _CopyShim(Table)  # type: ignore[attr-defined,assignment]
    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    for name in ("put_item", "update_item", "delete_item", "batch_write_item"):
        setattr(backend, name, _serialised(getattr(backend, name)))
    _state["applied"] = True
