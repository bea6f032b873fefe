"""The CRM's sales overview in a real browser, as the director, in Chinese on a desktop and
in English on a 390 px phone: the KPIs, the drawn charts, the leaderboard of the reps,
nothing running off the phone. Screenshots go to $FORMLOOM_SHOTS when it is set."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import User

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect
SHOTS = os.environ.get("FORMLOOM_SHOTS")
CASES = {"zh": ("zh-CN", 1360, "销售总览", "赢单排行(近12个月)"),
         "en": ("en-US", 390, "Sales overview", "Leaderboard, last 12 months")}


def _seed(language: str) -> None:
    from formloom.app_templates import people
    from formloom.builder.demo_org import ensure_people
    from formloom.builder.templates import fill_sample_data, install_template

    admin = db.session.execute(sa.select(User).where(User.email == "ann@example.com")).scalar_one()
    actor = Actor.from_user(admin)
    install_template("crm", actor, language=language)
    ids = ensure_people(people("crm", language), "secret-pass-1")
    fill_sample_data("crm", actor, "crm", 0.05, language, ids)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_director_reads_the_sales_overview(browser, live_server, language):
    locale, width, heading, leaderboard = CASES[language]
    live_server.run(_seed, language)
    context = browser.new_context(base_url=live_server.url, locale=locale, viewport={"width": width, "height": 900})
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto("/login")
        page.locator("input[name=email]").fill("director@example.com")
        page.locator("input[name=password]").fill("secret-pass-1")
        page.locator("input[name=password]").press("Enter")
        page.wait_for_url(live_server.url + "/")
        page.goto("/a/crm/dashboards/sales_overview")
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        expect(page.locator("[data-widget=won_month]")).to_be_visible()
        expect(page.locator("[data-widget=win_rate] .fl-kpi-value")).to_have_text(re.compile(r"^\d+(\.\d)?%$"))
        expect(page.locator("[data-widget=funnel] .fl-chart[data-rendered='1'] canvas")).to_be_visible()
        expect(page.locator("[data-widget=won_by_month] .fl-chart[data-rendered='1'] canvas")).to_be_visible()
        board = page.locator("[data-widget=leaderboard]")
        expect(board).to_contain_text(leaderboard)
        rows = page.request.get("/api/v1/apps/crm/dashboards/sales_overview/widgets/leaderboard/data").json()["rows"]
        assert 1 <= len(rows) <= 4  # the reps with won deals in the last 12 months
        expect(board.locator("tbody tr")).to_have_count(len(rows))  # every row of its data, drawn
        if width == 390:
            assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing runs off the phone
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SHOTS) / f"crm_dashboard_{language}_{width}.png"), full_page=True)
    finally:
        context.close()
