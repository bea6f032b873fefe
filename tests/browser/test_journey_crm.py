"""The CRM's quote approval in a real browser, in Chinese and in English: a rep's quote with
25 % off goes to her manager, then to the director; each approves from the inbox, and the
quote reads as approved. Screenshots go to $FORMLOOM_SHOTS when it is set."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import User

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect
SHOTS = os.environ.get("FORMLOOM_SHOTS")
WORDS = {"zh": {"locale": "zh-CN", "approved": "已通过", "quote": "报价单", "progress": "审批中"},
         "en": {"locale": "en-US", "approved": "Approved", "quote": "Quote", "progress": "In progress"}}


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _seed(language: str):
    from formloom.app_templates import people
    from formloom.builder.demo_org import ensure_people
    from formloom.builder.templates import install_template
    from formloom.runtime.apps import get_runtime
    from formloom.runtime.records import service

    admin = db.session.execute(sa.select(User).where(User.email == "ann@example.com")).scalar_one()
    install_template("crm", Actor.from_user(admin), language=language)
    ids = ensure_people(people("crm", language), "secret-pass-1")
    rt = get_runtime("crm")
    rep, director = (Actor.from_user(db.session.get(User, ids[k])) for k in ("rep1", "director"))
    product = service.create(director, rt, "product", {"name": "CRM Pro", "unit_price": 2400})
    customer = service.create(rep, rt, "customer", {"name": "Acme"})
    quote = service.create(rep, rt, "quote", {"customer": customer["id"], "items": [
        {"product": product["id"], "quantity": 100, "discount": 25}]})
    return quote["id"], quote["fields"]["number"]


def _sign_in(browser, live_server, email: str, locale: str, width: int = 1360):
    context = browser.new_context(base_url=live_server.url, locale=locale, viewport={"width": width, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill("secret-pass-1")
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(live_server.url + "/")
    return context, page


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_discounted_quote_goes_to_the_manager_then_the_director(browser, live_server, language):
    words = WORDS[language]
    quote_id, number = live_server.run(_seed, language)
    contexts = []
    try:
        for who, width in (("manager1@example.com", 1360), ("director@example.com", 390)):
            context, page = _sign_in(browser, live_server, who, words["locale"], width)
            contexts.append(context)
            page.goto("/apps/new?template=crm")  # the template chosen, watched for CSP violations like every page
            expect(page.locator("#template-crm input[name=template]")).to_be_checked()
            expect(page.locator("#key")).to_have_value("crm_2")  # the CRM is installed: the next free key
            page.goto("/inbox")
            page.get_by_role("link", name=number).first.click()
            _shot(page, f"crm_{language}_{who.split('@')[0]}_task_{width}")
            page.locator("button[name=action][value=approve]").click()
            page.goto(f"/a/crm/f/quote/r/{quote_id}")
        card = page.locator("#approval")
        expect(card).to_contain_text(words["approved"])
        expect(page.locator("body")).to_contain_text(words["quote"])
        _shot(page, f"crm_{language}_quote_approved")
    finally:
        for context in contexts:
            context.close()
