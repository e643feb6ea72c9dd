"""Browser fixtures: Playwright's sync API driving Debian's Chromium (never a downloaded build).

Use with pytest-django's `live_server` (transactional database) and mark tests
`@pytest.mark.browser`. Fixtures:

- `chromium`: one headless Chromium for the whole session;
- `page`: a fresh context and page (1280x800) per test;
- `phone_page`: the same on a 360x740 phone viewport with touch;
- `screenshot`: `screenshot(page, "name")` saves test-artifacts/<name>.png on request;
- `login_page`: `login_page(page, live_server, user)` logs a user in without typing.

On failure every open page of the test is saved into test-artifacts/ (git-ignored); with
WANGGE_SCREENSHOTS=1 it is saved after every test. Without /usr/bin/chromium the tests are
skipped, except under CI (the environment variable CI is set), where that is a failure.
"""

import contextlib
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import LiveServerThread

CHROMIUM = Path(os.environ.get("WANGGE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
DESK = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
TIMEOUT_MS = 10_000


class _ReleaseAfterResponse:
    """The response's body, then the lock: streamed bodies are read inside it too."""

    def __init__(self, result: Iterable[bytes], lock: threading.Lock) -> None:
        self.result, self.lock = result, lock

    def __iter__(self) -> Iterator[bytes]:
        yield from self.result

    def close(self) -> None:
        try:
            close = getattr(self.result, "close", None)
            if close is not None:
                close()
        finally:
            self.lock.release()


class OneRequestAtATimeServer(ThreadedWSGIServer):
    """With SQLite in memory, every request thread of the live server shares the test's single
    connection, and two overlapping requests (a page's polling beside a click in a second tab)
    misuse it ("bad parameter or other API misuse"). Requests then take turns; connections
    still have their own threads, so an idle keep-alive connection blocks nobody."""

    # The servers running, for `wait_for_requests`.
    running: "list[OneRequestAtATimeServer]" = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turn = threading.Lock()
        OneRequestAtATimeServer.running.append(self)

    def server_close(self) -> None:
        super().server_close()
        if self in OneRequestAtATimeServer.running:
            OneRequestAtATimeServer.running.remove(self)


@contextlib.contextmanager
def server_turn() -> Iterator[None]:
    """The live servers' turn, for a test's own database work while its pages poll: with
    SQLite in memory the test thread shares the one connection with the server's threads, and
    a query beside a request misuses it ("bad parameter or other API misuse")."""
    servers = list(OneRequestAtATimeServer.running)
    for server in servers:
        server._turn.acquire()
    try:
        yield
    finally:
        for server in reversed(servers):
            server._turn.release()


def wait_for_requests() -> None:
    """Until no live-server request is in progress: a page closed at a test's end may have left
    one running (a map's tiles), which must not touch the database while the test's data are
    flushed ("database table is locked")."""
    for server in list(OneRequestAtATimeServer.running):
        with server._turn:
            pass

    def get_app(self) -> Any:
        app = super().get_app()
        if not self.connections_override:
            return app
        turn = self._turn

        def in_turn(environ: Any, start_response: Any) -> Any:
            turn.acquire()
            try:
                result = app(environ, start_response)
            except BaseException:
                turn.release()
                raise
            return _ReleaseAfterResponse(result, turn)

        return in_turn


LiveServerThread.server_class = OneRequestAtATimeServer


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:120] or "page"


def save_screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{_safe(name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # Keep each phase's report on the item, so fixtures can tell at teardown whether the test failed.
    report = yield
    setattr(item, f"wangge_report_{report.when}", report)
    return report


def _failed(node: Any) -> bool:
    return any(
        getattr(getattr(node, f"wangge_report_{when}", None), "failed", False)
        for when in ("setup", "call")
    )


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


def _open_page(request: pytest.FixtureRequest, chromium: Any, **options: Any) -> Iterator[Any]:
    context = chromium.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **options)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    # Any JavaScript error or CSP violation on the page is a bug: collect them for the tests.
    page.wangge_errors = []
    page.on("pageerror", lambda exc: page.wangge_errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: page.wangge_errors.append(msg.text) if msg.type == "error" else None,
    )
    try:
        yield page
    finally:
        if _failed(request.node) or os.environ.get("WANGGE_SCREENSHOTS") == "1":
            suffix = "failed" if _failed(request.node) else "final"
            try:
                save_screenshot(page, f"{request.node.name}-{suffix}")
            except Exception as exc:  # a crashed page must not hide the test's own failure
                print(f"screenshot failed: {exc}")
        context.close()
        wait_for_requests()


@pytest.fixture
def page(request: pytest.FixtureRequest, chromium: Any) -> Iterator[Any]:
    yield from _open_page(request, chromium, viewport=DESK)


@pytest.fixture
def phone_page(request: pytest.FixtureRequest, chromium: Any) -> Iterator[Any]:
    yield from _open_page(
        request,
        chromium,
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    def take(page: Any, name: str) -> Path:
        return save_screenshot(page, name)

    return take


@pytest.fixture
def login_page() -> Callable[[Any, Any, Any], None]:
    """Give a page the session cookie of `user` (the login form has its own tests)."""
    from django.conf import settings
    from django.test import Client

    def login(page: Any, live_server: Any, user: Any) -> None:
        client = Client()
        client.force_login(user, backend="wangge.accounts.backends.MobileOrUsernameBackend")
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        page.context.add_cookies(
            [{"name": cookie.key, "value": cookie.value, "url": live_server.url}]
        )

    return login
