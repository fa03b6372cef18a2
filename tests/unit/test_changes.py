"""The change list's part format (salesmetrics/changes.py): what `encode_part` writes, `decode_part`
reads back exactly, whatever a Sale ID holds, and each line is plain JSON a user could read with
any JSON tool."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from salesmetrics.changes import ChangeEntry, decode_part, encode_part
from salesmetrics.sales import SaleChange

amounts = st.decimals(min_value=-(10**9), max_value=10**9, places=3, allow_nan=False, allow_infinity=False)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
entries = st.builds(
    ChangeEntry,
    sale_id=st.text(min_size=1, max_size=40),  # quotes, backslashes, control and non-ASCII characters
    change=st.sampled_from(list(SaleChange)),
    sale_date=days,
    total=amounts,
    previous_sale_date=st.none() | days,
    previous_total=st.none() | amounts,
)


@given(st.lists(entries, max_size=30))
def test_a_part_reads_back_as_the_entries_it_was_written_from(written: list[ChangeEntry]) -> None:
    body = encode_part(written)
    assert decode_part(body) == written
    lines = body.decode("utf-8").split("\n")[:-1]
    for line, entry in zip(lines, written, strict=True):
        data = json.loads(line)
        assert data["sale_id"] == entry.sale_id
        assert data["total"] == str(entry.total)  # exact decimal text, never a JSON number


def test_a_sale_id_with_a_unicode_line_separator_stays_one_entry() -> None:
    # JSON does not escape U+2028 / U+2029 / U+0085; a reader splitting with str.splitlines broke
    # the line there, and the undo of such an import failed on every retry.
    written = [
        ChangeEntry(f"A{sep}B", SaleChange.CREATED, date(2025, 3, 1), Decimal("1.00")) for sep in "\u2028\u2029\x85"
    ]
    assert decode_part(encode_part(written)) == written


def test_an_empty_part_is_empty_and_a_line_is_compact_json_with_non_ascii_kept() -> None:
    assert encode_part([]) == b""
    entry = ChangeEntry('Vente "é"\n1', SaleChange.UPDATED, date(2025, 3, 1), Decimal("-12.50"), None, Decimal("3"))
    assert (
        encode_part([entry])
        == (
            '{"sale_id":"Vente \\"é\\"\\n1","change":"updated","sale_date":"2025-03-01","total":"-12.50",'
            '"previous_sale_date":null,"previous_total":"3"}\n'
        ).encode()
    )
