"""The import log's contract: `MemoryImportLog` and `DynamoImportLog` on moto answer alike:
records read back, newest first across pages, and a cursor that is not theirs is `InvalidCursor`."""

from __future__ import annotations

from typing import Any

import pytest

from salesmetrics.errors import InvalidCursor
from salesmetrics.imports import ImportRecord, ImportStatus
from tests.moto_resources import BUCKET


def record(n: int) -> ImportRecord:
    return ImportRecord(
        import_id=f"imp_{n:04d}",
        bucket=BUCKET,
        key=f"uploads/{n}.csv",
        status=ImportStatus.SUCCEEDED,
        started_at=f"2026-11-01T10:00:{n:02d}.000Z",
        rows_total=n,
    )


def test_imports_are_listed_newest_first_across_pages(import_log: Any) -> None:
    st = import_log
    for n in range(7):
        st.put_import(record(n))
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page, cursor = st.list_imports(3, cursor)
        seen += [r.import_id for r in page]
        if cursor is None:
            break
    assert seen == [f"imp_{n:04d}" for n in reversed(range(7))]
    got = st.get_import("imp_0003")
    assert got is not None and got.rows_total == 3 and got.status == ImportStatus.SUCCEEDED
    assert st.get_import("imp_nope") is None


@pytest.mark.parametrize("token", ["%%%", "bm90LWpzb24", "e30"])
def test_a_pagination_token_that_is_not_ours_is_an_invalid_cursor(import_log: Any, token: str) -> None:
    with pytest.raises(InvalidCursor, match="next_token") as raised:
        import_log.list_imports(3, token)
    assert isinstance(raised.value, ValueError)  # what callers caught before InvalidCursor existed


def test_a_record_put_again_replaces_the_earlier_one_and_is_listed_once(import_log: Any) -> None:
    first = record(1)
    first.status = ImportStatus.IN_PROGRESS
    import_log.put_import(first)
    again = record(1)
    again.attempts, again.message = 2, "2 lines: 2 ingested"
    import_log.put_import(again)
    got = import_log.get_import("imp_0001")
    assert got is not None and (got.status, got.attempts, got.message) == (ImportStatus.SUCCEEDED, 2, again.message)
    page, cursor = import_log.list_imports(10, None)
    assert [r.import_id for r in page] == ["imp_0001"] and cursor is None


def test_a_cursor_answers_the_page_after_it_only(import_log: Any) -> None:
    for n in range(5):
        import_log.put_import(record(n))
    first, cursor = import_log.list_imports(2, None)
    assert [r.import_id for r in first] == ["imp_0004", "imp_0003"] and cursor
    again, _ = import_log.list_imports(2, cursor)  # the same cursor twice: the same page
    second, _ = import_log.list_imports(2, cursor)
    assert [r.import_id for r in again] == [r.import_id for r in second] == ["imp_0002", "imp_0001"]


def test_a_conditional_put_writes_only_over_the_statuses_named_or_no_record(import_log: Any) -> None:
    """What keeps an ingest and a retraction of one import from both starting."""
    first = record(2)
    assert import_log.put_import(first, if_status={ImportStatus.SUCCEEDED}) is True  # no record yet
    retracting = record(2)
    retracting.status = ImportStatus.RETRACTING
    assert import_log.put_import(retracting, if_status={ImportStatus.SUCCEEDED}) is True
    again = record(2)
    again.status = ImportStatus.IN_PROGRESS
    assert import_log.put_import(again, if_status={ImportStatus.SUCCEEDED, ImportStatus.FAILED}) is False
    got = import_log.get_import("imp_0002")
    assert got is not None and got.status == ImportStatus.RETRACTING  # the refused write changed nothing
    assert import_log.put_import(again) is True  # unconditional
    assert import_log.get_import("imp_0002").status == ImportStatus.IN_PROGRESS
