"""Inputs carry their fields' limits, so the browser helps before the server refuses: a name
stops at its maximum length, a probability past 100 is marked while typing, and a number the
browser cannot read stops the save where it is instead of being sent empty."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def test_the_browser_keeps_to_the_fields_limits(signed_in):
    page = signed_in
    page.goto("/a/sales_mini/f/company/new")
    name = page.get_by_label("Name")
    name.press_sequentially("x" * 205)
    expect(name).to_have_value("x" * 200)  # max_length 200

    page.goto("/a/sales_mini/f/deal/new")
    probability = page.get_by_label("Probability %")
    probability.fill("150")
    probability.blur()
    assert probability.evaluate("el => el.validity.rangeOverflow && el.matches(':user-invalid')")
    assert page.get_by_label("Amount").evaluate("el => [el.min, el.step]") == ["0", "0.01"]


def test_a_number_the_browser_cannot_read_is_not_sent_empty(signed_in):
    page = signed_in
    page.goto("/a/sales_mini/f/company/new")
    page.get_by_label("Name").fill("Acme Ltd")
    revenue = page.get_by_label("Annual revenue")
    revenue.press_sequentially("12e")  # not a number yet: the browser would send ""
    assert revenue.evaluate("el => el.validity.badInput")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(revenue).to_be_focused()
    assert page.url.endswith("/f/company/new")
    expect(page.get_by_text("The record was created.")).to_have_count(0)
