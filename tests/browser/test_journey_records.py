"""A person fills in, finds and changes records in a real browser."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import User
from formloom.runtime.apps import get_runtime
from formloom.runtime.records import service

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def _seed(live_server) -> dict:
    """A company and three deals, created as the app's owner."""

    def seed():
        user = db.session.execute(sa.select(User).where(User.email == live_server.email)).scalar_one()
        actor, rt = Actor.from_user(user), get_runtime("sales_mini")
        acme = service.create(actor, rt, "company", {"name": "Acme Ltd"})
        deals = {title: service.create(actor, rt, "deal", {"title": title, "company": acme["id"]})["id"]
                 for title in ("Acme renewal", "Globex pilot", "Initech upsell")}
        return {"company": acme["id"], **deals}

    return live_server.run(seed)


def detail_value(page, key: str):
    return page.locator(f"[data-field='{key}'] dd")


def change(entry, label: str):
    """The line of a history entry about `label`."""
    return entry.locator(".fl-changes li").filter(has=entry.page.locator(".fl-change-label").get_by_text(label, exact=True))


def test_fill_find_and_change_a_quote(signed_in, live_server):
    page = signed_in
    _seed(live_server)
    page.get_by_role("link", name=re.compile("Sales \\(mini\\)")).click()
    page.get_by_role("link", name="Quote", exact=True).first.click()
    expect(page.get_by_text("No records yet")).to_be_visible()
    page.get_by_role("link", name="New", exact=True).click()
    expect(page.get_by_role("heading", name="New Quote")).to_be_visible()

    # Two rows: the one the page starts with, and one added with the button.
    page.locator("[name='items-0-product']").fill("CRM seats")
    page.locator("[name='items-0-qty']").fill("10")
    page.locator("[name='items-0-price']").fill("1200")
    page.locator("[name='items-0-discount']").fill("10")
    page.get_by_role("button", name="Add row").click()
    expect(page.locator("[data-subform-rows] tr")).to_have_count(2)
    page.locator("[name='items-1-product']").fill("Training day")
    page.locator("[name='items-1-price']").fill("8000")

    # The deal, through the link picker: search, then choose.
    page.get_by_role("combobox", name="Deal", exact=True).fill("renewal")
    option = page.get_by_role("option", name=re.compile("Acme renewal"))
    expect(option).to_have_count(1)
    expect(page.get_by_role("option")).to_have_count(1)
    option.click()
    expect(page.locator("[data-field='deal'] .fl-chip")).to_have_text("Acme renewal")

    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("The record was created.")).to_be_visible()
    expect(detail_value(page, "total")).to_have_text("18,800")  # 10 × 1200 × 90% + 8000
    expect(detail_value(page, "deal")).to_have_text("Acme renewal")
    number = page.locator("h1").inner_text()
    assert re.fullmatch(r"Q-\d{4}-0001", number)

    # Back in the list, the quote is there with its total.
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Quote").click()
    row = page.locator("tbody tr", has_text=number)
    expect(row).to_contain_text("18,800")
    expect(row).to_contain_text("Acme renewal")
    row.get_by_role("link", name=number).click()

    # Change a quantity; the total follows and the history shows the change.
    page.get_by_role("link", name="Edit").click()
    expect(page.locator("[name='items-1-qty']")).to_have_value("1")
    page.locator("[name='items-1-qty']").fill("3")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Your changes were saved.")).to_be_visible()
    expect(detail_value(page, "total")).to_have_text("34,800")
    latest = page.locator(".fl-timeline-item").first
    expect(latest).to_contain_text("changed the record")
    expect(change(latest, "Items, row 2 · Quantity")).to_contain_text(re.compile(r"Quantity\s*1\s*3$"))
    expect(change(latest, "Total")).to_contain_text(re.compile(r"Total\s*18,800\s*34,800$"))
    expect(page.locator(".fl-timeline-item")).to_have_count(2)


def test_a_required_field_left_empty_shows_its_error_and_keeps_the_rest(signed_in, live_server):
    page = signed_in
    _seed(live_server)
    page.goto("/a/sales_mini/f/deal/new")
    page.get_by_label("Amount").fill("5000")
    page.get_by_label("Probability %").fill("40")
    page.get_by_role("combobox", name="Company", exact=True).fill("acme")
    page.get_by_role("option", name=re.compile("Acme Ltd")).click()
    page.get_by_role("button", name="Save", exact=True).click()

    title = page.get_by_label("Title")
    expect(title).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#title-error")).to_have_text("Title is required")
    expect(page.locator("#fl-error-summary")).to_contain_text("Title is required")
    expect(page.get_by_label("Amount")).to_have_value("5000")
    expect(page.get_by_label("Probability %")).to_have_value("40")
    expect(page.locator("[data-field='company'] .fl-chip")).to_have_text("Acme Ltd")

    title.fill("Acme expansion")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("The record was created.")).to_be_visible()
    expect(detail_value(page, "amount")).to_have_text("5,000.00")


def test_a_rule_shows_its_field_while_typing(signed_in, live_server):
    page = signed_in
    page.goto("/a/sales_mini/f/deal/new")
    reason = page.get_by_label("Lost reason")
    expect(reason).to_be_hidden()
    page.get_by_label("Stage").select_option("lost")
    expect(reason).to_be_visible()
    page.get_by_label("Stage").select_option("won")
    expect(reason).to_be_hidden()
