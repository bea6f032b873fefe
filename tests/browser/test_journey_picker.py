"""The link picker in a real browser, with answers held back as a slow network would: the
list always answers what is typed (an older answer never replaces a newer one, a stale
option picks nothing), a click links exactly the record it shows, and the list closes on a
choice, on Escape and on leaving the box, with no late answer reopening it over the form."""
from __future__ import annotations

import copy
import re
from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa

from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import User
from formloom.runtime.records import service

from support_formloom import Factory

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect
DEFINITION = {
    "key": "crm", "name": "CRM", "forms": [
        {"key": "deal", "name": "Deal", "title_field": "name", "fields": [
            {"key": "name", "type": "text", "label": "Name"}]},
        {"key": "visit", "name": "Visit", "title_field": "subject", "fields": [
            {"key": "subject", "type": "text", "label": "Subject"},
            {"key": "deal", "type": "link", "form": "deal", "label": "Deal"}]}]}


class SlowLookups:
    """Holds back the picker's lookups for one search text until `release` lets them go."""

    def __init__(self, page):
        self.hold_for: str | None = None
        self.held: list = []
        page.route(re.compile(r"/f/deal/lookup"), self._handle)

    @staticmethod
    def text_of(url: str) -> str:
        return parse_qs(urlparse(url).query).get("q", [""])[0]

    def _handle(self, route):
        if self.hold_for is not None and self.text_of(route.request.url) == self.hold_for:
            self.held.append(route)
        else:
            route.continue_()

    def release(self):
        self.hold_for = None
        held, self.held = self.held, []
        for route in held:
            try:
                route.continue_()
            except Exception:  # noqa: BLE001 - the page gave up on it (aborted): that is fine
                pass


@pytest.fixture
def visit_form(signed_in, live_server):
    def seed():
        owner = db.session.execute(sa.select(User).where(User.email == live_server.email)).scalar_one()
        rt = Factory(live_server.app).install(copy.deepcopy(DEFINITION), owner=owner)
        for n in range(1, 61):
            service.create(Actor.from_user(owner), rt, "deal", {"name": f"Deal {n}"})
        return rt.key

    app_key = live_server.run(seed)
    slow = SlowLookups(signed_in)
    signed_in.goto(f"/a/{app_key}/f/visit/new")
    return signed_in, slow


def _asked(page, text):
    return page.expect_request(lambda r: "/lookup" in r.url and SlowLookups.text_of(r.url) == text)


def test_a_click_links_what_the_list_shows_for_the_typed_text(visit_form):
    page, slow = visit_form
    box = page.get_by_role("combobox", name="Deal")
    options = page.get_by_role("option")
    box.click()
    expect(options.first).to_contain_text("Deal 1#")

    slow.hold_for = "Deal 57"
    with _asked(page, "Deal 57"):
        box.fill("Deal 57")
    # The unfiltered list is still on screen but answers older text: its top option links nothing.
    options.first.click(force=True)
    expect(page.locator(".fl-chip")).to_have_count(0)

    slow.release()
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Deal 57")
    options.first.click()
    expect(page.locator(".fl-chip")).to_have_text("Deal 57")
    page.wait_for_load_state("networkidle")
    expect(options).to_have_count(0)  # closed on the choice, and nothing reopened it
    page.get_by_label("Subject").click()
    expect(page.get_by_label("Subject")).to_be_focused()


def test_an_older_answer_never_replaces_a_newer_one(visit_form):
    page, slow = visit_form
    box = page.get_by_role("combobox", name="Deal")
    options = page.get_by_role("option")
    slow.hold_for = ""
    with _asked(page, ""):
        box.click()  # the unfiltered list is on its way, slowly
    with _asked(page, "Deal 57"):
        box.fill("Deal 57")
    expect(options).to_have_count(1)
    slow.release()
    page.wait_for_load_state("networkidle")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Deal 57")


@pytest.mark.parametrize("leave", ["Escape", "blur"])
def test_a_closed_list_stays_closed_when_a_late_answer_comes(visit_form, leave):
    page, slow = visit_form
    box = page.get_by_role("combobox", name="Deal")
    options = page.get_by_role("option")
    box.click()
    expect(options.first).to_be_visible()
    slow.hold_for = "Deal 5"
    with _asked(page, "Deal 5"):
        box.fill("Deal 5")
    if leave == "Escape":
        box.press("Escape")
    else:
        page.get_by_label("Subject").click()
    expect(options).to_have_count(0)
    slow.release()
    page.wait_for_load_state("networkidle")
    expect(options).to_have_count(0)
    page.get_by_label("Subject").fill("Call about the deal")  # the next click lands on the form
    expect(page.get_by_label("Subject")).to_have_value("Call about the deal")
