"""A rep finds deals on the close-date calendar in a real browser: the month grid, next and
previous month, a deal dragged to another day, a day's week, a click that opens the deal; on a 390 px phone in Chinese the
grid shows counts and the days below list the deals."""
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


def _seed(live_server) -> None:
    def seed():
        user = db.session.execute(sa.select(User).where(User.email == live_server.email)).scalar_one()
        actor, rt = Actor.from_user(user), get_runtime("sales_mini")
        acme = service.create(actor, rt, "company", {"name": "Acme Ltd"})["id"]
        for title, close in [("Acme renewal", "2026-03-10"), ("Globex pilot", "2026-03-10"),
                             ("Initech upsell", "2026-04-15")]:
            service.create(actor, rt, "deal", {"title": title, "company": acme, "stage": "new", "amount": 100,
                                               "close_date": close})

    live_server.run(seed)


def _close_date(live_server, title: str) -> str:
    def read():
        from formloom.runtime.records import query

        user = db.session.execute(sa.select(User).where(User.email == live_server.email)).scalar_one()
        actor, rt = Actor.from_user(user), get_runtime("sales_mini")
        rows = query.list_records(actor, rt, "deal", condition={"field": "title", "op": "eq", "value": title})[0]
        return rows[0]["fields"]["close_date"].isoformat()

    return live_server.run(read)


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_move_through_months_and_open_a_deal(signed_in, live_server, browser):
    page = signed_in
    _seed(live_server)
    page.get_by_role("link", name=re.compile("Sales \\(mini\\)")).click()
    page.get_by_role("link", name="Close dates").click()
    expect(page.get_by_role("heading", name="Close dates")).to_be_visible()
    page.goto(page.url + "?date=2026-03-01")
    grid = page.locator("[data-calendar-month]")
    expect(page.locator("[data-cal-heading]")).to_have_text("2026-03")
    expect(grid.locator('[data-day="2026-03-10"] [data-entry]')).to_have_count(2)
    _shot(page, "calendar-month-en")
    page.locator("[data-cal-next]").click()
    expect(page.locator("[data-cal-heading]")).to_have_text("2026-04")
    expect(grid.locator('[data-day="2026-04-15"]')).to_contain_text("Initech upsell")
    expect(grid.locator("[data-entry]", has_text="Acme renewal")).to_have_count(0)
    page.locator("[data-cal-prev]").click()
    expect(page.locator("[data-cal-heading]")).to_have_text("2026-03")
    # Reschedule: drag a deal to the 12th; the month reloads with it there.
    entry = grid.locator('[data-day="2026-03-10"] [data-entry]', has_text="Globex pilot")
    target = grid.locator('[data-drop="2026-03-12"]')
    box, to = entry.bounding_box(), target.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 6, box["y"] + box["height"] / 2 + 6, steps=3)
    page.mouse.move(to["x"] + to["width"] / 2, to["y"] + to["height"] / 2, steps=15)
    with page.expect_navigation():  # saved: the month reloads
        page.mouse.up()
    expect(grid.locator('[data-day="2026-03-12"] [data-entry]')).to_contain_text("Globex pilot")
    expect(grid.locator('[data-day="2026-03-10"] [data-entry]')).to_have_count(1)
    assert _close_date(live_server, "Globex pilot") == "2026-03-12"
    # A day's number opens its week, as a list.
    grid.locator('[data-day="2026-03-10"] .fl-cal-date').click()
    expect(page.get_by_role("link", name="Week")).to_have_attribute("aria-current", "page")
    expect(page.locator('[data-calendar-list] [data-day="2026-03-10"]')).to_contain_text("Acme renewal")
    _shot(page, "calendar-week-en")
    page.locator('[data-calendar-list] [data-entry] a', has_text="Acme renewal").click()
    expect(page.get_by_role("heading", name="Acme renewal")).to_be_visible()
    # On a phone, in Chinese.
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 390, "height": 844})
    phone = context.new_page()
    phone.goto("/login")
    phone.locator("[name=email]").fill(live_server.email)
    phone.locator("[name=password]").fill(live_server.password)
    phone.locator("[name=password]").press("Enter")
    phone.wait_for_url(live_server.url + "/")
    phone.goto("/a/sales_mini/v/closing?date=2026-03-01")
    expect(phone.locator("[data-cal-heading]")).to_have_text("2026 年 3 月")
    expect(phone.locator('[data-calendar-month] [data-day="2026-03-10"] .fl-cal-count')).to_have_text("1")
    expect(phone.locator('[data-calendar-list] [data-day="2026-03-10"]')).to_contain_text("Acme renewal")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(phone, "calendar-phone-zh")
    context.close()
