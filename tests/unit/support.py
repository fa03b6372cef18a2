"""Helpers for the unit tests: hand-written exports in, sales / rejections / rejects CSV out."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from salesmetrics.parsing import ExportReader, Rejection, iter_byte_lines
from salesmetrics.rejects import RejectsFile
from salesmetrics.sales import Sale

# A small export with the columns most tests need, in the order real exports have them.
HEADER = "Sale Date,Sale ID,Item name,Quantity,Item price,Tax,Item Total"


def export(
    *lines: str, header: str | None = HEADER, eol: str = "\n", encoding: str = "utf-8", bom: bool = False
) -> bytes:
    """CSV bytes: the header (unless None), then `lines`, each ended with `eol`."""
    rows = ([header] if header is not None else []) + list(lines)
    data = "".join(line + eol for line in rows).encode(encoding)
    return b"\xef\xbb\xbf" + data if bom else data


def line(
    sale_id: str,
    total: str = "10.9",
    *,
    day: str = "3/1/2025",
    item: str = "Bay hire",
    qty: str = "1",
    price: str = "10",
    tax: str = "0.9",
) -> str:
    """One data line for HEADER (cells are written as given: quote them yourself if needed)."""
    return ",".join((day, sale_id, item, qty, price, tax, total))


@dataclass
class Parsed:
    reader: ExportReader
    items: list[Sale | Rejection]

    @property
    def sales(self) -> list[Sale]:
        return [i for i in self.items if isinstance(i, Sale)]

    @property
    def rejections(self) -> list[Rejection]:
        return [i for i in self.items if isinstance(i, Rejection)]

    def rejected(self, line_no: int) -> Rejection:
        (found,) = [r for r in self.rejections if r.line_no == line_no]
        return found

    def sale(self, sale_id: str) -> Sale:
        (found,) = [s for s in self.sales if s.sale_id == sale_id]
        return found

    def rejects_rows(self) -> list[list[str]]:
        """The rejects CSV the import would write, read back with csv.reader."""
        rejects = RejectsFile(self.reader.columns)
        for r in self.rejections:
            rejects.add(r)
        raw = rejects.finish().read()
        return list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))


def read(data: bytes) -> Parsed:
    """Parse an export the way ingest does: a streaming reader over the physical lines."""
    reader = ExportReader(iter_byte_lines(io.BytesIO(data)))
    items = []
    for item in reader:
        reader.count(item)
        items.append(item)
    return Parsed(reader, items)
