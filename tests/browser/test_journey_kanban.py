"""A rep drags deals across the pipeline in a real browser: a move to "won" is saved (the
column counts follow and the deal's history records it); a move to "lost" without a reason
is refused, and the card goes back with the reason. Desktop in English, a 390 px phone in
Chinese, within the Content-Security-Policy."""
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
        for title, stage, amount in [("Acme renewal", "new", 1200), ("Globex pilot", "new", 300),
                                     ("Initech upsell", "won", 50)]:
            service.create(actor, rt, "deal", {"title": title, "company": acme, "stage": stage, "amount": amount,
                                               "close_date": "2026-03-01"})

    live_server.run(seed)


def _stage_of(live_server, title: str) -> tuple[str, list]:
    def read():
        user = db.session.execute(sa.select(User).where(User.email == live_server.email)).scalar_one()
        actor, rt = Actor.from_user(user), get_runtime("sales_mini")
        from formloom.runtime.records import query
        record = query.list_records(actor, rt, "deal", condition={"field": "title", "op": "eq", "value": title})[0][0]
        return record["fields"]["stage"], [h.changes for h in service.history(actor, rt, "deal", record["id"])]

    return live_server.run(read)


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def drag(page, card, target) -> None:
    """Drag with the mouse, in steps, as a person does (SortableJS follows pointer events)."""
    box, to = card.bounding_box(), target.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 5, box["y"] + box["height"] / 2 + 5, steps=3)
    page.mouse.move(to["x"] + to["width"] / 2, to["y"] + 20, steps=15)
    page.mouse.up()


def column(page, value: str):
    return page.locator(f'[data-column][data-group=\'"{value}"\']')


def test_drag_a_deal_to_won_and_a_refused_move_to_lost(signed_in, live_server, browser):
    page = signed_in
    page.set_viewport_size({"width": 2200, "height": 900})  # every column in view, to drag across
    _seed(live_server)
    page.get_by_role("link", name=re.compile("Sales \\(mini\\)")).click()
    page.get_by_role("link", name="Pipeline").click()
    expect(page.get_by_role("heading", name="Pipeline")).to_be_visible()
    expect(column(page, "new").locator("[data-count]")).to_have_text("2")
    expect(column(page, "won").locator("[data-count]")).to_have_text("1")
    _shot(page, "kanban-desktop-en")
    card = column(page, "new").locator("[data-card]", has_text="Globex pilot")
    drag(page, card, column(page, "won").locator("[data-cards]"))
    expect(column(page, "won").locator("[data-count]")).to_have_text("2")
    expect(column(page, "new").locator("[data-count]")).to_have_text("1")
    expect(column(page, "won").locator("[data-card]", has_text="Globex pilot")).to_be_visible()
    expect(column(page, "won").locator("[data-total]").first).to_have_text("350.00")
    stage, history = _stage_of(live_server, "Globex pilot")
    assert stage == "won" and any(c.get("stage") == ["new", "won"] for c in history)
    # "lost" needs a reason: the move is refused, the card goes back, the reason is shown.
    card = column(page, "new").locator("[data-card]", has_text="Acme renewal")
    drag(page, card, column(page, "lost").locator("[data-cards]"))
    message = page.locator("[data-kanban-message]")
    expect(message).to_be_visible()
    expect(message).to_contain_text("The card was not moved")
    expect(message).to_contain_text("Lost reason")
    expect(column(page, "new").locator("[data-card]", has_text="Acme renewal")).to_be_visible()
    expect(column(page, "lost").locator("[data-card]")).to_have_count(0)
    expect(column(page, "lost").locator("[data-count]")).to_have_text("0")
    assert _stage_of(live_server, "Acme renewal")[0] == "new"
    _shot(page, "kanban-refused-en")
    # The same board on a phone, in Chinese: columns side by side, swiped.
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 390, "height": 844})
    phone = context.new_page()
    phone.goto("/login")
    phone.locator("[name=email]").fill(live_server.email)
    phone.locator("[name=password]").fill(live_server.password)
    phone.locator("[name=password]").press("Enter")
    phone.wait_for_url(live_server.url + "/")
    phone.goto(page.url.replace(live_server.url, ""))
    expect(phone.get_by_role("heading", name="销售漏斗")).to_be_visible()
    expect(column(phone, "proposal")).to_contain_text("没有卡片")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # the board scrolls inside itself, not the page
    _shot(phone, "kanban-phone-zh")
    context.close()
