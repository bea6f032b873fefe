"""A rep opens a view in a real browser: the table of "My deals", grouped by stage with the
group counts and sums, on a desktop and on a 390 px phone, in English and Chinese, within
the Content-Security-Policy (the conftest fails a page that breaks it)."""
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
        for title, stage, amount in [("Acme renewal", "won", 1200), ("Globex pilot", "won", 300),
                                     ("Initech upsell", "new", 50)]:
            service.create(actor, rt, "deal", {"title": title, "company": acme, "stage": stage, "amount": amount,
                                               "close_date": "2026-03-01"})

    live_server.run(seed)


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_group_a_table_view_by_stage(signed_in, live_server, browser):
    page = signed_in
    _seed(live_server)
    page.get_by_role("link", name=re.compile("Sales \\(mini\\)")).click()
    page.get_by_role("link", name="My deals").click()
    expect(page.get_by_role("heading", name="My deals")).to_be_visible()
    expect(page.locator("[data-view-records] tbody tr")).to_have_count(3)
    page.get_by_label("Group by", exact=True).select_option("stage")  # submits itself (web.js)
    groups = page.locator("[data-view-groups] tbody tr")
    expect(groups.filter(has_text="won")).to_contain_text("2")
    expect(groups.filter(has_text="won")).to_contain_text("1,500")
    expect(page).to_have_url(re.compile(r"group_by=stage"))  # the reader's grouping is in the URL
    _shot(page, "view-my-deals-grouped")
    # The same link on a phone, in Chinese.
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 390, "height": 844})
    phone = context.new_page()
    phone.goto("/login")
    phone.locator("[name=email]").fill(live_server.email)
    phone.locator("[name=password]").fill(live_server.password)
    phone.locator("[name=password]").press("Enter")
    phone.wait_for_url(live_server.url + "/")
    phone.goto(page.url.replace(live_server.url, ""))
    expect(phone.get_by_role("heading", name="我的商机")).to_be_visible()
    expect(phone.locator("[data-view-groups] thead")).to_contain_text("记录数")
    _shot(phone, "view-my-deals-phone-zh")
    context.close()
