"""Formulas follow the input: on the quote form, each line's subtotal and the total change
while the user types, as a save would compute them (the server's formulas), and adding or
removing a line moves the total; saving stores the same numbers. In both languages, and the
Chinese form at phone width."""
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
from formloom.runtime.records import query, service

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect
SHOTS = os.environ.get("FORMLOOM_SHOTS")


def _deal(server):
    def seed():
        owner = db.session.execute(sa.select(User).where(User.email == server.email)).scalar_one()
        actor, rt = Actor.from_user(owner), get_runtime("sales_mini")
        company = service.create(actor, rt, "company", {"name": "Acme Ltd"})
        return service.create(actor, rt, "deal", {"title": "Big deal", "company": company["id"]})["id"]

    return server.run(seed)


def _line(page, n, qty, price, discount="0"):
    rows = page.locator("[data-subform='items'] [data-subform-rows] tr")
    while rows.count() <= n:
        page.locator("[data-subform-add]").click()
    page.locator(f"[name='items-{n}-product']").fill(f"Line {n + 1}")
    page.locator(f"[name='items-{n}-qty']").fill(qty)
    page.locator(f"[name='items-{n}-price']").fill(price)
    page.locator(f"[name='items-{n}-discount']").fill(discount)
    return rows.nth(n)


def _check_live_totals(page, shot_prefix="", next_number=" (the next number; fixed when you save)"):
    expect(page.locator("[data-computed='number']")).to_have_text(re.compile(r"^Q-\d{4}-0001" + re.escape(next_number)))
    total = page.locator("[data-computed='total']")
    first = _line(page, 0, "3", "1000", "10")
    expect(first.locator("[data-computed-cell='subtotal']")).to_have_text("2,700")
    expect(total).to_have_text("2,700")
    _line(page, 1, "2", "50")
    expect(total).to_have_text("2,800")
    expect(page.locator("[data-computed='max_discount']")).to_have_text("10")
    page.locator("[name='items-1-qty']").fill("4")
    expect(total).to_have_text("2,900")
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{shot_prefix}live-totals.png"), full_page=True)


def test_subtotals_and_the_total_follow_the_input(signed_in, live_server):
    page = signed_in
    deal = _deal(live_server)
    page.goto(f"/a/sales_mini/f/quote/new?deal={deal}")
    _check_live_totals(page)
    page.locator("[data-subform='items'] [data-subform-rows] tr").nth(0).locator("[data-subform-remove]").click()
    expect(page.locator("[data-computed='total']")).to_have_text("200")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("The record was created.")).to_be_visible()

    def total():
        owner = db.session.execute(sa.select(User).where(User.email == live_server.email)).scalar_one()
        rows, _cursor = query.list_records(Actor.from_user(owner), get_runtime("sales_mini"), "quote")
        return rows[0]["fields"]["total"]

    assert live_server.run(total) == 200  # the save computed what the page showed


def test_live_totals_in_chinese_on_a_phone(browser, live_server):
    deal = _deal(live_server)
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto("/login")
        page.locator("[name='email']").fill(live_server.email)
        page.locator("[name='password']").fill(live_server.password)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(live_server.url + "/")
        page.goto(f"/a/sales_mini/f/quote/new?deal={deal}")
        _check_live_totals(page, "zh-390-", "（下一个编号，保存时确定）")
    finally:
        context.close()
