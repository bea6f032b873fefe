"""The Lookups and rollups page (/a/<app>/relations): the fields in words, a rebuild per form,
the recent refreshes with their progress (and its JSON), and the `formloom relations` command."""
from __future__ import annotations

import copy
import html
import re

import pytest
import sqlalchemy as sa

from formloom.platform import jobs
from formloom.platform.extensions import db
from formloom.platform.models import RelationRefresh
from formloom.runtime.records import service as records

from support_formloom import browser
from support_relations import DEFINITION, KEY, SYSTEM, corrupt, in_progress, sales, won_total

PAGE = f"/a/{KEY}/relations"
PLAIN = {"key": KEY, "name": "CRM", "forms": [DEFINITION["forms"][2]]}


@pytest.fixture
def app(app_with):
    return app_with(FORMLOOM_JOBS_EAGER=True)


@pytest.fixture
def owner(make):
    return make.user("Olga Owner")


@pytest.fixture
def member(make):
    return make.user("Member")


@pytest.fixture
def rt(make, owner, member):
    return make.install(copy.deepcopy(DEFINITION), owner=owner, members=[member])


@pytest.fixture
def olga(app, owner, rt):
    return browser(app, owner)


def said(text: str) -> str:
    text = re.sub(r"<script.*?</script>|<style.*?</style>", " ", text, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text))).strip()


def part(resp, tag: str, attr: str, value) -> str:
    found = re.search(rf'<{tag}[^>]*{attr}="{value}"[^>]*>(.*?)</{tag}>', resp.get_data(as_text=True), flags=re.S)
    assert found, f"no <{tag} {attr}={value}>"
    return said(found.group(1))


def test_the_page_says_each_lookup_and_rollup_in_words(olga, rt):
    resp = olga.get(PAGE)
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert re.search(rf'class="nav-link active" href="{PAGE}" aria-current="page"', body)
    assert 'bi-diagram-3' in body
    customer = part(resp, "section", "data-relations-form", "customer")
    assert ("Won total: sum of Amount of Deal records linking here (by Customer), where Stage is won"
            in customer), customer
    assert "Deals: number of Deal records linking here (by Customer)" in customer
    deal = part(resp, "section", "data-relations-form", "deal")
    assert "Customer tier: the Tier of the linked Customer" in deal
    assert 'data-relations-form="note"' not in body  # nothing computed there
    assert re.findall(r'data-rebuild="(\w+)"', body) == ["customer", "deal"]
    assert "No updates yet" in said(body)  # nothing refreshed in the background yet
    assert "data-refresh-poll" not in body


def test_rebuild_puts_a_corrupted_rollup_right_and_lists_the_refresh(olga, rt, owner):
    acme = sales(rt)
    assert won_total(rt, acme) == 100
    corrupt(rt, acme)
    resp = olga.post(f"{PAGE}/customer/rebuild", follow_redirects=True)
    assert resp.status_code == 200
    text = said(resp.get_data(as_text=True))
    assert "Rebuilding the lookups, rollups and formulas of Customer: 1 record to go through" in text
    assert won_total(rt, acme) == 100
    [row] = db.session.execute(sa.select(RelationRefresh)).scalars().all()
    assert row.status == "done" and row.changed == 1 and row.actor_id == owner.id
    line = part(olga.get(PAGE), "tr", "data-refresh", row.id)
    assert re.search(r"Customer #\d+ Rebuild asked by Olga Owner Done 1 of 1 · 100 % 1 \d{4}-\d\d-\d\d", line), line


def test_rebuild_of_a_form_without_computed_fields_says_why(make, owner, app):
    make.install(copy.deepcopy(PLAIN), owner=owner)
    olga = browser(app, owner)
    assert "No lookups or rollups" in said(olga.get(PAGE).get_data(as_text=True))
    resp = olga.post(f"{PAGE}/note/rebuild", follow_redirects=True)
    assert 'Form "note" has no lookup, rollup or formula fields to rebuild' in said(resp.get_data(as_text=True))
    assert db.session.execute(sa.select(sa.func.count()).select_from(RelationRefresh)).scalar() == 0
    assert olga.post(f"{PAGE}/nope/rebuild").status_code == 404


def test_a_refresh_in_progress_shows_its_bar_and_its_json(olga, rt):
    ids = [records.create(SYSTEM, rt, "customer", {"name": f"C{i}"})["id"] for i in range(4)]
    db.session.commit()
    refresh_id = in_progress(rt, ids, done=1)
    resp = olga.get(PAGE)
    body = resp.get_data(as_text=True)
    url = f"{PAGE}/refreshes/{refresh_id}.json"
    assert f'data-refresh-poll="{url}"' in body
    assert 'data-percent="25"' in body
    line = part(resp, "tr", "data-refresh", refresh_id)
    assert "A change to Deal's fields Running 1 of 4 · 25 %" in line, line
    state = olga.get(url).get_json()
    assert state["id"] == refresh_id and state["status"] == "running"
    assert (state["done"], state["total"], state["percent"]) == (1, 4, 25)
    assert olga.get(f"{PAGE}/refreshes/{refresh_id + 100}.json").status_code == 404


# --- who may ------------------------------------------------------------------------------------

def test_members_are_refused_and_outsiders_do_not_see_the_app(app, make, rt, member):
    acme = sales(rt)
    corrupt(rt, acme)
    refresh_id = in_progress(rt, [acme])
    them = browser(app, member)
    assert them.get(PAGE).status_code == 403
    assert them.get(f"{PAGE}/refreshes/{refresh_id}.json").status_code == 403
    assert them.post(f"{PAGE}/customer/rebuild").status_code == 403
    assert "Lookups and rollups" not in them.get(f"/a/{KEY}/f/customer").get_data(as_text=True)
    outsider = browser(app, make.user("Outsider"))
    assert outsider.get(PAGE).status_code == 404
    assert outsider.post(f"{PAGE}/customer/rebuild").status_code == 404
    assert won_total(rt, acme) == 999  # nobody rebuilt it
    assert db.session.execute(sa.select(sa.func.count()).select_from(RelationRefresh)).scalar() == 1


# --- the command ------------------------------------------------------------------------------

def test_the_command_rebuilds_a_form_and_waits(app, runner, rt, monkeypatch):
    acme = sales(rt)
    corrupt(rt, acme)
    # No worker runs the jobs: the first stays queued, --wait runs its own in the command.
    monkeypatch.setitem(app.config, "FORMLOOM_JOBS_EAGER", False)
    monkeypatch.setattr(jobs.EmbeddedRunner, "submit", lambda self, pending: None)
    result = runner.invoke(args=["relations", "rebuild", KEY, "customer"])
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"Refresh \d+: 1 record of customer to go through\.\n", result.output), result.output
    assert won_total(rt, acme) == 999  # not done yet: in the background
    assert db.session.execute(sa.select(RelationRefresh.status)).scalar_one() == "queued"

    result = runner.invoke(args=["relations", "rebuild", KEY, "customer", "--wait"])
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"Refresh \d+: 1 record of customer to go through\.\nDone: 1 record changed\.\n",
                        result.output), result.output
    assert won_total(rt, acme) == 100
    rows = db.session.execute(sa.select(RelationRefresh).order_by(RelationRefresh.id)).scalars().all()
    assert [(r.cause, r.actor_id, r.status) for r in rows][-1] == ({"kind": "rebuild"}, None, "done")

    result = runner.invoke(args=["relations", "rebuild", KEY, "note"])
    assert result.exit_code == 1 and 'Form "note" has no lookup, rollup or formula fields' in result.output
