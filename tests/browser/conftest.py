"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against `make demo`
run as a subprocess (the embedded AWS, the gateway with the JWT authorizer, the page).

Chromium must be at /usr/bin/chromium (`make test` installs it as root, `.ci/run` too); without
it these tests fail, they are never skipped. Screenshots of each test's last state go to
artefacts/browser/ (gitignored).
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "artefacts" / "browser"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_LINES = 800
DEMO_START_SECONDS = 300.0
_DASHBOARD_LINE = re.compile(r"^dashboard: (?P<url>\S+)  sign in as (?P<email>\S+) / (?P<password>\S+)$")
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # One demo per run: every browser test goes to the same xdist worker (`--dist loadgroup`).
    for item in items:
        if "tests/browser/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.xdist_group("browser"))


@dataclass(slots=True)
class Demo:
    url: str  # with the trailing slash
    email: str
    password: str
    drop_folder: Path

    @property
    def base(self) -> str:
        return self.url.rstrip("/")

    def get(self, path: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Answer:
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        request = urllib.request.Request(url, headers=headers or {})
        try:
            with _OPENER.open(request, timeout=60) as response:
                return Answer(response.status, response.read(), dict(response.headers))
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, exc.read(), dict(exc.headers))

    def json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        answer = self.get(path, params)
        assert answer.status == 200, (path, params, answer.status, answer.body[:300])
        return json.loads(answer.body)

    def sign_in(self) -> dict[str, Any]:
        """Tokens for the demo user, through the page's own Cognito proxy."""
        config = self.json("/config.json")
        body = json.dumps(
            {
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": config["client_id"],
                "AuthParameters": {"USERNAME": self.email, "PASSWORD": self.password},
            }
        ).encode()
        request = urllib.request.Request(
            self.base + config["cognito_endpoint"],
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
            },
        )
        with _OPENER.open(request, timeout=30) as response:
            return dict(json.loads(response.read())["AuthenticationResult"])


@dataclass(slots=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]


def _local_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # nosec B105 - moto's fake credentials
        AWS_SESSION_TOKEN="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        HTTPS_PROXY="http://127.0.0.1:9",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
    )
    return env


def _read(stream: Any, lines: queue.Queue[str]) -> None:
    for line in iter(stream.readline, ""):
        lines.put(line.rstrip("\n"))


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    work = tmp_path_factory.mktemp("dashboard-demo")
    command = [
        sys.executable,
        "-m",
        "devtools.demo",
        "--port",
        "0",
        "--lines",
        str(DEMO_LINES),
        "--drop-folder",
        str(work / "drop"),
        "--state-file",
        str(work / "state.json"),
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=_local_env(),
        stdout=subprocess.PIPE,
        stderr=open(work / "demo.log", "w", encoding="utf-8"),  # noqa: SIM115 - closed with the process
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read, args=(process.stdout, lines), daemon=True).start()
    deadline = time.monotonic() + DEMO_START_SECONDS
    found = None
    seen: list[str] = []
    while found is None and time.monotonic() < deadline and process.poll() is None:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        seen.append(line)
        found = _DASHBOARD_LINE.match(line)
    if found is None:
        process.kill()
        process.wait(10)
        log = (work / "demo.log").read_text(encoding="utf-8")[-3000:]
        pytest.fail(f"make demo printed no dashboard line:\n{chr(10).join(seen)[-2000:]}\n--- its log ---\n{log}")
    assert sum(1 for line in seen if line.startswith("dashboard: ")) == 1
    try:
        yield Demo(found["url"], found["email"], found["password"], work / "drop")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: `apt-get install -y chromium` "
            "(make test and .ci/run install it when run as root)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass(slots=True)
class PageProblems:
    messages: list[str]


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems([])


def new_page(browser: Any, problems: PageProblems, width: int = 1280, height: int = 900) -> Any:
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    page = context.new_page()

    def on_console(message: Any) -> None:
        text = message.text
        # Content-Security-Policy violations and script errors are the page's bugs.
        if message.type == "error" and ("Content Security Policy" in text or "Uncaught" in text):
            problems.messages.append(text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.messages.append(f"page error: {error}"))
    return page


@pytest.fixture
def page(browser: Any, problems: PageProblems, request: pytest.FixtureRequest) -> Iterator[Any]:
    opened = new_page(browser, problems)
    try:
        yield opened
    finally:
        screenshot(opened, request.node.name)
        opened.context.close()
    assert not problems.messages, problems.messages


def screenshot(page: Any, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    try:
        page.screenshot(path=str(path), full_page=True)
    except Exception as exc:  # a closed page: no screenshot, and say so
        print(f"no screenshot for {name}: {exc}")
    return path
