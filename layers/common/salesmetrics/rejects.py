"""The rejects file: every rejected line with its line number and reason, safe to open in a
spreadsheet (cells that would run as formulas are made inert)."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from typing import IO, TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:  # the metrics API imports `inert` alone; the parser is the ingest's
    from .columns import ColumnMap
    from .parsing import Rejection

# Spreadsheet apps evaluate cells starting with these; a leading apostrophe makes them text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(r"[-+]?\d[\d,]*(\.\d+)?\Z")


def inert(cell: str) -> str:
    if cell.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(cell):
        return "'" + cell
    return cell


class RejectsFile:
    """Rows accumulate in a temporary file: memory stays small however many lines are rejected."""

    def __init__(self, columns: ColumnMap) -> None:
        personal = columns.personal_positions()
        self._keep = [i for i in range(columns.width) if i not in personal]
        self._buffer: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115
        self._text = io.TextIOWrapper(self._buffer, encoding="utf-8", newline="")
        self._writer = csv.writer(self._text)
        self._writer.writerow(["line", "sale_id", "reason", *(inert(columns.header[i]) for i in self._keep)])
        self.count = 0

    def add(self, rejection: Rejection) -> None:
        cells = rejection.cells
        kept = [cells[i] if i < len(cells) else "" for i in self._keep]
        self._writer.writerow(
            [str(rejection.line_no), inert(rejection.sale_id), inert(rejection.reason), *(inert(c) for c in kept)]
        )
        self.count += 1

    def finish(self) -> BinaryIO:
        """The finished CSV, positioned at its start, for upload."""
        self._text.flush()
        self._text.detach()
        self._buffer.seek(0)
        return self._buffer  # type: ignore[return-value]
