"""A sales rep sees only their customers, their manager the team's; a field hidden from reps
is absent from the rep's pages and API answers."""
from __future__ import annotations

import os
import re
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from formloom.platform.auth import create_token
from formloom.platform.extensions import db
from formloom.platform.models import User

from support_acl import APP, SECRET, build_world
from support_formloom import Factory

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect
SHOTS = os.environ.get("FORMLOOM_SHOTS")  # a folder: keep screenshots of each step there


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _sign_in(browser, live_server, user):
    context = browser.new_context(base_url=live_server.url, locale="en-US", viewport={"width": 1360, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("secret-pass-1")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.url + "/")
    return context, page


def _open_customers(page) -> None:
    page.get_by_role("link", name=re.compile("CRM ACL")).click()
    page.get_by_role("link", name="Customer", exact=True).first.click()


def test_rep_sees_own_customers_and_manager_the_teams(browser, live_server):
    def seed():
        world = build_world(Factory(live_server.app))
        # Plain copies: the session that loaded the users ends with `run`.
        world.users = {k: SimpleNamespace(id=u.id, email=u.email, name=u.name) for k, u in world.users.items()}
        return world

    world = live_server.run(seed)
    rep, manager = world.users["rep"], world.users["manager"]

    context, page = _sign_in(browser, live_server, rep)
    try:
        _open_customers(page)
        rows = page.locator("table tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Acme own")
        expect(page.get_by_role("link", name="New", exact=True)).to_be_visible()
        _shot(page, "rep-list")
        page.get_by_role("link", name="Acme own").click()
        expect(page.locator("[data-field='phone'] dd")).to_contain_text(f"{SECRET['phone']}-own")
        expect(page.locator("[data-field='margin_note']")).to_have_count(0)
        assert SECRET["margin_note"] not in page.content()
        _shot(page, "rep-detail")
        page.get_by_role("link", name="Edit", exact=True).click()
        expect(page.locator("[name='notes']")).to_be_visible()
        expect(page.locator("[name='tier']")).to_have_count(0)  # read-only for reps: shown, not an input
        expect(page.locator("[name='margin_note']")).to_have_count(0)
        page.locator("[name='notes']").fill("Called on Monday")
        page.get_by_role("button", name=re.compile("^Save")).first.click()
        expect(page.get_by_text("Your changes were saved.")).to_be_visible()
        _shot(page, "rep-saved")
    finally:
        context.close()

    # The same through the API: the hidden field is not in the answer, and the save kept it.
    token = live_server.run(lambda: create_token(db.session.get(User, rep.id)))
    req = urllib.request.Request(f"{live_server.url}/api/v1/apps/{APP}/forms/customer/records/{world.records['own']}",
                                 headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req) as resp:
        body = resp.read().decode()
    assert "margin_note" not in body and SECRET["margin_note"] not in body
    assert "Called on Monday" in body

    context, page = _sign_in(browser, live_server, manager)
    try:
        _open_customers(page)
        rows = page.locator("table tbody tr")
        expect(rows).to_have_count(2)
        expect(page.locator("table tbody")).to_contain_text("Acme own")
        expect(page.locator("table tbody")).to_contain_text("Acme department")
        expect(page.locator("table tbody")).not_to_contain_text("Acme other")
        expect(page.get_by_role("link", name="New", exact=True)).to_have_count(0)  # managers review, reps add
        _shot(page, "manager-list")
        page.get_by_role("link", name="Acme own").click()
        expect(page.locator("[data-field='margin_note'] dd")).to_contain_text(f"{SECRET['margin_note']}-own")
        expect(page.get_by_role("link", name="Edit", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Delete")).to_have_count(0)
        _shot(page, "manager-detail")
    finally:
        context.close()
