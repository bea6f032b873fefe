"""Data linkage in a real browser: choose a customer and its region fills (locked); pick a
product on a quote line, added rows too, and its unit price fills; a typed price stays; the
saved quote holds what the page showed."""
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
from formloom.runtime.apps import get_runtime
from formloom.runtime.records import query, service

from support_formloom import Factory

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect
SHOTS = os.environ.get("FORMLOOM_SHOTS")
BY_ID = {"field": "$id", "op": "eq", "value": {"var": "record.customer"}}
DEFINITION = {
    "key": "shop", "name": "Shop", "forms": [
        {"key": "customer", "name": "Customer", "title_field": "name", "fields": [
            {"key": "name", "type": "text", "label": "Name"},
            {"key": "region", "type": "text", "label": "Region"}]},
        {"key": "product", "name": "Product", "title_field": "name", "fields": [
            {"key": "name", "type": "text", "label": "Name"},
            {"key": "price", "type": "number", "label": "Price", "precision": 2}]},
        {"key": "quote", "name": "Quote", "title_field": "title", "fields": [
            {"key": "title", "type": "text", "label": "Title"},
            {"key": "customer", "type": "link", "form": "customer", "label": "Customer"},
            {"key": "region", "type": "text", "label": "Region",
             "linkage": {"form": "customer", "where": BY_ID, "field": "region"}},
            {"key": "lines", "type": "subform", "label": "Lines", "fields": [
                {"key": "product", "type": "link", "form": "product", "label": "Product"},
                {"key": "unit_price", "type": "number", "label": "Unit price", "precision": 2, "linkage": {
                    "form": "product", "where": {"field": "$id", "op": "eq", "value": {"var": "record.product"}},
                    "field": "price", "overwrite": True}},
                {"key": "qty", "type": "number", "label": "Qty"}]}]}]}


def _seed(server):
    def seed():
        owner = db.session.execute(sa.select(User).where(User.email == server.email)).scalar_one()
        rt = Factory(server.app).install(copy.deepcopy(DEFINITION), owner=owner)
        actor = Actor.from_user(owner)
        service.create(actor, rt, "customer", {"name": "Acme", "region": "North-East"})
        service.create(actor, rt, "product", {"name": "Fountain pen", "price": 12.5})
        service.create(actor, rt, "product", {"name": "Ink bottle", "price": 4})
        return rt.key

    return server.run(seed)


def _choose(scope, search: str, title: str) -> None:
    scope.get_by_role("combobox").fill(search)
    scope.get_by_role("option", name=re.compile(title)).click()


def test_picking_a_product_fills_the_unit_price(signed_in, live_server):
    page = signed_in
    app_key = _seed(live_server)
    page.goto(f"/a/{app_key}/f/quote/new")
    page.get_by_label("Title").fill("Pens for Acme")

    _choose(page.locator("[data-field='customer']"), "Acme", "Acme")
    region = page.locator("[name='region']")
    expect(region).to_have_value("North-East")
    expect(region).to_have_attribute("readonly", "")
    expect(region).to_have_attribute("title", "Filled in from Customer.")

    rows = page.locator("[data-subform-rows] tr")
    if rows.count() == 0:
        page.get_by_role("button", name="Add row").click()
    _choose(rows.nth(0), "pen", "Fountain pen")
    expect(page.locator("[name='lines-0-unit_price']")).to_have_value("12.5")

    page.get_by_role("button", name="Add row").click()
    _choose(rows.nth(1), "ink", "Ink bottle")
    price = page.locator("[name='lines-1-unit_price']")
    expect(price).to_have_value("4")
    price.fill("3.8")  # a negotiated price: the user's own, kept on save
    page.locator("[name='lines-1-qty']").fill("2")
    _choose(rows.nth(1), "pen", "Fountain pen")  # another product: the typed price stays
    expect(rows.nth(1).locator(".fl-chip")).to_have_text("Fountain pen")
    page.wait_for_load_state("networkidle")  # any fill the page asked for has landed
    expect(price).to_have_value("3.8")
    page.get_by_label("Title").click()  # close the pickers' result lists
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / "linkage-quote-form.png"), full_page=True)

    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("The record was created.")).to_be_visible()
    page.locator("main").get_by_text("North-East").first.wait_for()
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "linkage-quote-saved.png"), full_page=True)

    def fields():
        owner = db.session.execute(sa.select(User).where(User.email == live_server.email)).scalar_one()
        found, _cursor = query.list_records(Actor.from_user(owner), get_runtime(app_key), "quote")
        return found[0]["fields"]

    got = live_server.run(fields)
    assert got["region"] == "North-East"
    assert [r["unit_price"] for r in got["lines"]] == [12.5, 3.8]
