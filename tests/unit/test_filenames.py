"""The one export-name rule: `.csv` or `.csv.gz`, in any ASCII case, at the very end of the name."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field, ValidationError

from salesmetrics.filenames import EXPORT_NAME_PATTERN, export_suffix, is_export_name

EXPORTS = {
    "uploads/x/sales.csv": ".csv",
    "uploads/x/SALES.CSV": ".csv",
    "uploads/x/sales.Csv": ".csv",
    "uploads/x/export.csv.gz": ".csv.gz",
    "uploads/x/EXPORT.CSV.GZ": ".csv.gz",
    "uploads/x/export.cSv.Gz": ".csv.gz",
    "uploads/x/notes.txt.csv": ".csv",
    "March sales+refunds.csv": ".csv",
    ".csv": ".csv",
}
NOT_EXPORTS = [
    "uploads/x/notes.txt",
    "uploads/x/sales.xlsx",
    "uploads/x/sales.tsv",
    "uploads/x/sales.gz",
    "uploads/x/sales.csv.bak",
    "uploads/x/sales.csv.gz.tmp",
    "uploads/x/sales.csv.zip",
    "uploads/x/sales.csv.gz.gz",
    "uploads/x/salescsv",
    "uploads/x/sales.csv ",
    "uploads/x/sales.csv\n",  # S3 keys may hold a newline; `$` would have matched before it
    "uploads/x/sales.c\u017fv",  # LATIN SMALL LETTER LONG S: IGNORECASE would take it for 's'
    "uploads/2025/03/",  # a console "folder"
    "",
]


class _Upload(BaseModel):
    filename: str = Field(pattern=EXPORT_NAME_PATTERN)


def _pydantic_accepts(name: str) -> bool:
    try:
        _Upload(filename=name)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(("name", "suffix"), sorted(EXPORTS.items()))
def test_csv_and_csv_gz_names_in_any_case_are_exports(name: str, suffix: str) -> None:
    assert is_export_name(name)
    assert export_suffix(name) == suffix


@pytest.mark.parametrize("name", NOT_EXPORTS)
def test_other_names_are_not_exports(name: str) -> None:
    assert not is_export_name(name)
    assert export_suffix(name) is None


@pytest.mark.parametrize("name", [*EXPORTS, *NOT_EXPORTS])
def test_post_uploads_pattern_and_the_ingest_rule_agree(name: str) -> None:
    """POST /uploads validates with the pattern (pydantic's regex engine), ingest with Python's."""
    assert _pydantic_accepts(name) is is_export_name(name)
