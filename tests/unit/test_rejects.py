"""The rejects file a user downloads and opens in a spreadsheet: every rejected line with its number and
reason, the original cells (minus personal data), nothing that a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io

import pytest

from salesmetrics.columns import map_header
from salesmetrics.parsing import Rejection
from salesmetrics.rejects import RejectsFile, inert
from tests.unit.support import HEADER, export, line, read

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
PERSONAL_HEADER = "Sale Date,Client ID,Client,Sale ID,Item name,Tax,Item Total"


def personal_line(sale_id: str, total: str, client: str = "Tan Mei Ling", item: str = "Bay hire") -> str:
    return ",".join(("3/1/2025", "100000888", client, sale_id, item, "0.9", total))


def test_header_is_line_sale_id_reason_then_the_original_columns_minus_personal() -> None:
    parsed = read(export(personal_line("1", "abc"), header=PERSONAL_HEADER))
    header, *_ = parsed.rejects_rows()
    assert header == [
        "line",
        "sale_id",
        "reason",
        "Sale Date",
        "Client ID",
        "Sale ID",
        "Item name",
        "Tax",
        "Item Total",
    ]


def test_header_keeps_the_files_own_spelling_and_no_bom() -> None:
    parsed = read(export("3/1/2025,1,5,x", header=" sale date ,Sale #,ITEM TOTAL,Register", bom=True))
    assert parsed.rejects_rows()[0] == ["line", "sale_id", "reason", " sale date ", "Sale #", "ITEM TOTAL", "Register"]


def test_every_rejected_row_is_listed_with_its_line_number_reason_and_cells() -> None:
    parsed = read(
        export(
            line("1"),
            line("2", "5"),
            line("2", "abc"),
            "",
            line("3", day="2/30/2025"),
            line("4"),
            eol="\r\n",
        )
    )
    rows = parsed.rejects_rows()
    assert [r[:2] for r in rows[1:]] == [["3", "2"], ["4", "2"], ["6", "3"]]
    assert rows[1][2] == "sale 2 rejected: its line 4 is invalid"
    assert rows[2][2] == "Item Total 'abc' is not a number"
    assert rows[3][2].startswith("Sale Date '2/30/2025'")
    assert rows[2][3:] == ["3/1/2025", "2", "Bay hire", "1", "10", "0.9", "abc"]
    assert rows[3][3] == "2/30/2025"
    assert all(len(r) == 3 + len(HEADER.split(",")) for r in rows)


def test_short_rows_are_padded_so_every_row_lines_up_with_the_header() -> None:
    parsed = read(export("3/1/2025,2,Bay hire", line("3")))
    rows = parsed.rejects_rows()
    assert rows[1][:2] == ["2", ""]  # a misaligned row's Sale ID is not trusted
    assert rows[1][3:] == ["3/1/2025", "2", "Bay hire", "", "", "", ""]


def test_quoted_newlines_commas_and_quotes_come_back_intact() -> None:
    note = 'Gift card, "gold"\r\nfor Mei\nline 3'
    cell = '"' + note.replace('"', '""') + '"'
    parsed = read(export(line("1", "abc", item=cell), line("2"), eol="\r\n"))
    (row,) = parsed.rejects_rows()[1:]
    assert row[0] == "2"
    assert row[5] == note  # the quoted CRLF is still CRLF, not LF


def test_the_client_name_never_reaches_the_rejects_file() -> None:
    parsed = read(
        export(
            personal_line("1", "abc", client="Tan Mei Ling"),
            personal_line("2", "5", client='"Ng, Kenji"'),
            personal_line("2", "x", client='"Ng, Kenji"'),
            personal_line("", "5", client="Lim Siew Hoon"),
            header=PERSONAL_HEADER,
        )
    )
    assert len(parsed.rejections) == 4
    rejects = RejectsFile(parsed.reader.columns)
    for r in parsed.rejections:
        rejects.add(r)
    raw = rejects.finish().read().decode("utf-8")
    for name in ("Tan Mei Ling", "Kenji", "Lim Siew Hoon", "Siew"):
        assert name not in raw
    for rejection in parsed.rejections:  # not even in what the reader hands over
        assert not any(name in cell for cell in rejection.cells for name in ("Mei Ling", "Kenji", "Siew"))
    assert "100000888" in raw  # the client id is not personal data


def test_an_unquoted_comma_in_the_client_name_does_not_leak_it_into_the_rejects_file() -> None:
    parsed = read(export(personal_line("1", "43.6", client="Tan, Mei Ling"), header=PERSONAL_HEADER))
    (rejection,) = parsed.rejections
    assert "fields" in rejection.reason
    text = "\n".join(",".join(row) for row in parsed.rejects_rows())
    assert "Mei Ling" not in text


FORMULAS = [
    '=HYPERLINK("http://x","y")',
    "=1+1",
    "+1+1",
    "@SUM(A1)",
    "-2+3",
    "-S$5",  # a spreadsheet reads this as minus the cell S5
    "\tcmd",
    "=cmd|' /C calc'!A0",
]


def _quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"'


@pytest.mark.parametrize("formula", FORMULAS)
@pytest.mark.parametrize("where", ["Item name", "Item Total", "Sale ID"])
def test_formula_looking_cells_come_back_inert(formula: str, where: str) -> None:
    cells = {"Item name": "Bay hire", "Item Total": "10.9", "Sale ID": "2"}
    cells[where] = _quoted(formula)
    # The Quantity is bad so the row is rejected whatever the formula cell parses to.
    parsed = read(export(line(cells["Sale ID"], cells["Item Total"], item=cells["Item name"], qty="abc")))
    rows = parsed.rejects_rows()
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row[where] == "'" + formula
    if where == "Sale ID":
        assert row["sale_id"] == inert(formula.strip())
    for cell in rows[1]:
        assert not cell.startswith(FORMULA_START), cell


@pytest.mark.parametrize("number", ["-196.2", "-5", "-1,234.50", "0.436", "1,288", "-0.413"])
def test_plain_negative_and_grouped_numbers_stay_as_they_are(number: str) -> None:
    parsed = read(export(line("2", "abc", tax=_quoted(number))))
    rows = parsed.rejects_rows()
    assert dict(zip(rows[0], rows[1], strict=True))["Tax"] == number


def test_a_reason_quoting_a_formula_looking_cell_is_inert() -> None:
    parsed = read(
        export(
            line("2", _quoted("=1+1")),
            line("3", day="@SUM(A1)"),
            line("4", "1", qty="-2+3"),
        )
    )
    rows = parsed.rejects_rows()[1:]
    assert [r[0] for r in rows] == ["2", "3", "4"]
    for row in rows:
        reason = row[2]
        assert not reason.startswith(FORMULA_START)
    assert "=1+1" in rows[0][2] and "@SUM(A1)" in rows[1][2] and "-2+3" in rows[2][2]


def test_inert_direct() -> None:
    assert inert("=1") == "'=1"
    assert inert("\r=1") == "'\r=1"
    assert inert("-196.2") == "-196.2"
    assert inert("+5") == "+5"
    assert inert("Bay hire") == "Bay hire"
    assert inert("") == ""


def test_formula_looking_header_names_come_back_inert() -> None:
    header = HEADER + ',"=HYPERLINK(""http://x"",""y"")"'
    parsed = read(export(line("2", "abc") + ",x", header=header))
    for cell in parsed.rejects_rows()[0]:
        assert not cell.startswith(FORMULA_START), cell


def test_the_finished_stream_is_utf8_csv_even_from_a_windows_1252_or_undecodable_file() -> None:
    data = export(line("1", "abc", item="Café"), line("2", "x", item="Voucher €50"), encoding="cp1252")
    data += b"3/1/2025,3,Bay\x81hire,1,10,0.9,10.9\n"
    parsed = read(data)
    rejects = RejectsFile(parsed.reader.columns)
    for r in parsed.rejections:
        rejects.add(r)
    stream = rejects.finish()
    assert stream.tell() == 0
    raw = stream.read()
    text = raw.decode("utf-8")  # strict: raises if not UTF-8
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert [r[0] for r in rows] == ["line", "2", "3", "4"]
    assert rows[1][5] == "Café" and rows[2][5] == "Voucher €50"
    assert rows[3][5].startswith("Bay") and rows[3][5].endswith("hire")
    assert rejects.count == 3


def test_a_large_rejects_file_spills_to_disk_and_reads_back_whole() -> None:
    columns = map_header(["Sale Date", "Sale ID", "Item name", "Item Total"])
    rejects = RejectsFile(columns)
    note = "n" * 900
    for n in range(2, 3002):
        cells = ("3/1/2025", str(n), note, "abc")
        rejects.add(Rejection(n, str(n), "Item Total 'abc' is not a number", cells))
    raw = rejects.finish().read()
    assert len(raw) > 2 << 20
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    assert len(rows) == 3001
    assert rows[-1] == ["3001", "3001", "Item Total 'abc' is not a number", "3/1/2025", "3001", note, "abc"]
