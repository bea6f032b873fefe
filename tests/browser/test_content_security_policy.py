"""The main pages under our Content-Security-Policy in a real browser: the policy arrives
with each page, nothing on it is blocked (the autouse watch in conftest.py fails the test
otherwise), and what moved from inline code into static files still works."""
from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_journey_linkage import DEFINITION as SHOP

from formloom.platform.cli import ensure_user
from formloom.platform.extensions import db, write_transaction
from formloom.platform.jobs import job_row
from formloom.platform.models import Department, FlowTask, Job, Role, User
from formloom.runtime.apps import get_runtime
from formloom.runtime.records import service

import support_flows as flows
from support_formloom import Factory

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect
SHOTS = os.environ.get("FORMLOOM_SHOTS")


def _seed(server) -> dict:
    """Ann (signed in) is an organisation admin, heads Sales (so Rita's quote waits for her)
    and owns three apps: sales_mini (formulas, a coloured option), shop (data linkage) and
    deals (an approval flow)."""

    def seed():
        make = Factory(server.app)
        ann = ensure_user(server.email, "Ann Lee", None, admin=True)
        org = flows.build_org(make)
        with write_transaction():
            db.session.execute(sa.update(Department).where(Department.name == "Sales").values(head_id=ann.id))
            db.session.add(Job(**job_row("email.send", {"notification": 0})))  # the Jobs page lists a kind
        deals = make.install(flows.definition(), owner=ann, members=[org.dora, org.max, org.rita, org.sam, org.fay])
        quote = service.create(org.actor("rita"), deals, "quote",
                               {"title": "Big deal", "amount": 5000, "discount": 15, "owner": org.rita.id})
        make.install(copy.deepcopy(SHOP), owner=ann)
        sales = get_runtime("sales_mini")
        me = make.actor(db.session.get(User, ann.id))
        acme = service.create(me, sales, "company", {"name": "Acme Ltd", "tier": "A"})
        deal = service.create(me, sales, "deal", {"title": "Acme renewal", "company": acme["id"]})
        task = db.session.execute(sa.select(FlowTask.id).where(FlowTask.assignee_id == ann.id)).scalar_one()
        role = db.session.execute(sa.select(Role.id).where(Role.key == "finance")).scalar_one()
        return {"quote": quote["id"], "deal": deal["id"], "task": task, "rita": org.rita.id, "role": role}

    return server.run(seed)


def _pages(ids: dict) -> list[str]:
    return [
        "/", "/a/sales_mini", "/a/sales_mini/f/company", "/a/sales_mini/f/deal", "/a/sales_mini/v/my_deals?group_by=stage",
        f"/a/sales_mini/f/deal/r/{ids['deal']}", f"/a/sales_mini/f/deal/r/{ids['deal']}/edit",
        f"/a/sales_mini/f/deal/r/{ids['deal']}/print", "/a/sales_mini/f/quote/new", "/a/shop/f/quote/new",
        f"/a/deals/f/quote/r/{ids['quote']}", "/inbox", f"/tasks/{ids['task']}",
        "/org/users", f"/org/users/{ids['rita']}", "/org/users/new", "/org/departments", "/org/roles",
        f"/org/roles/{ids['role']}", "/org/import/users",
        "/a/deals/permissions", "/a/deals/members", "/a/deals/automations", "/a/deals/webhooks",
        "/a/deals/relations", "/admin/jobs", "/admin/audit", "/notifications", "/account/tokens",
    ]


def test_the_main_pages_carry_the_policy_and_break_none_of_it(signed_in, live_server, no_csp_violations):
    page = signed_in
    ids = _seed(live_server)
    for path in _pages(ids):
        response = page.goto(path)
        assert response.status == 200, path
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe" not in policy, path
        assert no_csp_violations.seen == [], path
        if SHOTS:  # a look at every page as the policy leaves it
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SHOTS) / f"csp{re.sub(r'[^a-z0-9]+', '-', path)}.png"), full_page=True)


def test_the_watch_sees_a_blocked_inline_script(signed_in, no_csp_violations):
    # What every browser test relies on: an inline script on our page is refused and reported.
    signed_in.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
                       " document.body.appendChild(s); }")
    expect(signed_in.locator("body")).to_be_visible()
    assert signed_in.evaluate("() => window.ran") is None
    assert any("inline script" in line for line in no_csp_violations.seen)
    no_csp_violations.seen.clear()


def test_moved_scripts_and_styles_still_work(signed_in, live_server):
    page = signed_in
    ids = _seed(live_server)

    # A coloured option: its badge takes the colour from data-badge-color (no style attribute).
    page.goto("/a/sales_mini/f/company")
    badge = page.locator(".fl-badge", has_text="Key account").first
    expect(badge).to_have_attribute("data-badge-color", "#d4380d")
    assert badge.evaluate("el => getComputedStyle(el).getPropertyValue('--fl-badge').trim()") == "#d4380d"

    # The inbox's "select all" box (was an inline script).
    page.goto("/inbox")
    page.get_by_label("Select all").check()
    expect(page.locator("input[name=task]").first).to_be_checked()
    page.get_by_label("Select all").uncheck()
    expect(page.locator("input[name=task]").first).not_to_be_checked()

    # The flow diagram is styled from web.css (its <style> element is gone).
    page.goto(f"/a/deals/f/quote/r/{ids['quote']}")
    # An unstyled SVG shape is filled black.
    box = page.locator("svg.fld .fld-box").first
    assert box.evaluate("el => getComputedStyle(el).fill") != "rgb(0, 0, 0)"

    # The Jobs page's kind filter submits itself when changed (was onchange=).
    page.goto("/admin/jobs")
    with page.expect_navigation():
        page.locator("#f-kind").select_option("email.send")
    assert "kind=email.send" in page.url

    # A new token's copy button (was an inline script) says it copied.
    page.goto("/account/tokens")
    page.get_by_label("Name").fill("CI")
    page.get_by_role("button", name="Create token").click()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
