"""Which object names are sales exports: ending in `.csv` or `.csv.gz`, in any (ASCII) case.

S3 notification filters compare a key's suffix case-sensitively, so the template filters on the
uploads prefix only and this one rule decides — in the ingest function, the re-drive,
`POST /uploads` and the local drop folder alike — so `SALES.CSV` and `export.CSV.GZ` are ingested.
"""

from __future__ import annotations

import re

EXPORT_SUFFIXES = (".csv", ".csv.gz")

# For pydantic / OpenAPI: character classes rather than an inline (?i) flag, which JSON Schema
# clients' regex engines do not all accept. There `$` is the very end of the text.
EXPORT_NAME_PATTERN = r"\.[cC][sS][vV](\.[gG][zZ])?$"
# The same rule for Python's `re`, where `$` would also match before a trailing newline (an S3 key
# may end in one) and IGNORECASE would let non-ASCII letters such as 'ſ' stand in for 's'.
_EXPORT_NAME = re.compile(r"\.[cC][sS][vV](\.[gG][zZ])?\Z")

NOT_AN_EXPORT = "not a sales export: the name must end in .csv or .csv.gz (any case)"


def export_suffix(name: str) -> str | None:
    """The export suffix of `name`, lower-cased (`.csv` or `.csv.gz`), or None if it has none."""
    match = _EXPORT_NAME.search(name)
    if match is None:
        return None
    return ".csv.gz" if match.group(1) else ".csv"


def is_export_name(name: str) -> bool:
    """Does `name` (a file name or a whole S3 key) end in `.csv` or `.csv.gz`, in any case?"""
    return export_suffix(name) is not None
