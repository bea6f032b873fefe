"""Related lists and totals in a real browser: a customer page lists its opportunities and
tickets with their counts and shows its rollups (won total, deal count); "Add" on the
opportunities list opens a new opportunity already linked to the customer; Cancel and saving
both come back to the customer, whose list, count and totals follow, and the opportunity shows
the customer's tier (a lookup) as the same badge as the tier itself, in English and Chinese;
marking the deal lost takes it out of the won total but not the count."""
from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import User
from formloom.runtime.records import service

from support_formloom import Factory

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect
SHOTS = os.environ.get("FORMLOOM_SHOTS")
WON = {"field": "stage", "op": "eq", "value": "won"}
DEFINITION = {
    "key": "crm_related", "name": "客户关系", "name_en": "Customer relations", "forms": [
        {"key": "customer", "name": "客户", "name_en": "Customer", "title_field": "name", "fields": [
            {"key": "name", "type": "text", "label": "名称", "label_en": "Name"},
            {"key": "tier", "type": "select", "label": "等级", "label_en": "Tier", "options": [
                {"value": "gold", "label": "金牌", "label_en": "Gold"},
                {"value": "silver", "label": "银牌", "label_en": "Silver"}]},
            {"key": "won_total", "type": "rollup", "label": "赢单总额", "label_en": "Won total",
             "form": "opportunity", "link": "customer", "agg": "sum", "field": "amount", "where": WON, "display": "thousands"},
            {"key": "deal_count", "type": "rollup", "label": "商机数", "label_en": "Deal count",
             "form": "opportunity", "link": "customer", "agg": "count"}]},
        {"key": "opportunity", "name": "商机", "name_en": "Opportunity", "title_field": "title", "fields": [
            {"key": "title", "type": "text", "label": "标题", "label_en": "Title"},
            {"key": "customer", "type": "link", "form": "customer", "label": "客户", "label_en": "Customer"},
            {"key": "amount", "type": "number", "label": "金额", "label_en": "Amount"},
            {"key": "stage", "type": "select", "label": "阶段", "label_en": "Stage", "options": [
                {"value": "open", "label": "进行中", "label_en": "Open"},
                {"value": "won", "label": "赢单", "label_en": "Won"},
                {"value": "lost", "label": "输单", "label_en": "Lost"}]},
            {"key": "tier", "type": "lookup", "label": "客户等级", "label_en": "Customer tier",
             "link": "customer", "field": "tier"}]},
        {"key": "ticket", "name": "工单", "name_en": "Ticket", "title_field": "subject", "fields": [
            {"key": "subject", "type": "text", "label": "主题", "label_en": "Subject"},
            {"key": "customer", "type": "link", "form": "customer", "label": "客户", "label_en": "Customer"}]}]}


def _seed(server) -> tuple[str, int]:
    def seed():
        owner = db.session.execute(sa.select(User).where(User.email == server.email)).scalar_one()
        rt = Factory(server.app).install(copy.deepcopy(DEFINITION), owner=owner)
        actor = Actor.from_user(owner)
        acme = service.create(actor, rt, "customer", {"name": "Acme", "tier": "gold"})
        service.create(actor, rt, "opportunity",
                       {"title": "Pilot licences", "customer": acme["id"], "amount": 1000, "stage": "won"})
        service.create(actor, rt, "ticket", {"subject": "Login fails", "customer": acme["id"]})
        return rt.key, acme["id"]

    return server.run(seed)


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


def _related(page, form_key: str):
    return page.locator(f"[data-related='{form_key}.customer']")


def _expect_customer(page, *, deals: str, won_total: str, tickets: str = "1") -> None:
    """The customer page as a reader checks it: the two related lists' counts and the rollups."""
    expect(_related(page, "opportunity").locator("[data-related-count]")).to_have_text(deals)
    expect(_related(page, "ticket").locator("[data-related-count]")).to_have_text(tickets)
    expect(page.locator("[data-field='won_total'] dd")).to_have_text(won_total)
    expect(page.locator("[data-field='deal_count'] dd")).to_have_text(deals)


def test_adding_an_opportunity_updates_the_customers_lists_and_totals(signed_in, live_server):
    page = signed_in
    app_key, acme_id = _seed(live_server)
    customer_url = f"/a/{app_key}/f/customer/r/{acme_id}"
    page.goto(customer_url)
    expect(page.get_by_role("heading", name="Acme", exact=True)).to_be_visible()

    opportunities = _related(page, "opportunity")
    tickets = _related(page, "ticket")
    expect(opportunities.get_by_role("heading")).to_have_text(re.compile(r"^Opportunity\s*1$"))
    expect(tickets.get_by_role("heading")).to_have_text(re.compile(r"^Ticket\s*1$"))
    expect(opportunities.get_by_role("link", name="Pilot licences")).to_be_visible()
    expect(tickets.get_by_role("link", name="Login fails")).to_be_visible()
    _expect_customer(page, deals="1", won_total="1,000")
    expect(page.locator("[data-field='tier'] dd")).to_have_text("Gold")
    _shot(page, "related-customer-before.png")

    # "Add" on the opportunities list: a new opportunity already linked to Acme, which comes
    # back to Acme: Cancel at once, and saving too.
    add_url = re.compile(rf"/a/{app_key}/f/opportunity/new\?customer={acme_id}&next={re.escape(customer_url)}$")
    opportunities.locator("[data-related-add]").click()
    page.wait_for_url(add_url)
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url(live_server.url + customer_url)
    opportunities.locator("[data-related-add]").click()
    page.wait_for_url(add_url)
    expect(page.locator("[data-field='customer'] .fl-chip")).to_have_text(re.compile(r"Acme"))
    page.get_by_label("Title").fill("Enterprise upgrade")
    page.get_by_label("Amount").fill("2500")
    page.get_by_label("Stage").select_option("won")
    _shot(page, "related-opportunity-new.png")
    page.get_by_role("button", name="Save", exact=True).click()

    # Back on Acme, no extra click: the list, count and totals follow.
    page.wait_for_url(live_server.url + customer_url)
    expect(page.get_by_text("The record was created.")).to_be_visible()
    _expect_customer(page, deals="2", won_total="3,500")
    expect(opportunities.get_by_role("link", name="Enterprise upgrade")).to_be_visible()
    expect(opportunities.locator("tbody tr")).to_have_count(2)
    _shot(page, "related-customer-after-add.png")

    # The saved opportunity shows Acme's tier (the lookup) as the tier itself shows: a badge.
    opportunities.get_by_role("link", name="Enterprise upgrade").click()
    expect(page.get_by_role("heading", name="Enterprise upgrade", exact=True)).to_be_visible()
    expect(page.locator("[data-field='tier'] dd .fl-badge")).to_have_text("Gold")
    expect(page.locator("[data-field='stage'] dd")).to_have_text("Won")
    _shot(page, "related-opportunity-saved.png")
    opportunity_url = page.url
    page.locator("[data-field='customer'] dd").get_by_role("link", name="Acme").click()
    page.wait_for_url(live_server.url + customer_url)

    # Lost after all: out of the won total, still a deal.
    page.goto(opportunity_url)
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Stage").select_option("lost")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Your changes were saved.")).to_be_visible()
    expect(page.locator("[data-field='stage'] dd")).to_have_text("Lost")
    page.locator("[data-field='customer'] dd").get_by_role("link", name="Acme").click()
    page.wait_for_url(live_server.url + customer_url)
    _expect_customer(page, deals="2", won_total="1,000")
    _shot(page, "related-customer-after-lost.png")

    # The same page in Chinese, through the language switch in the top bar.
    page.locator(".fl-topbar-tools form.dropdown .dropdown-toggle").click()
    page.get_by_role("button", name="中文").click()
    page.wait_for_url(live_server.url + customer_url)
    expect(_related(page, "opportunity").get_by_role("heading")).to_have_text(re.compile(r"^商机\s*2$"))
    expect(page.locator("[data-field='won_total'] dt")).to_have_text("赢单总额")
    _shot(page, "related-customer-zh.png")
    page.goto(opportunity_url)
    expect(page.locator("[data-field='tier'] dd .fl-badge")).to_have_text("金牌")
    _shot(page, "related-opportunity-zh.png")
