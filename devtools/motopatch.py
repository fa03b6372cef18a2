"""Two fixes to moto's DynamoDB for the tests and the local stack (moto 5.2.x).

1. `TransactWriteItems` backs up each table it touches with a deep copy - once per *item* of the
   transaction, so a 100-item transaction copies the table 100 times. One copy per table and
   transaction keeps the same rollback semantics at a hundredth of the cost.
2. Nothing serialises writes: a cancelled transaction restores its backup over writes other
   threads made meanwhile (moto server runs requests on threads). Real DynamoDB isolates
   transactions from other writes; a lock around the backend's writes gives the same here, so
   concurrency tests judge this project's code, not a race inside the mock.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from typing import Any

_state = {"applied": False}
_lock = threading.RLock()
_backups = threading.local()


class _CopyOncePerTransaction:
    """Stands in for the `copy` module inside moto.dynamodb.models."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(obj: Any, memo: dict[int, Any] | None = None) -> Any:
        cache: dict[int, Any] | None = getattr(_backups, "tables", None)
        if cache is None or type(obj).__name__ != "Table":
            return copy.deepcopy(obj, memo)
        if id(obj) not in cache:
            cache[id(obj)] = copy.deepcopy(obj, memo)
        return cache[id(obj)]


def _serialised(method: Callable[..., Any], *, transaction: bool = False) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            if not transaction:
                return method(*args, **kwargs)
            _backups.tables = {}
            try:
                return method(*args, **kwargs)
            finally:
                _backups.tables = None

    return wrapper


def apply() -> None:
    """Idempotent; call before the first DynamoDB request to moto."""
    if _state["applied"]:
        return
    from moto.dynamodb import models

    models.copy = _CopyOncePerTransaction()  # type: ignore[assignment]
    backend = models.DynamoDBBackend
    backend.transact_write_items = _serialised(backend.transact_write_items, transaction=True)  # type: ignore[method-assign]
    for name in ("put_item", "update_item", "delete_item", "batch_write_item"):
        setattr(backend, name, _serialised(getattr(backend, name)))
    _state["applied"] = True
