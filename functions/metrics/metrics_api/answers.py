"""Answers a route builds itself: JSON it shapes beyond its model's defaults, and CSV files.

Routes that can answer CSV (`format=csv`) return a `Response` rather than a model, so Powertools
does not validate a CSV body against a JSON schema; their JSON is still made from the models
(pydantic validates on construction) and documented by the same models in the OpenAPI document.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from aws_lambda_powertools.event_handler import Response, content_types
from pydantic import BaseModel

from salesmetrics.rejects import inert

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
Cell = str | int | Decimal | date | None


# How pydantic writes models.RAW_NUMBER + decimal text inside a JSON string.
_RAW_NUMBER = re.compile(r'"\\u0000number:(-?[0-9]+(?:\.[0-9]+)?)"')


def json_answer(model: BaseModel, *, exclude: set[str] | None = None) -> Response[str]:
    body = model.model_dump_json(exclude=exclude)
    if "\\u0000number:" in body:  # only a fractional quantity: exact decimal text as a JSON number
        body = _RAW_NUMBER.sub(r"\1", body)
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body)


def csv_cell(value: Cell) -> str:
    """Money arrives as its two-decimal text and stays a plain number; every other text is made
    inert for spreadsheets (a key such as `=HYPERLINK(...)` is shown, never run)."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):  # never sent; an int subclass, so refused explicitly
        raise TypeError("no booleans in CSV answers")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    return inert(value)


def csv_answer(filename: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Response[str]:
    """A CSV download: a header row with the JSON field names, then one row per entry."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)  # RFC 4180: quoted as needed, CRLF line ends
    writer.writerow(header)
    writer.writerows([csv_cell(value) for value in row] for row in rows)
    return Response(
        status_code=200,
        content_type=CSV_CONTENT_TYPE,
        body=out.getvalue(),
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def csv_content(description: str, example: str) -> dict[str, object]:
    """The `text/csv` entry of a route's documented 200 answer."""
    return {"schema": {"type": "string", "description": description}, "example": example}
