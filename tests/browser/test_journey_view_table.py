"""A rep narrows "My deals" with the filter builder and fixes amounts in place, in a real
browser: the filter lands in the URL and survives a reload, a cell saves on Enter, a refused
value keeps the old one and says why; on a 390 px phone in Chinese the rows read as cards."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import User
from formloom.runtime.apps import get_runtime
from formloom.runtime.records import query, service

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect
SHOTS = os.environ.get("FORMLOOM_SCREENSHOTS")


def _actor_rt(live_server):
    user = db.session.execute(sa.select(User).where(User.email == live_server.email)).scalar_one()
    return Actor.from_user(user), get_runtime("sales_mini")


def _seed(live_server) -> None:
    def seed():
        actor, rt = _actor_rt(live_server)
        acme = service.create(actor, rt, "company", {"name": "Acme Ltd"})["id"]
        for title, stage, amount in [("Acme renewal", "won", 1200), ("Globex pilot", "won", 300),
                                     ("Initech upsell", "new", 50)]:
            service.create(actor, rt, "deal", {"title": title, "company": acme, "stage": stage, "amount": amount,
                                               "close_date": "2026-03-01"})

    live_server.run(seed)


def _amount(live_server, title: str):
    def read():
        actor, rt = _actor_rt(live_server)
        rows = query.list_records(actor, rt, "deal", condition={"field": "title", "op": "eq", "value": title})[0]
        return rows[0]["fields"]["amount"]

    return live_server.run(read)


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_filter_builder_and_inline_edit(signed_in, live_server, browser):
    page = signed_in
    _seed(live_server)
    page.get_by_role("link", name=re.compile("Sales \\(mini\\)")).click()
    page.get_by_role("link", name="My deals").click()
    rows = page.locator("[data-view-records] tbody tr")
    expect(rows).to_have_count(3)
    # Stage is "won" and the amount is at least 500.
    page.get_by_role("button", name="Add a condition").click()
    row = page.locator("[data-filter-row]").nth(0)
    row.locator("[data-filter-field]").select_option(label="Stage")
    row.locator("[data-filter-op]").select_option("eq")
    row.locator("[data-filter-input]").select_option("won")
    page.get_by_role("button", name="Add a condition").click()
    row = page.locator("[data-filter-row]").nth(1)
    row.locator("[data-filter-field]").select_option(label="Amount")
    row.locator("[data-filter-op]").select_option("gte")
    row.locator("[data-filter-input]").fill("500")
    # ...and it was to close before 30 days ago (relative to today in the app's time zone).
    page.get_by_role("button", name="Add a condition").click()
    row = page.locator("[data-filter-row]").nth(2)
    row.locator("[data-filter-field]").select_option(label="Expected close")
    row.locator("[data-filter-op]").select_option("before")
    row.locator("[data-date-mode]").select_option("ago")
    row.locator("[data-date-n]").fill("30")
    _shot(page, "view-filter-builder-en")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Acme renewal")
    sent = json.loads(parse_qs(urlsplit(page.url).query)["filter"][0])
    assert sent == {"all": [{"field": "stage", "op": "eq", "value": "won"}, {"field": "amount", "op": "gte", "value": 500},
                            {"field": "close_date", "op": "before", "value": {"today": -30}}]}
    page.reload()  # the filter is in the URL: the rows come back as the builder's rows
    expect(page.locator("[data-filter-row]")).to_have_count(3)
    expect(page.locator("[data-filter-row]").nth(2).locator("[data-date-n]")).to_have_value("30")
    expect(rows).to_have_count(1)
    # Change the amount in place.
    cell = rows.first.locator('td[data-edit="amount"]')
    cell.click()
    cell.locator("[data-cell-input]").fill("2500")
    cell.locator("[data-cell-input]").press("Enter")
    expect(cell).to_contain_text("2,500.00")
    expect(page.locator("[data-view-totals]")).to_contain_text("2,500.00")  # the totals row follows
    assert _amount(live_server, "Acme renewal") == 2500
    # A negative amount is refused: the old value stays, the reason is shown.
    cell.click()
    cell.locator("[data-cell-input]").fill("-3")
    cell.locator("[data-cell-input]").press("Enter")
    expect(cell.locator("[data-cell-error]")).to_contain_text("Not saved")
    expect(cell.locator("[data-cell]")).to_contain_text("2,500.00")
    assert _amount(live_server, "Acme renewal") == 2500
    _shot(page, "view-inline-refused-en")
    # Removing the conditions shows every deal again.
    page.locator("[data-filter-row] button").nth(1).click()
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(2)
    # A date after today: nothing matches (the deals closed in March).
    page.locator("[data-filter-row]").nth(1).locator("[data-filter-op]").select_option("after")
    page.locator("[data-filter-row]").nth(1).locator("[data-date-mode]").select_option("today")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", name="No records match")).to_be_visible()
    # Any condition instead of every one: stage "won" or closing after today.
    page.get_by_label("Match", exact=True).select_option("any")
    expect(page.locator("[data-filter-row]").nth(1).locator(".fl-filter-joint")).to_have_text("or")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(2)
    assert "any" in json.loads(parse_qs(urlsplit(page.url).query)["filter"][0])
    # On a phone, in Chinese: each row a card, nothing scrolls sideways.
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 390, "height": 844})
    phone = context.new_page()
    phone.goto("/login")
    phone.locator("[name=email]").fill(live_server.email)
    phone.locator("[name=password]").fill(live_server.password)
    phone.locator("[name=password]").press("Enter")
    phone.wait_for_url(live_server.url + "/")
    phone.goto("/a/sales_mini/v/my_deals")
    expect(phone.get_by_role("button", name="添加条件")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(phone, "view-table-phone-zh")
    context.close()
