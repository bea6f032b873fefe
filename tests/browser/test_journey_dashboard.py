"""The owner opens the sales review dashboard in a real browser: the KPI card, the funnel
drawn by ECharts, the pivot; changes the date filter (kept in the URL); clicks a funnel stage
and lands on exactly the records behind it. Also on a 390 px phone in Chinese. The conftest
fails any page that breaks the Content-Security-Policy."""
from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import User
from formloom.runtime.apps import get_runtime
from formloom.runtime.dashboards import periods
from formloom.runtime.records import service

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect
SHOTS = os.environ.get("FORMLOOM_SCREENSHOTS")


def _seed(live_server) -> None:
    def seed():
        user = db.session.execute(sa.select(User).where(User.email == live_server.email)).scalar_one()
        actor, rt = Actor.from_user(user), get_runtime("sales_mini")
        today = periods.today_in("Asia/Shanghai")
        long_ago = (today - timedelta(days=800)).isoformat()
        acme = service.create(actor, rt, "company", {"name": "Acme Ltd", "tier": "A"})["id"]
        for title, stage, amount, close in [("Acme renewal", "won", 12345.5, today.isoformat()),
                                            ("Globex pilot", "won", 300, today.isoformat()),
                                            ("Initech upsell", "new", 50, today.isoformat()),
                                            ("Old win", "won", 999, long_ago)]:
            service.create(actor, rt, "deal", {"title": title, "company": acme, "stage": stage, "amount": amount,
                                               "close_date": close})

    live_server.run(seed)


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_open_filter_and_drill_down(signed_in, live_server, browser):
    page = signed_in
    _seed(live_server)
    page.get_by_role("link", name=re.compile("Sales \\(mini\\)")).click()
    page.get_by_role("link", name="Sales review").click()
    expect(page.get_by_role("heading", name="Sales review")).to_be_visible()
    # The KPI: this month's won amount, with thousands separators and the field's precision.
    expect(page.locator("[data-widget=won_month] .fl-kpi-value")).to_have_text("12,645.50")
    # The funnel is drawn (an SVG by ECharts) with a stage per option that has deals.
    funnel = page.locator("[data-widget=pipeline]")
    expect(funnel.locator(".fl-chart[data-rendered='1'] canvas")).to_be_visible()
    expect(page.locator("[data-widget=tier_stage] table.fl-pivot tfoot")).to_contain_text("13,694.50")
    _shot(page, "dashboard-en-desktop")
    # Changing the date filter submits itself; the value stays in the URL.
    page.get_by_label("Close date", exact=True).select_option("this_month")
    expect(page).to_have_url(re.compile(r"f_close_date=this_month"))
    expect(page.locator("[data-widget=tier_stage] table.fl-pivot tfoot")).to_contain_text("12,695.50")
    # Click the "won" stage of the funnel: the records behind it, and only those.
    # Two stages this month, drawn top to bottom in the options' order: new (1), won (2).
    chart = funnel.locator(".fl-chart canvas").first
    box = chart.bounding_box()
    chart.click(position={"x": box["width"] / 2, "y": 10 + (box["height"] - 50) * 0.75})
    expect(page).to_have_url(re.compile(r"/a/sales_mini/f/deal\?filter="))
    expect(page.locator("a.fl-cell-title")).to_have_count(2)
    expect(page.locator("[data-given-filter]")).to_be_visible()
    # A phone, in Chinese.
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 390, "height": 844})
    phone = context.new_page()
    phone.goto("/login")
    phone.locator("[name=email]").fill(live_server.email)
    phone.locator("[name=password]").fill(live_server.password)
    phone.locator("[name=password]").press("Enter")
    phone.wait_for_url(live_server.url + "/")
    phone.goto("/a/sales_mini/dashboards/sales_review")
    expect(phone.get_by_role("heading", name="销售复盘")).to_be_visible()
    expect(phone.locator("[data-widget=pipeline] .fl-chart[data-rendered='1'] canvas")).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # nothing runs off the side of the phone
    _shot(phone, "dashboard-zh-phone")
    context.close()
    if SHOTS:  # the other two for the record: Chinese on a desktop, English on a phone
        for locale, size, name in (("zh-CN", (1360, 900), "dashboard-zh-desktop"), ("en-US", (390, 844), "dashboard-en-phone")):
            ctx = browser.new_context(base_url=live_server.url, locale=locale,
                                      viewport={"width": size[0], "height": size[1]})
            tab = ctx.new_page()
            tab.goto("/login")
            tab.locator("[name=email]").fill(live_server.email)
            tab.locator("[name=password]").fill(live_server.password)
            tab.locator("[name=password]").press("Enter")
            tab.wait_for_url(live_server.url + "/")
            tab.goto("/a/sales_mini/dashboards/sales_review")
            expect(tab.locator("[data-widget=by_industry] .fl-chart[data-rendered='1'] canvas")).to_be_visible()
            _shot(tab, name)
            ctx.close()
