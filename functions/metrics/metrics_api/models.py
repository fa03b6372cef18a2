"""The API's request and response types. They are the OpenAPI document's schemas: what a field
says here is what the document says (docs/openapi.json is generated from them)."""

# No `from __future__ import annotations`: Powertools reads these types at runtime, from the
# route signatures, to validate requests and to build the document.
import re
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

from salesmetrics.config import MAX_UPLOAD_URL_TTL_SECONDS
from salesmetrics.filenames import EXPORT_NAME_PATTERN
from salesmetrics.imports import ImportRecord, ImportStatus

MAX_FILENAME_LENGTH = 200
UPLOAD_CONTENT_TYPE: Final = "text/csv"
MONEY_DESCRIPTION = (
    "Money in the reporting currency, rounded half-up to cents, as a string with exactly two "
    'decimals (e.g. "34.88", "-12.00"). A string, not a JSON number, because most JSON parsers '
    "read numbers as binary floats, which cannot hold most cent amounts exactly."
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _strict_iso_date(value: Any) -> Any:
    # pydantic alone also takes unix timestamps ("0" is 1970-01-01) and datetimes for a date;
    # the API promises YYYY-MM-DD and nothing else.
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_strict_iso_date)]
Money = Annotated[str, Field(pattern=r"^-?[0-9]+\.[0-9]{2}$", description=MONEY_DESCRIPTION, examples=["34.88"])]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


# -- errors ----------------------------------------------------------------------------------------


class ErrorLocation(StrEnum):
    QUERY = "query"
    PATH = "path"
    BODY = "body"
    HEADER = "header"


class ErrorDetail(_Model):
    parameter: str = Field(description="The query parameter, path parameter or body field at fault.")
    location: ErrorLocation = Field(description="Where it was: query, path, body or header.")
    type: str = Field(description="A machine-readable error type (pydantic's names).")
    message: str


class ErrorResponse(_Model):
    message: str = Field(description="What was wrong; names the bad parameter for a 400.")
    errors: list[ErrorDetail] | None = Field(default=None, description="Every problem found, for 400s.")


# -- revenue ---------------------------------------------------------------------------------------

# comparisons (GET /metrics/revenue?compare=)

CHANGE_DESCRIPTION = (
    "(current - previous) / |previous| x 100 of the exact figures, rounded half-up to one decimal, as a "
    'string ("12.5", "-3.0"); null when the previous value is 0.'
)
ChangeText = Annotated[str, Field(pattern=r"^-?[0-9]+\.[0-9]$", examples=["12.5"])]


class Comparison(StrEnum):
    PREVIOUS_PERIOD = "previous_period"
    PREVIOUS_YEAR = "previous_year"


class ChangePct(_Model):
    total_revenue_sgd: ChangeText | None = Field(description=CHANGE_DESCRIPTION)
    net_revenue_sgd: ChangeText | None = Field(description=CHANGE_DESCRIPTION)
    order_count: ChangeText | None = Field(description=CHANGE_DESCRIPTION)
    average_order_value_sgd: ChangeText | None = Field(
        description=CHANGE_DESCRIPTION + " From the exact averages (order value / orders), not the rounded ones."
    )
    refunds_sgd: ChangeText | None = Field(
        description=CHANGE_DESCRIPTION + " Refunds are negative: more "
        "refunded is a negative change, less refunded a positive one."
    )


class ComparisonResponse(_Model):
    start: date = Field(description="First day of the range compared with.")
    end: date = Field(description="Last day of the range compared with.")
    total_revenue_sgd: Money
    net_revenue_sgd: Money
    tax_sgd: Money
    discounts_sgd: Money
    order_count: int = Field(ge=0)
    average_order_value_sgd: Money
    refund_count: int = Field(ge=0)
    refunds_sgd: Money
    change_pct: ChangePct = Field(description="Change from the compared range to the requested one, in percent.")


class RevenueResponse(_Model):
    start: date
    end: date
    currency: str = Field(examples=["SGD"])
    total_revenue_sgd: Money = Field(
        description="Sum of the totals of every sale in the range "
        "(item totals after discount, including tax; refunds "
        "included, so they reduce it). " + MONEY_DESCRIPTION
    )
    net_revenue_sgd: Money = Field(description="Total revenue minus tax. " + MONEY_DESCRIPTION)
    tax_sgd: Money = Field(description="Sum of the Tax column. " + MONEY_DESCRIPTION)
    discounts_sgd: Money = Field(description="Sum of the Discount amount column. " + MONEY_DESCRIPTION)
    order_count: int = Field(ge=0, description="Sales whose total is > 0.")
    average_order_value_sgd: Money = Field(
        description="Sum of order totals / order_count, 0.00 without orders. " + MONEY_DESCRIPTION
    )
    refund_count: int = Field(
        ge=0, description="Sales whose total is < 0. Zero-total sales are neither orders nor refunds."
    )
    refunds_sgd: Money = Field(
        description="Sum of the totals of refund sales: zero or NEGATIVE (a refund "
        'of 50.00 shows as "-50.00"). ' + MONEY_DESCRIPTION
    )
    comparison: ComparisonResponse | None = Field(
        None,
        description="Present only with `compare`: the same figures over the range compared with "
        "(previous_period: as many days, ending the day before start; previous_year: the "
        "same dates a year earlier, 29 February as 28 February) and the change in percent.",
    )


class DayRevenueResponse(_Model):
    date: date
    revenue_sgd: Money
    order_count: int = Field(ge=0)
    average_order_value_sgd: Money


class DailyRevenueResponse(_Model):
    start: date
    end: date
    currency: str = Field(examples=["SGD"])
    days: list[DayRevenueResponse] = Field(
        description="Every day of the range in date order; zeros for days without sales."
    )


# -- series (GET /metrics/revenue/series) ---------------------------------------------------------


class Granularity(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class OutputFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


class PeriodRevenueResponse(_Model):
    start: date = Field(description="First day of the period (the range's start for the first one).")
    end: date = Field(description="Last day of the period (the range's end for the last one).")
    revenue_sgd: Money
    order_count: int = Field(ge=0)
    average_order_value_sgd: Money
    refund_count: int = Field(ge=0)
    refunds_sgd: Money


class RevenueSeriesResponse(_Model):
    start: date
    end: date
    currency: str = Field(examples=["SGD"])
    granularity: Granularity
    periods: list[PeriodRevenueResponse] = Field(
        description="Every period of the range in order (days; ISO weeks, Monday to Sunday; calendar "
        "months), the first and last clipped to the range; zeros where nothing sold."
    )


# -- breakdowns (GET /metrics/revenue/by/{dimension}) ---------------------------------------------


class Dimension(StrEnum):
    ITEM = "item"
    LOCATION = "location"
    PAYMENT_METHOD = "payment_method"


# A fractional quantity leaves the model as this marker plus its decimal text; `json_answer` writes
# it as a bare JSON number, so no float ever holds it.
RAW_NUMBER = "\x00number:"


def _number(value: Decimal) -> int | str:
    if value == value.to_integral_value():
        return int(value)
    return RAW_NUMBER + format(value, "f")  # rare: 0.5 of an hour


Quantity = Annotated[
    Decimal,
    PlainSerializer(_number, return_type=int | str, when_used="json"),
    WithJsonSchema(
        {
            "type": "number",
            "description": "Sum of the Quantity column (a JSON number); refunds count negative.",
            "examples": [3],
        }
    ),
]
NONE_KEY_TEXT = 'the key "(none)" stands for an empty value'


class BreakdownRow(_Model):
    key: str = Field(description=f"The item name (trimmed), location or payment method; {NONE_KEY_TEXT}.")
    revenue_sgd: Money = Field(description="Sum of the Item Total of the lines with this key. " + MONEY_DESCRIPTION)
    net_revenue_sgd: Money = Field(description="Item Total minus Tax of those lines. " + MONEY_DESCRIPTION)
    quantity: Quantity
    line_count: int = Field(ge=0, description="Lines with this key.")
    sale_count: int = Field(ge=0, description="Distinct sales with at least one line with this key.")


class BreakdownOthers(_Model):
    key_count: int = Field(ge=1, description="How many keys past the limit this sums.")
    revenue_sgd: Money
    net_revenue_sgd: Money
    quantity: Quantity
    line_count: int = Field(ge=0)


class BreakdownResponse(_Model):
    start: date
    end: date
    currency: str = Field(examples=["SGD"])
    dimension: Dimension
    total_revenue_sgd: Money = Field(
        description="Revenue of the range, as GET /metrics/revenue gives it: "
        "the exact sum of every row and others. " + MONEY_DESCRIPTION
    )
    rows: list[BreakdownRow] = Field(
        description="At most `limit` keys, by revenue (rounded to cents) descending, then key ascending."
    )
    others: BreakdownOthers | None = Field(description="Every key past the limit, summed; null when none.")


# -- imports ---------------------------------------------------------------------------------------


class ImportResponse(_Model):
    import_id: str
    bucket: str
    key: str
    status: ImportStatus = Field(
        description="IN_PROGRESS, SUCCEEDED, PARTIAL (some rows rejected), FAILED (the file as a whole is unusable), "
        "RETRACTING (its retraction is running) or RETRACTED (what it wrote is undone)."
    )
    rows_total: int = Field(ge=0)
    rows_ingested: int = Field(ge=0)
    rows_rejected: int = Field(ge=0)
    sales_created: int = Field(ge=0)
    sales_updated: int = Field(ge=0)
    sales_unchanged: int = Field(ge=0)
    started_at: str = Field(description="ISO 8601 UTC timestamp.")
    finished_at: str | None = Field(description="ISO 8601 UTC timestamp; null while in progress.")
    message: str
    rejects_key: str | None = Field(
        description="S3 key of the CSV of rejected rows (line number and reason), in the same bucket; null when none."
    )
    retracted_at: str | None = Field(
        default=None, description="ISO 8601 UTC timestamp of the end of its retraction; null unless RETRACTED."
    )
    sales_removed: int = Field(default=0, ge=0, description="Sales its retraction deleted (no other upload held them).")
    sales_restored: int = Field(
        default=0, ge=0, description="Sales its retraction put back to the version of an earlier upload."
    )

    @classmethod
    def of(cls, record: ImportRecord) -> "ImportResponse":
        data = record.to_dict()
        return cls.model_validate({name: data.get(name) for name in cls.model_fields})


class SaleChangeKind(StrEnum):
    CREATED = "created"
    UPDATED = "updated"


class SaleChangeResponse(_Model):
    sale_id: str
    change: SaleChangeKind = Field(description="created: new sale; updated: its content changed or it moved date.")
    sale_date: IsoDate
    previous_sale_date: IsoDate | None = Field(description="The date before this import; null for created sales.")
    total_sgd: Money
    previous_total_sgd: Money | None = Field(description="The total before this import; null for created sales.")


class ChangesPage(_Model):
    import_id: str
    changes: list[SaleChangeResponse] = Field(description="In the order the import wrote them.")
    next_token: str | None = Field(description="Pass as `next_token` for the next page; null on the last page.")


class ImportsPage(_Model):
    imports: list[ImportResponse] = Field(description="Newest first.")
    next_token: str | None = Field(description="Pass as `next_token` for the next page; null on the last page.")


# -- uploads ---------------------------------------------------------------------------------------


class UploadRequest(_Model):
    filename: str = Field(
        min_length=1,
        max_length=MAX_FILENAME_LENGTH,
        pattern=EXPORT_NAME_PATTERN,
        description="Name of the CSV file being uploaded; must end with .csv or "
        ".csv.gz (any case). Only used to make the key readable.",
        examples=["sales-2025-03.csv"],
    )


class UploadResponse(_Model):
    upload_url: str = Field(
        description="Presigned S3 URL: PUT the file's bytes to it with header `Content-Type: text/csv`."
    )
    key: str = Field(description="The S3 key the file will have (under the uploads prefix).")
    expires_in: int = Field(ge=1, le=MAX_UPLOAD_URL_TTL_SECONDS, description="Seconds until upload_url expires.")
    content_type: Literal["text/csv"] = Field(
        description="The Content-Type the PUT must send (it is signed).", examples=[UPLOAD_CONTENT_TYPE]
    )
    method: Literal["PUT"] = Field(description="The HTTP method to use with upload_url.", examples=["PUT"])


# -- health (served by the health function; described here so one document covers the API) --------


class HealthStatus(StrEnum):
    OK = "ok"
    UNAVAILABLE = "unavailable"


class HealthResponse(_Model):
    status: HealthStatus = Field(description="ok, or unavailable when a check failed.")
    checks: dict[str, str] = Field(description="Each check: ok, or error: <short reason>.")


def documented(model: type[BaseModel], description: str, code: int = 200) -> dict[int, Any]:
    """A route's `responses` entry for its answer."""
    return {code: {"description": description, "content": {"application/json": {"model": model}}}}
