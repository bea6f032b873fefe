"""A quote over the discount limit through its approval, in a real browser: the manager
approves, the director returns it to the submitter with a comment, the submitter lowers the
discount and sends it again, the director approves; the inbox counts follow every step."""
from __future__ import annotations

import os
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from support_flows import build_org, install
from support_formloom import Factory

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect
SHOTS = os.environ.get("FORMLOOM_SHOTS")


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


class People:
    """One signed-in browser tab per person, opened when first needed."""

    def __init__(self, browser, live_server, users):
        self.browser, self.server, self.users, self.tabs = browser, live_server, users, {}

    def __call__(self, name: str):
        if name not in self.tabs:
            context = self.browser.new_context(base_url=self.server.url, locale="en-US",
                                               viewport={"width": 1360, "height": 900})
            context.set_default_timeout(10_000)
            page = context.new_page()
            page.goto("/login")
            page.get_by_label("Email").fill(self.users[name].email)
            page.get_by_label("Password").fill("secret-pass-1")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(self.server.url + "/")
            self.tabs[name] = (context, page)
        page = self.tabs[name][1]
        page.goto("/inbox")
        return page

    def close(self):
        for context, _page in self.tabs.values():
            context.close()


def _badge(page) -> str:
    """The pending count in the top bar ("" when there is none)."""
    badge = page.locator("[data-fl-pending]")
    return badge.inner_text().split()[0] if badge.count() else ""


def _open_task(page, title: str) -> None:
    page.get_by_role("link", name=title).first.click()
    expect(page.get_by_role("button", name="Approve").or_(page.get_by_role("button", name="Submit again"))).to_be_visible()


def test_a_quote_goes_through_approval_with_a_return(browser, live_server):
    def seed():
        org = build_org(Factory(live_server.app))
        install(Factory(live_server.app), org)
        return {k: SimpleNamespace(email=getattr(org, k).email) for k in ("rita", "max", "dora")}

    people = People(browser, live_server, live_server.run(seed))
    try:
        rita = people("rita")
        assert _badge(rita) == ""
        rita.goto("/a/deals/f/quote/new")
        rita.get_by_label("Title").fill("Big deal")
        rita.get_by_label("Amount").fill("5000")
        rita.get_by_label("Discount %").fill("15")
        rita.get_by_role("button", name=re.compile("^(Save|Create)")).first.click()
        card = rita.locator("#approval")
        expect(card).to_contain_text("In progress")
        expect(card).to_contain_text("Max")
        _shot(rita, "1-submitted")

        max_ = people("max")
        assert _badge(max_) == "1"
        expect(max_.locator("[data-count='pending']")).to_have_text("1")
        _open_task(max_, "Big deal")
        max_.get_by_label("Comment").fill("Fine by me")
        max_.get_by_role("button", name="Approve").click()
        max_.goto("/inbox")
        assert _badge(max_) == ""

        dora = people("dora")
        assert _badge(dora) == "1"
        _open_task(dora, "Big deal")
        _shot(dora, "2-director-task")
        dora.get_by_label("Comment").fill("Lower the discount to 12 %")
        dora.get_by_role("button", name="Return…").click()
        dora.get_by_label("Return the record to").select_option(index=0)
        dora.get_by_role("button", name="Return", exact=True).click()
        dora.goto("/inbox")
        assert _badge(dora) == ""

        rita = people("rita")
        assert _badge(rita) == "1"  # back with her
        _open_task(rita, "Big deal")
        expect(rita.get_by_text("Lower the discount to 12 %").first).to_be_visible()
        _shot(rita, "3-returned")
        rita.get_by_label("Discount %").fill("12")
        rita.get_by_role("button", name="Submit again").click()
        rita.goto("/inbox")
        assert _badge(rita) == ""

        dora = people("dora")
        assert _badge(dora) == "1"  # it continues at her step, not at the manager's
        _open_task(dora, "Big deal")
        dora.get_by_role("button", name="Approve").click()
        dora.goto("/inbox")
        assert _badge(dora) == ""
        assert _badge(people("max")) == ""

        rita = people("rita")
        rita.locator("[data-tab='submitted']").click()
        rita.get_by_role("link", name="Big deal").first.click()
        card = rita.locator("#approval")
        expect(card).to_contain_text("Approved")
        expect(card).to_contain_text("Lower the discount to 12 %")
        expect(rita.locator("body")).to_contain_text("12")
        _shot(rita, "4-approved")
    finally:
        people.close()
