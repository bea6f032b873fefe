"""Browser tests: the real app served on a free local port, driven by Playwright.

Each test gets its own server: a fresh copy of the migrated SQLite template, the example
app (sales_mini) installed by a user who signs in with a password, CSRF on as in
production, and werkzeug's threaded server in a background thread. Playwright drives
Debian's Chromium (`/usr/bin/chromium`); Playwright's own browser downloads are never
used. A failing test leaves a full-page screenshot in `test-artifacts/`.

Every tab of every test is watched for what Chromium reports as blocked by our
Content-Security-Policy (an inline script, handler or style left in a page): a test whose
pages broke the policy fails, whatever it was checking.
"""
from __future__ import annotations

import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from formloom import create_app
from formloom.platform.actor import Actor
from formloom.platform.extensions import db

CHROMIUM = Path("/usr/bin/chromium")
NO_CHROMIUM = "Debian's chromium is not installed: apt-get install -y chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "secret-pass-1"
EMAIL = "ann@example.com"
LAUNCH_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]


@dataclass
class LiveServer:
    url: str
    app: object
    email: str = EMAIL
    password: str = PASSWORD

    def run(self, fn, *args, **kwargs):
        """Call `fn` inside an app context of the served app (to set up or check data)."""
        with self.app.app_context():
            try:
                return fn(*args, **kwargs)
            finally:
                db.session.remove()


def _install(app) -> None:
    from formloom.builder.templates import install_template
    from formloom.platform.cli import ensure_user

    with app.app_context():
        user = ensure_user(EMAIL, "Ann Lee", PASSWORD)
        install_template("sales_mini", Actor.from_user(user), sample_data=False)
        db.session.remove()


@pytest.fixture
def live_server(tmp_path, sqlite_template):
    """The app with the example app installed, served on 127.0.0.1 and a free port."""
    from formloom.runtime import apps as runtime_apps

    shutil.copy(sqlite_template, tmp_path / "formloom.db")
    app = create_app({
        "FORMLOOM_INSTANCE": str(tmp_path), "SECRET_KEY": "browser-tests",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'formloom.db'}",
        "WTF_CSRF_ENABLED": True, "RATELIMIT_ENABLED": False, "FORMLOOM_TIMEZONE": "Asia/Shanghai",
    })
    _install(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    with app.app_context():
        db.engine.dispose()
    runtime_apps.forget()


class CspWatch:
    """The console messages in which Chromium says the page's CSP blocked something."""

    def __init__(self):
        self.seen: list[str] = []

    def note(self, message) -> None:
        if "Content Security Policy" in message.text:
            where = message.page.url if message.page else "?"
            self.seen.append(f"{where}: {message.text}")


class WatchedBrowser:
    """The Chromium of the session; each context it opens reports to the CSP watch."""

    def __init__(self, chromium, watch: CspWatch):
        self._chromium, self._watch = chromium, watch

    def new_context(self, **options):
        context = self._chromium.new_context(**options)
        context.on("console", self._watch.note)
        return context

    def __getattr__(self, name):
        return getattr(self._chromium, name)


@pytest.fixture(scope="session")
def csp_watch():
    return CspWatch()


@pytest.fixture(autouse=True)
def no_csp_violations(csp_watch):
    """Fails the test when any of its pages broke the Content-Security-Policy."""
    csp_watch.seen.clear()
    yield csp_watch
    seen, csp_watch.seen = list(csp_watch.seen), []
    assert not seen, "Content-Security-Policy violations:\n" + "\n".join(seen)


@pytest.fixture(scope="session")
def browser(csp_watch):
    """One Chromium for the session; skips when Debian's chromium is missing."""
    if not CHROMIUM.exists():
        pytest.skip(NO_CHROMIUM)
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield WatchedBrowser(chromium, csp_watch)
        chromium.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def page(request, browser, live_server):
    """A fresh browser tab (English, desktop size) on the live server."""
    context = browser.new_context(base_url=live_server.url, locale="en-US",
                                  viewport={"width": 1360, "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    failed = any(getattr(request.node, f"rep_{when}", None) is not None and getattr(request.node, f"rep_{when}").failed
                 for when in ("setup", "call"))
    if failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1])
        tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()


@pytest.fixture
def signed_in(page, live_server):
    """The tab, signed in as the example app's owner."""
    page.goto("/login")
    page.get_by_label("Email").fill(live_server.email)
    page.get_by_label("Password").fill(live_server.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.url + "/")
    return page
