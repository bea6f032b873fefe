"""The builder in the browser, with no JSON in sight: an admin creates an app from blank,
drags a text and a single-choice field onto its form, gives the choice coloured options,
publishes after reading the plan, and fills in the form; a second tab editing the same draft
is refused with a message instead of overwriting; the pages in Chinese at phone width."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect
SHOTS = os.environ.get("FORMLOOM_SHOTS")


def shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def saved(page):
    expect(page.locator("[data-draft-status]")).to_have_attribute("data-state", re.compile("saved|invalid"))


def drag(page, source, target):
    """Drag with the mouse, in steps, as a person does (SortableJS follows the pointer), and
    let go over the upper part of `target`."""
    start, end = source.bounding_box(), target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 10, start["y"] + start["height"] / 2 + 10, steps=5)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + min(end["height"] / 4, 10), steps=20)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + min(end["height"] / 4, 10) + 2, steps=2)
    page.mouse.up()


def new_app(page, name="Visits", key="visits"):
    page.goto("/")
    page.locator("[data-new-app]").click()
    page.locator("#name").fill(name)
    page.locator("#key").fill(key)
    page.locator("[data-create-app]").click()
    expect(page).to_have_url(re.compile(f"/a/{key}/design$"))


def _member(server, app_key: str) -> str:
    """A plain member of the app (not an admin); returns their email."""
    import sqlalchemy as sa

    from formloom.builder.apps import add_member
    from formloom.platform.actor import Actor
    from formloom.platform.cli import ensure_user
    from formloom.platform.extensions import db
    from formloom.platform.models import User

    def seed():
        owner = db.session.execute(sa.select(User).where(User.email == server.email)).scalar_one()
        eve = ensure_user("eve@example.com", "Eve", server.password)
        add_member(Actor.from_user(owner), app_key, eve.id)
        return eve.email

    return server.run(seed)


def test_admin_builds_publishes_and_a_member_fills_the_form(signed_in, browser, live_server):
    page = signed_in
    new_app(page)
    shot(page, "designer-new")
    canvas = page.locator("[data-canvas]")
    drag(page, page.locator("[data-palette] [data-type='text']"), canvas.locator(".fl-field-card").first)
    expect(canvas.locator(".fl-field-card")).to_have_count(2)
    page.locator("#fl-set-label").fill("Customer")
    expect(canvas.locator(".fl-field-card.is-selected")).to_contain_text("Customer")
    drag(page, page.locator("[data-palette] [data-type='select']"), canvas.locator(".fl-field-card").first)
    cards = canvas.locator(".fl-field-card")
    expect(cards).to_have_count(3)
    expect(page.locator("#fl-set-type")).to_have_value("select")
    page.locator("#fl-set-label").fill("Region")
    page.locator("#fl-set-required").check()
    page.locator("[data-option-label='0']").fill("North")
    page.locator("[data-add-option]").click()
    page.locator("[data-option-label='1']").fill("South")
    page.locator("[data-add-option]").click()
    page.locator("[data-option-label='2']").fill("East")
    page.locator("[data-pointer$='/options/2'] input[type='color']").fill("#d97706")
    expect(canvas.locator(".fl-field-card.is-selected")).to_contain_text("Region")
    # A show rule: Customer only when the region is East.
    page.locator("[data-form-settings]").click()
    page.locator("[data-add-rule]").click()
    rule = page.locator("[data-rule='0']")
    rule.locator("[data-rule-field]").select_option(label="Region")
    rule.locator("[data-rule-value]").select_option(label="East")
    rule.locator("label", has_text="Customer").first.click()
    saved(page)
    shot(page, "designer-fields")
    page.locator("[data-publish]").click()
    expect(page).to_have_url(re.compile("/a/visits/publish$"))
    plan = page.locator("[data-plan]")
    expect(plan).to_contain_text("Adds the field Region to Form 1")
    expect(plan).to_contain_text("Adds the field Customer to Form 1")
    shot(page, "publish-plan")
    page.locator("[data-publish-now]").click()
    expect(page.locator(".alert-success")).to_contain_text("Version 2 is published")
    email = _member(live_server, "visits")
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(10_000)
    eve = context.new_page()
    eve.goto("/login")
    eve.locator("[name='email']").fill(email)
    eve.locator("[name='password']").fill(live_server.password)
    eve.locator(".btn-primary[type='submit']").click()
    eve.wait_for_url(live_server.url + "/")
    expect(eve.locator("[data-new-app]")).to_be_visible()
    eve.goto("/a/visits/design")
    expect(eve.locator("body")).to_contain_text("Only the app's administrators can design it.")
    eve.goto("/a/visits/f/form_1/new")
    eve.get_by_label("Title").fill("First visit")
    expect(eve.get_by_label("Customer")).to_be_hidden()
    eve.get_by_label("Region").select_option(label="East")
    eve.get_by_label("Customer").fill("Acme")
    eve.get_by_role("button", name=re.compile("^(Save|Create)")).first.click()
    expect(eve.locator("body")).to_contain_text("First visit")
    expect(eve.locator("body")).to_contain_text("East")
    context.close()


def test_a_second_editor_is_refused_instead_of_overwriting(signed_in, browser, live_server):
    page = signed_in
    new_app(page)
    other = page.context.new_page()
    other.goto("/a/visits/design")
    page.locator("[data-palette] [data-type='number']").click()
    saved(page)
    other.locator("[data-palette] [data-type='date']").click()
    expect(other.locator("[data-conflict]")).to_be_visible()
    expect(other.locator("[data-conflict]")).to_contain_text("Someone else changed this draft")
    expect(other.locator("[data-draft-status]")).to_have_attribute("data-state", "conflict")
    other.on("dialog", lambda dialog: dialog.accept())
    other.locator("[data-overwrite]").click()  # the other choice: keep mine, knowingly
    expect(other.locator("[data-draft-status]")).to_have_attribute("data-state", "saved")
    page.reload()
    expect(page.locator("[data-canvas]")).to_contain_text("Date")
    expect(page.locator("[data-canvas]")).not_to_contain_text("Number")
    other.locator("[data-palette] [data-type='url']").click()
    saved(other)
    page.locator("[data-palette] [data-type='email']").click()
    expect(page.locator("[data-conflict]")).to_be_visible()
    page.locator("[data-reload]").click()  # the first choice: see theirs, then change again
    expect(page.locator("[data-canvas] .fl-field-card")).to_have_count(3)
    expect(page.locator("[data-canvas]")).to_contain_text("Web address")


def test_chinese_at_phone_width(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login")
    page.locator("input[name='email']").fill(live_server.email)
    page.locator("input[name='password']").fill(live_server.password)
    page.locator(".btn-primary[type='submit']").click()
    page.wait_for_url(live_server.url + "/")
    page.goto("/apps/new")
    expect(page.locator(".fl-gallery-card")).to_have_count(3)  # blank, the CRM, the mini sales
    shot(page, "zh-390-new-app")
    page.goto("/a/sales_mini/design")
    expect(page.locator("[data-form-tabs]")).to_contain_text("添加表单")
    page.locator("[data-palette] [data-type='number']").click()
    expect(page.locator("#fl-set-precision")).to_be_visible()
    page.locator("#fl-set-precision").fill("2")
    saved(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the designer scrolls sideways at 390 px ({width} px)"
    shot(page, "zh-390-designer")
    page.goto("/a/sales_mini/publish")
    expect(page.locator("[data-plan]")).to_contain_text("添加字段")
    shot(page, "zh-390-publish")
    context.close()


def _company_codes(server):
    """Company gets a text field Code, published, and two companies: code "12" and code "A-7"."""
    import sqlalchemy as sa

    from formloom.builder import apps
    from formloom.platform.actor import Actor
    from formloom.platform.extensions import db
    from formloom.platform.models import User
    from formloom.runtime.apps import get_runtime
    from formloom.runtime.records import service

    def seed():
        owner = db.session.execute(sa.select(User).where(User.email == server.email)).scalar_one()
        actor = Actor.from_user(owner)
        draft = apps.draft(actor, "sales_mini")
        draft["forms"][0]["fields"].append({"key": "code", "type": "text", "label": "Code"})
        apps.save_draft(actor, "sales_mini", draft)
        apps.publish(actor, "sales_mini")
        rt = get_runtime("sales_mini")
        return [service.create(actor, rt, "company", {"name": n, "code": c})["id"]
                for n, c in (("Acme", "12"), ("Beta", "A-7"))]

    return server.run(seed)


def test_admin_changes_a_type_reads_the_loss_confirms_then_restores(signed_in, live_server):
    page = signed_in
    acme, beta = _company_codes(live_server)
    page.goto("/a/sales_mini/design")
    page.locator("[data-canvas] [data-field-key='code']").click()
    page.locator("#fl-set-type").select_option("number")
    saved(page)
    page.locator("[data-publish]").click()
    expect(page.locator("[data-plan]")).to_contain_text("Changes Code of Company from Single-line text to Number")
    loss = page.locator("[data-loss]")
    expect(loss).to_contain_text("1 value cannot be converted")
    expect(loss.locator("[data-loss-row]")).to_have_count(1)
    expect(loss.locator(f"a[href$='/f/company/r/{beta}']")).to_have_text("Company · Beta")
    expect(loss).to_contain_text("A-7")
    shot(page, "publish-loss")
    page.locator("#accept_loss").check()
    page.locator("[data-publish-now]").click()
    expect(page.locator(".alert-success")).to_contain_text("Version 3 is published")
    page.goto(f"/a/sales_mini/f/company/r/{acme}")
    expect(page.locator("[data-field='code']")).to_contain_text("12")

    page.goto("/a/sales_mini/versions")
    expect(page.locator("[data-version]")).to_have_count(3)
    page.locator("[data-version='2'] [data-restore]").click()
    expect(page.locator("[data-plan]")).to_contain_text("Changes Code of Company from Number to Single-line text")
    shot(page, "restore-review")
    page.locator("[data-publish-now]").click()
    expect(page.locator(".alert-success")).to_contain_text("Version 2 is published again as version 4")
    shot(page, "versions")


def test_admin_adds_a_number_a_formula_a_link_and_a_subform(signed_in):
    page = signed_in
    new_app(page)
    page.locator("[data-add-form]").click()
    expect(page.locator("[data-form-tab]")).to_have_count(2)
    page.locator("[data-form-tab='form_1']").click()
    canvas = page.locator("[data-canvas]")
    page.locator("[data-palette] [data-type='number']").click()
    page.locator("#fl-set-label").fill("Amount")
    page.locator("#fl-set-key").fill("amount")
    page.locator("#fl-set-precision").fill("2")
    page.locator("[data-palette] [data-type='formula']").click()
    page.locator("#fl-set-label").fill("Double")
    page.locator("#fl-set-key").fill("double")
    page.locator("#fl-set-expr").fill("amount * ")
    expect(page.locator("[data-formula-caret]")).to_be_visible()  # the validator's problem, at its token
    page.locator("#fl-set-expr").fill("amount * 2")
    expect(page.locator("[data-formula-caret]")).to_have_count(0)
    page.locator("[data-palette] [data-type='link']").click()
    page.locator("#fl-set-label").fill("Other")
    expect(page.locator("#fl-set-form")).to_have_value("form_2")
    page.locator("[data-palette] [data-type='subform']").click()
    page.locator("#fl-set-label").fill("Lines")
    sub = canvas.locator(".fl-canvas-sub")
    page.locator("[data-palette] [data-type='number']").click()  # the subform is chosen: a column
    expect(sub.locator(".fl-field-card")).to_have_count(2)
    page.locator("#fl-set-label").fill("Qty")
    saved(page)
    expect(page.locator("[data-draft-status]")).to_have_attribute("data-state", "saved")
    page.locator("[data-publish]").click()
    plan = page.locator("[data-plan]")
    for label in ("Amount", "Double", "Other", "Lines"):
        expect(plan).to_contain_text(f"Adds the field {label} to Form 1")
    expect(plan).to_contain_text("Adds the form Form 2")
    page.locator("[data-publish-now]").click()
    expect(page.locator(".alert-success")).to_contain_text("Version 2 is published")
    page.goto("/a/visits/f/form_1/new")
    page.get_by_label("Title").fill("Second visit")
    page.get_by_label("Amount").fill("12.5")
    expect(page.locator("[data-computed='double']")).to_have_text("25")
    expect(page.locator("[data-subform]")).to_be_visible()


def test_a_serial_numbers_pattern_shows_what_the_numbers_look_like(signed_in):
    page = signed_in
    page.goto("/a/sales_mini/design")
    page.locator("[data-palette] [data-type='serial']").click()
    page.locator("#fl-set-pattern").fill("Q-{YYYY}-{seq:4}")
    expect(page.locator("[data-serial-preview]")).to_have_text(re.compile(r"Q-20\d\d-0001$"))
    saved(page)


def test_problems_show_where_they_are_in_words(signed_in):
    page = signed_in
    new_app(page)
    page.locator("[data-add-form]").click()
    page.locator("[data-form-tab='form_2']").click()
    page.locator("[data-palette] [data-type='select']").click()
    page.locator("[data-option-label='0']").fill("")
    page.locator("[data-pointer$='/options/0'] .fl-option-value").fill("Bad Value!")  # still valid: any text
    page.locator("#fl-set-key").fill("Bad Key")
    key = page.locator("[data-setting='key']")
    expect(key).to_have_class(re.compile("fl-has-error"))
    expect(key.locator(".invalid-feedback")).to_contain_text("not a valid key")
    page.locator("[data-form-tab='form_1']").click()
    expect(page.locator("[data-form-tab='form_2']")).to_have_class(re.compile("fl-has-error"))
    expect(page.locator("[data-error-list]")).to_contain_text("Form 2 › Single choice › Key:")
    page.locator("[data-publish]").click()
    expect(page.locator("[data-draft-errors]")).to_contain_text("Form 2 › Single choice › key:")


def test_a_form_added_by_mistake_is_removed(signed_in):
    page = signed_in
    new_app(page)
    page.locator("[data-add-form]").click()
    expect(page.locator("[data-form-tab]")).to_have_count(2)
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("[data-remove-form]").click()
    expect(page.locator("[data-form-tab]")).to_have_count(1)
    saved(page)
    page.reload()
    expect(page.locator("[data-form-tab]")).to_have_count(1)
    expect(page.locator("[data-remove-form]")).to_have_count(0)  # an app keeps one form at least


def test_choosing_a_template_proposes_its_next_free_key_and_its_languages(signed_in):
    """The one page to start an app: a template's card fills in the key no app has yet (the
    example already holds "sales_mini"), offers the template's languages, and names its forms."""
    page = signed_in
    page.goto("/")
    expect(page.locator("a[href='/templates']")).to_have_count(0)  # one way in: New app
    page.locator("[data-new-app]").click()
    card = page.locator("#template-sales_mini")
    expect(card).to_contain_text("Quote")
    card.click()
    expect(page.locator("#key")).to_have_value("sales_mini_2")
    expect(page.locator("#name")).to_have_attribute("placeholder", "Sales (mini)")
    expect(page.locator("#language option")).to_have_count(2)
    shot(page, "en-1360-new-app-template")
    page.locator(".fl-gallery-card[data-template='']").click()
    expect(page.locator("#key")).to_have_value("")  # the proposal goes with the card
    card.click()
    page.locator("#key").fill("east")
    page.locator(".fl-gallery-card[data-template='']").click()
    card.click()
    expect(page.locator("#key")).to_have_value("east")  # what the user typed stays
    page.locator("#sample_data").uncheck()
    page.locator("[data-create-app]").click()
    expect(page).to_have_url(re.compile("/a/east$"))
    expect(page.locator("body")).to_contain_text("The app is installed.")
    page.goto("/templates")  # the old gallery's address
    expect(page).to_have_url(re.compile("/apps/new$"))
