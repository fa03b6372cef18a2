"""The dashboard as its user sees it, in headless Chromium against `make demo`.

Every figure is checked against what the API answers for the same range (its IAM routes, which
the local gateway serves unsigned): the page must show the API's strings, grouped and with the
currency, and nothing it computed itself.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey
from moto.utilities.utils import load_resource
from playwright.sync_api import expect

from tests.browser.conftest import Demo, PageProblems, new_page, screenshot

MONEY_FIELDS = ("total_revenue_sgd", "net_revenue_sgd", "average_order_value_sgd", "refunds_sgd")
COUNT_FIELDS = ("order_count",)
DIMENSIONS = ("item", "location", "payment_method")
UPLOAD_NAME = "dashboard-upload.csv"
# Two sales in June 2025 (the sample has none then) and a row whose date is not one.
UPLOAD = (
    "Sale Date,Client ID,Sale ID,Item name,Location,Item price (excluding tax),Quantity,"
    "Subtotal (excluding tax),Discount amount,Tax,Item Total,Payment Method\r\n"
    "06/02/2025,900001,99000001,Dashboard Test Lesson,Golf - experience,100,1,100,0,9,109.00,"
    "Credit card (Visa/MC-Keyed)\r\n"
    "06/03/2025,900002,99000002,Dashboard Test Credits,Online Store,20.5,2,41,0,3.69,44.69,"
    "Misc. (Paynow/Bank Transfer)\r\n"
    "not a date,900003,99000003,Broken Row,Online Store,1,1,1,0,0,1.00,Cash\r\n"
)


# --------------------------------------------------------------------------- helpers


def money_text(value: str) -> str:
    amount = Decimal(value)
    return ("-" if value.startswith("-") else "") + f"SGD {abs(amount):,.2f}"


def count_text(value: Any) -> str:
    return f"{int(value):,}"


def sign_in(page: Any, demo: Demo, *, hash_: str = "") -> None:
    page.goto(demo.url + hash_)
    page.get_by_label("Email").fill(demo.email)
    page.get_by_label("Password", exact=True).fill(demo.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("body[data-loaded]", timeout=60_000)


def loaded(page: Any) -> int:
    return int(page.get_attribute("body", "data-loaded") or 0)


def wait_reloaded(page: Any, before: int) -> None:
    expect(page.locator("body")).to_have_attribute("data-loaded", str(before + 1), timeout=60_000)


def show_range(page: Any, start: str, end: str) -> None:
    before = loaded(page)
    page.fill('input[name="start"]', start)
    page.fill('input[name="end"]', end)
    page.get_by_role("button", name="Show").click()
    wait_reloaded(page, before)


def last_day_with_sales(demo: Demo) -> date:
    days = demo.json(
        "/metrics/revenue/series",
        {"start": (date.today() - timedelta(days=3000)).isoformat(), "end": date.today().isoformat()},
    )
    with_sales = [p for p in days["periods"] if p["order_count"] or p["refund_count"] or p["revenue_sgd"] != "0.00"]
    assert with_sales, "the demo's sample must be in"
    return date.fromisoformat(with_sales[-1]["start"])


def assert_figures_match_api(page: Any, demo: Demo, start: str, end: str) -> dict[str, Any]:
    api = demo.json("/metrics/revenue", {"start": start, "end": end, "compare": "previous_period"})
    assert page.input_value('input[name="start"]') == start
    assert page.input_value('input[name="end"]') == end
    for field in (*MONEY_FIELDS, *COUNT_FIELDS):
        figure = page.locator(f'[data-metric="{field}"]')
        assert figure.get_attribute("data-value") == str(api[field]), field
        shown = money_text(api[field]) if field in MONEY_FIELDS else count_text(api[field])
        assert figure.inner_text() == shown, field
        change = api["comparison"]["change_pct"][field]
        assert page.get_attribute(f'[data-change="{field}"]', "data-value") == (change or ""), field
        assert page.inner_text(f'[data-change="{field}"]') == (
            "no previous figure" if change is None else ("" if change.startswith("-") else "+") + change + "%"
        )
        previous = api["comparison"][field]
        assert page.get_attribute(f'[data-previous="{field}"]', "data-value") == str(previous), field
    compare = page.locator("#range-compare")
    assert (compare.get_attribute("data-start"), compare.get_attribute("data-end")) == (
        api["comparison"]["start"],
        api["comparison"]["end"],
    )
    return dict(api)


def assert_series_match_api(page: Any, demo: Demo, start: str, end: str, granularity: str) -> list[dict[str, Any]]:
    periods = demo.json("/metrics/revenue/series", {"start": start, "end": end, "granularity": granularity})["periods"]
    chart = page.locator('[data-chart="series"]')
    expect(chart).to_have_attribute("data-granularity", granularity)
    assert chart.get_attribute("data-points") == str(len(periods))
    assert chart.locator("canvas").count() == 1, "uPlot drew the chart"
    rows = page.locator('[data-table="series"] tbody tr')
    assert rows.count() == len(periods)
    for index, period in enumerate(periods):
        row = rows.nth(index)
        assert (row.get_attribute("data-start"), row.get_attribute("data-end")) == (period["start"], period["end"])
        for field in ("revenue_sgd", "average_order_value_sgd", "refunds_sgd"):
            assert row.locator(f'[data-field="{field}"]').get_attribute("data-value") == period[field]
        assert row.locator('[data-field="order_count"]').get_attribute("data-value") == str(period["order_count"])
    return list(periods)


def assert_breakdown_matches_api(page: Any, demo: Demo, dimension: str, start: str, end: str) -> None:
    api = demo.json(f"/metrics/revenue/by/{dimension}", {"start": start, "end": end, "limit": 10})
    rows = page.locator(f'[data-table="{dimension}"] tbody tr')
    expected = [*api["rows"], *([{"key": "(others)", **api["others"]}] if api["others"] else [])]
    assert rows.count() == len(expected), dimension
    for index, want in enumerate(expected):
        row = rows.nth(index)
        assert row.get_attribute("data-key") == want["key"]
        revenue = row.locator('[data-field="revenue_sgd"]')
        assert revenue.get_attribute("data-value") == want["revenue_sgd"]
        assert revenue.inner_text() == money_text(want["revenue_sgd"])
        assert row.locator('[data-field="quantity"]').get_attribute("data-value") == str(want["quantity"])


def moto_key() -> RSAKey:
    return RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


# --------------------------------------------------------------------------- sign-in and figures


def test_signing_in_shows_the_api_figures_for_the_last_30_days_with_data(page: Any, demo: Demo) -> None:
    page.goto(demo.url)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.locator("#app").is_hidden(), "no figures before signing in"
    sign_in(page, demo)
    end = last_day_with_sales(demo)
    start = end - timedelta(days=29)
    assert_figures_match_api(page, demo, start.isoformat(), end.isoformat())
    assert_series_match_api(page, demo, start.isoformat(), end.isoformat(), "day")
    expect(page.locator("#who-name")).to_have_text(demo.email)
    screenshot(page, "signed-in-desktop")


def test_a_wrong_password_says_so_and_shows_no_figures(page: Any, demo: Demo) -> None:
    page.goto(demo.url)
    page.get_by_label("Email").fill(demo.email)
    page.get_by_label("Password", exact=True).fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signin-error")).to_have_text("Incorrect email or password.")
    assert page.locator("#app").is_hidden()


def test_signing_in_works_with_the_keyboard_alone(page: Any, demo: Demo) -> None:
    page.goto(demo.url)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_label("Email")).to_be_focused()  # where the keyboard starts
    page.keyboard.type(demo.email)
    page.keyboard.press("Tab")
    page.keyboard.type(demo.password)
    page.keyboard.press("Enter")
    page.wait_for_selector("body[data-loaded]", timeout=60_000)
    # The granularity switch is reachable and usable without a mouse too.
    page.focus('input[name="granularity"][value="day"]')
    page.keyboard.press("ArrowRight")
    expect(page.locator('[data-chart="series"]')).to_have_attribute("data-granularity", "week")


def test_changing_the_range_makes_every_figure_follow(page: Any, demo: Demo) -> None:
    sign_in(page, demo)
    first = assert_figures_match_api(
        page, demo, page.input_value('input[name="start"]'), page.input_value('input[name="end"]')
    )
    show_range(page, "2025-03-01", "2025-03-10")
    second = assert_figures_match_api(page, demo, "2025-03-01", "2025-03-10")
    assert second["total_revenue_sgd"] != first["total_revenue_sgd"], "a different range, different figures"
    assert_series_match_api(page, demo, "2025-03-01", "2025-03-10", "day")
    for dimension in DIMENSIONS:
        assert_breakdown_matches_api(page, demo, dimension, "2025-03-01", "2025-03-10")
    assert "#start=2025-03-01&end=2025-03-10" in page.url, "the range survives a reload"


def test_a_range_ending_before_it_starts_is_refused_on_the_page(page: Any, demo: Demo) -> None:
    sign_in(page, demo)
    before = page.get_attribute('[data-metric="total_revenue_sgd"]', "data-value")
    page.fill('input[name="start"]', "2025-03-10")
    page.fill('input[name="end"]', "2025-03-01")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#range-error")).to_have_text("The start date is after the end date.")
    assert page.get_attribute('[data-metric="total_revenue_sgd"]', "data-value") == before


def test_switching_the_granularity_redraws_the_chart_from_the_series_route(page: Any, demo: Demo) -> None:
    sign_in(page, demo, hash_="#start=2025-03-01&end=2025-03-31")
    days = assert_series_match_api(page, demo, "2025-03-01", "2025-03-31", "day")
    assert len(days) == 31
    page.get_by_text("Week", exact=True).click()
    weeks = assert_series_match_api(page, demo, "2025-03-01", "2025-03-31", "week")
    assert len(weeks) == 6  # 2025-03-01 is a Saturday: that weekend, four full weeks, and Monday 31
    expect(page.locator("#chart-unit")).to_have_text("week")
    page.get_by_text("Month", exact=True).click()
    months = assert_series_match_api(page, demo, "2025-03-01", "2025-03-31", "month")
    assert [m["revenue_sgd"] for m in months] == [
        demo.json("/metrics/revenue", {"start": "2025-03-01", "end": "2025-03-31"})["total_revenue_sgd"]
    ]
    screenshot(page, "chart-by-month")


def test_breakdown_tables_equal_the_api_and_download_as_its_csv(page: Any, demo: Demo) -> None:
    sign_in(page, demo, hash_="#start=2025-03-01&end=2025-03-31")
    for dimension in DIMENSIONS:
        assert_breakdown_matches_api(page, demo, dimension, "2025-03-01", "2025-03-31")
        with page.expect_download() as download:
            page.locator(f'[data-csv="{dimension}"]').click()
        saved = Path(download.value.path()).read_bytes()
        api = demo.get(
            f"/metrics/revenue/by/{dimension}",
            {"start": "2025-03-01", "end": "2025-03-31", "limit": 1000, "format": "csv"},
        )
        assert saved == api.body, dimension
        assert download.value.suggested_filename.endswith(".csv")
        assert saved.startswith(b"key,revenue_sgd,")


# --------------------------------------------------------------------------- imports and upload


def test_upload_shows_progress_and_follows_its_import_to_the_outcome(page: Any, demo: Demo, tmp_path: Path) -> None:
    sign_in(page, demo)
    imports_before = demo.json("/imports")["imports"]
    assert page.locator('[data-table="imports"] tbody tr').count() == len(imports_before)
    export = tmp_path / UPLOAD_NAME
    export.write_text(UPLOAD, encoding="utf-8")
    page.get_by_label("Sales export (.csv, .csv.gz)").set_input_files(str(export))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-progress")).to_have_attribute("data-done", "true", timeout=60_000)
    assert page.get_attribute("#upload-progress", "value") == "100"
    expect(page.locator("#upload-message")).to_have_attribute("data-status", "PARTIAL", timeout=120_000)
    expect(page.locator("#upload-message")).to_contain_text("2 rows imported, 1 rejected")

    record = next(i for i in demo.json("/imports")["imports"] if i["key"].endswith(UPLOAD_NAME))
    assert (record["status"], record["rows_ingested"], record["rows_rejected"]) == ("PARTIAL", 2, 1)
    row = page.locator(f'[data-table="imports"] tbody tr[data-import="{record["import_id"]}"]')
    expect(row).to_have_attribute("data-status", "PARTIAL")
    expect(row.locator('[data-field="rows_rejected"]')).to_have_text("1")
    screenshot(page, "upload-finished")

    # The rejects link downloads what GET /imports/{id}/rejects redirects to.
    with page.expect_download() as download:
        row.get_by_role("button", name="Rejected rows").click()
    rejects = Path(download.value.path()).read_bytes()
    assert rejects == demo.get(f"/imports/{record['import_id']}/rejects").body
    assert b"not a date" in rejects or b"Sale Date" in rejects

    # The uploaded sales are in the figures.
    show_range(page, "2025-06-01", "2025-06-30")
    june = assert_figures_match_api(page, demo, "2025-06-01", "2025-06-30")
    assert (june["total_revenue_sgd"], june["order_count"]) == ("153.69", 2)
    assert_breakdown_matches_api(page, demo, "item", "2025-06-01", "2025-06-30")


def test_an_upload_the_api_refuses_says_why(page: Any, demo: Demo, tmp_path: Path) -> None:
    sign_in(page, demo)
    wrong = tmp_path / "notes.txt"
    wrong.write_text("not an export", encoding="utf-8")
    page.get_by_label("Sales export (.csv, .csv.gz)").set_input_files(str(wrong))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-message")).to_contain_text("The upload failed:")
    expect(page.locator("#upload-message")).to_have_attribute("data-kind", "error")


def test_cancelling_a_retraction_sends_nothing_and_changes_nothing(page: Any, demo: Demo) -> None:
    sign_in(page, demo)
    figures = page.get_attribute('[data-metric="total_revenue_sgd"]', "data-value")
    row = page.locator('[data-table="imports"] tbody tr').first
    deletes: list[str] = []
    page.on("request", lambda request: deletes.append(request.url) if request.method == "DELETE" else None)
    row.get_by_role("button", name="Retract").click()
    dialog = page.locator("#retract-dialog")
    expect(dialog).to_be_visible()
    page.get_by_role("button", name="Keep it").click()
    expect(dialog).to_be_hidden()
    assert deletes == [], "cancelling sends nothing"
    assert page.get_attribute('[data-metric="total_revenue_sgd"]', "data-value") == figures
    expect(row).not_to_have_attribute("data-status", "RETRACTED")


# --------------------------------------------------------------------------- tokens


def test_the_pages_api_calls_get_401_without_a_token_or_with_an_expired_or_forged_one(demo: Demo) -> None:
    tokens = demo.sign_in()
    path, params = "/app/metrics/revenue", {"start": "2025-03-01", "end": "2025-03-31"}
    claims = claims_of(tokens["AccessToken"])
    expired = jwt.encode(
        {"alg": "RS256", "kid": "dummy"},
        {**claims, "iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600},
        moto_key(),
    )
    forged = jwt.encode({"alg": "RS256", "kid": "dummy"}, claims, RSAKey.generate_key(2048))
    for name, headers in (
        ("no token", {}),
        ("expired", {"Authorization": f"Bearer {expired}"}),
        ("forged", {"Authorization": f"Bearer {forged}"}),
        ("IAM-style header", {"Authorization": "AWS4-HMAC-SHA256 Credential=x"}),
    ):
        answer = demo.get(path, params, headers)
        assert (answer.status, json.loads(answer.body)) == (401, {"message": "Unauthorized"}), name
    for token in (tokens["AccessToken"], tokens["IdToken"]):
        answer = demo.get(path, params, {"Authorization": f"Bearer {token}"})
        assert answer.status == 200
        assert json.loads(answer.body) == demo.json("/metrics/revenue", params), "the same handler as IAM's"


def test_an_expired_session_sends_the_user_back_to_sign_in(page: Any, demo: Demo) -> None:
    claims = claims_of(demo.sign_in()["AccessToken"])
    expired = jwt.encode(
        {"alg": "RS256", "kid": "dummy"},
        {**claims, "iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600},
        moto_key(),
    )
    session = {"token": expired, "email": demo.email, "expiresAt": int(time.time() * 1000) + 3_600_000}
    page.context.add_init_script(
        f"sessionStorage.setItem('salesmetrics.dashboard.session', {json.dumps(json.dumps(session))});"
    )
    page.goto(demo.url)
    expect(page.locator("#signin-error")).to_have_text("Your session has ended: sign in again.", timeout=30_000)
    assert page.locator("#app").is_hidden()


# --------------------------------------------------------------------------- small screens


def test_the_dashboard_fits_a_375px_wide_phone(browser: Any, demo: Demo, problems: PageProblems) -> None:
    phone = new_page(browser, problems, width=375, height=812)
    try:
        sign_in(phone, demo, hash_="#start=2025-03-01&end=2025-03-31")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375, "no sideways scrolling"
        for field in (*MONEY_FIELDS, *COUNT_FIELDS):
            box = phone.locator(f'[data-metric="{field}"]').bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375, field
        screenshot(phone, "signed-in-375px")
    finally:
        phone.context.close()
    assert not problems.messages, problems.messages


# --------------------------------------------------------------------------- undo (issue 11)

# Sales in July 2025, where neither the sample nor the other upload has any.
UNDO_NAME = "dashboard-undo.csv"
UNDO = (
    "Sale Date,Client ID,Sale ID,Item name,Location,Item price (excluding tax),Quantity,"
    "Subtotal (excluding tax),Discount amount,Tax,Item Total,Payment Method\r\n"
    "07/07/2025,900011,99100001,Undo Test Lesson,Golf - experience,50,1,50,0,4.50,54.50,Cash\r\n"
    "07/08/2025,900012,99100002,Undo Test Credits,Online Store,10,3,30,0,2.70,32.70,Cash\r\n"
)


def test_an_imports_changes_are_listed_and_retracting_it_brings_the_figures_back(
    page: Any, demo: Demo, tmp_path: Path
) -> None:
    july = ("2025-07-01", "2025-07-31")
    before = demo.json("/metrics/revenue", {"start": july[0], "end": july[1]})
    sign_in(page, demo, hash_=f"#start={july[0]}&end={july[1]}")
    export = tmp_path / UNDO_NAME
    export.write_text(UNDO, encoding="utf-8")
    page.get_by_label("Sales export (.csv, .csv.gz)").set_input_files(str(export))
    shown = loaded(page)
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-message")).to_have_attribute("data-status", "SUCCEEDED", timeout=120_000)
    wait_reloaded(page, shown)  # the outcome is told first; the figures follow it
    after = assert_figures_match_api(page, demo, *july)
    assert after["total_revenue_sgd"] != before["total_revenue_sgd"]

    record = next(i for i in demo.json("/imports")["imports"] if i["key"].endswith(UNDO_NAME))
    row = page.locator(f'[data-table="imports"] tbody tr[data-import="{record["import_id"]}"]')
    row.get_by_role("button", name="Changes").click()
    changes = demo.json(f"/imports/{record['import_id']}/changes", {"limit": 50})["changes"]
    assert {c["sale_id"] for c in changes} == {"99100001", "99100002"}
    listed = page.locator('[data-table="changes"] tbody tr')
    expect(listed).to_have_count(len(changes))
    for index, change in enumerate(changes):
        assert listed.nth(index).get_attribute("data-sale") == change["sale_id"]
        assert listed.nth(index).get_attribute("data-change") == change["change"]
    screenshot(page, "import-changes")

    row.get_by_role("button", name="Retract").click()
    shown = loaded(page)
    page.locator("#retract-confirm").click()
    expect(page.locator("#notice")).to_contain_text("Retracted", timeout=120_000)
    wait_reloaded(page, shown)
    expect(row).to_have_attribute("data-status", "RETRACTED")
    assert row.get_by_role("button", name="Retract").count() == 0
    back = assert_figures_match_api(page, demo, *july)
    assert {k: back[k] for k in before if k != "comparison"} == {k: before[k] for k in before if k != "comparison"}
    screenshot(page, "import-retracted")
