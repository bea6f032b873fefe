"""A rep on a 390 px phone, in Chinese and English: the record list reads as cards, a form
with a subform stays inside the screen, the app's navigation collapses behind a button; no
page is wider than the screen (the conftest fails a page that breaks the CSP)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import User
from formloom.runtime.apps import get_runtime
from formloom.runtime.records import service

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect
SHOTS = os.environ.get("FORMLOOM_SCREENSHOTS")
PHONE = {"width": 390, "height": 844}
WIDER_THAN_THE_SCREEN = "document.scrollingElement.scrollWidth - window.innerWidth"


def _seed(live_server) -> None:
    def seed():
        user = db.session.execute(sa.select(User).where(User.email == live_server.email)).scalar_one()
        actor, rt = Actor.from_user(user), get_runtime("sales_mini")
        acme = service.create(actor, rt, "company", {"name": "Acme Ltd", "tier": "A", "revenue": 1250000,
                                                     "industry": "Software", "email": "info@acme.example"})["id"]
        for title, stage, amount in [("Acme renewal", "won", 1200), ("Globex pilot with a long title", "new", 300)]:
            service.create(actor, rt, "deal", {"title": title, "company": acme, "stage": stage, "amount": amount,
                                               "probability": 50, "close_date": "2026-03-01"})

    live_server.run(seed)


def _phone(browser, live_server, locale: str):
    context = browser.new_context(base_url=live_server.url, locale=locale, viewport=PHONE)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    tab.goto("/login")
    tab.locator("[name=email]").fill(live_server.email)
    tab.locator("[name=password]").fill(live_server.password)
    tab.locator("[name=password]").press("Enter")
    tab.wait_for_url(live_server.url + "/")
    return context, tab


def _fits(tab, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)
    wide = tab.evaluate("""() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
    assert tab.evaluate(WIDER_THAN_THE_SCREEN) <= 0, f"{name}: the page scrolls sideways {wide}"


@pytest.mark.parametrize("locale, deals, stage", [("zh-CN", "商机", "赢单"), ("en-US", "Deal", "Won")])
def test_a_phone_reads_lists_as_cards_and_forms_in_one_column(browser, live_server, locale, deals, stage):
    _seed(live_server)
    context, tab = _phone(browser, live_server, locale)
    short = locale[:2]
    tab.goto("/a/sales_mini/f/deal")
    card = tab.locator("[data-record-id]").first
    expect(card).to_be_visible()
    # Every column's value is on screen: the card shows each one under its label.
    box = card.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    expect(tab.locator("table.fl-records tbody").first).to_contain_text(stage)
    amount = tab.locator("table.fl-records tbody tr").first.locator("td[data-label]").nth(3)
    assert amount.bounding_box()["x"] + amount.bounding_box()["width"] <= PHONE["width"]
    _fits(tab, f"phone-{short}-deal-list")

    tab.goto("/a/sales_mini/f/company")
    _fits(tab, f"phone-{short}-company-list")

    tab.goto("/a/sales_mini/f/quote/new")
    _fits(tab, f"phone-{short}-quote-form")
    fields = tab.locator("#record-form .fl-field, #record-form .col-12, #record-form [class*='col-md']")
    assert fields.count() > 0

    # The app's navigation is behind a button; opened, every entry is on screen.
    tab.goto("/a/sales_mini")
    toggle = tab.locator("[data-fl-appnav-toggle]")
    expect(toggle).to_be_visible()
    _fits(tab, f"phone-{short}-app-home")
    toggle.click()
    expect(tab.locator("[data-fl-appnav]")).to_have_class(re.compile(r"\bshow\b"))
    expect(tab.locator("[data-fl-appnav]")).to_contain_text(deals)
    _fits(tab, f"phone-{short}-app-nav-open")
    context.close()


def test_on_a_desktop_the_navigation_stays_open_beside_the_page(signed_in, live_server):
    _seed(live_server)
    signed_in.goto("/a/sales_mini/f/deal")
    expect(signed_in.locator("[data-fl-appnav-toggle]")).to_be_hidden()
    expect(signed_in.locator("[data-fl-appnav]")).to_be_visible()
    expect(signed_in.locator("table.fl-records thead")).to_be_visible()  # a table, not cards
