"""The lookups and rollups API: rebuild a form in the background, list and follow refreshes."""
from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa

from formloom.platform.extensions import db
from formloom.platform.models import RelationRefresh
from formloom.runtime.records import service as records

from support_formloom import conforms
from support_relations import DEFINITION, KEY, SYSTEM, corrupt, in_progress, sales, won_total

API = f"/api/v1/apps/{KEY}"


@pytest.fixture
def app(app_with):
    return app_with(FORMLOOM_JOBS_EAGER=True)


@pytest.fixture
def member(make):
    return make.user("Member", password=None)


@pytest.fixture
def rt(make, owner, member):
    return make.install(copy.deepcopy(DEFINITION), owner=owner, members=[member])


def count() -> int:
    db.session.rollback()
    return db.session.execute(sa.select(sa.func.count()).select_from(RelationRefresh)).scalar()


def test_rebuild_answers_202_with_the_refresh_and_puts_values_right(any_db, rt, owner, api_as):
    acme = sales(rt)
    corrupt(rt, acme)
    resp = api_as(owner).post(f"{API}/forms/customer/rebuild")
    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    assert body["form"] == "customer" and body["cause"] == {"kind": "rebuild"}
    assert body["total"] == 1 and body["status"] in ("queued", "running", "done")
    assert won_total(rt, acme) == 100  # the job ran at commit (FORMLOOM_JOBS_EAGER)

    got = api_as(owner).get(f"{API}/refreshes/{body['id']}")
    assert got.status_code == 200
    state = got.get_json()
    assert (state["id"], state["status"], state["done"], state["changed"], state["percent"]) == (
        body["id"], "done", 1, 1, 100)
    assert state["finished_at"].endswith("Z") and state["error"] is None
    listed = api_as(owner).get(f"{API}/refreshes").get_json()["items"]
    assert [r["id"] for r in listed] == [body["id"]]

    doc = api_as(owner).get("/api/v1/openapi.json").get_json()
    assert conforms({**doc["components"]["schemas"]["Refresh"], "components": doc["components"]}, got.get_json())
    assert f"{API}/forms/customer/rebuild" in doc["paths"] and f"{API}/forms/note/rebuild" not in doc["paths"]
    assert f"{API}/refreshes/{{id}}" in doc["paths"]


def test_the_list_is_newest_first_and_shows_progress(rt, owner, api_as):
    ids = [records.create(SYSTEM, rt, "customer", {"name": f"C{i}"})["id"] for i in range(4)]
    db.session.commit()
    first = in_progress(rt, ids, done=3)
    second = in_progress(rt, ids[:2], done=0)
    items = api_as(owner).get(f"{API}/refreshes").get_json()["items"]
    assert [(r["id"], r["done"], r["total"], r["percent"]) for r in items] == [(second, 0, 2, 0), (first, 3, 4, 75)]


def test_read_only_tokens_and_members_are_refused(rt, owner, member, api_as):
    reader = api_as(owner, read_only=True)
    resp = reader.post(f"{API}/forms/customer/rebuild")
    assert resp.status_code == 403 and "read-only" in resp.get_json()["detail"]
    assert reader.get(f"{API}/refreshes").status_code == 200  # reading is fine
    them = api_as(member)
    assert them.post(f"{API}/forms/customer/rebuild").status_code == 403
    assert them.get(f"{API}/refreshes").status_code == 403
    assert count() == 0
    refresh_id = in_progress(rt, [1])
    assert them.get(f"{API}/refreshes/{refresh_id}").status_code == 403
    doc = them.get("/api/v1/openapi.json").get_json()
    assert f"{API}/refreshes" not in doc["paths"]


def test_tokens_of_another_app_and_outsiders_do_not_reach_it(make, rt, owner, api_as):
    other = make.install("sales-mini", owner=owner)
    limited = api_as(owner, app_id=other.app_id)
    assert limited.post(f"{API}/forms/customer/rebuild").status_code == 404
    assert limited.get(f"{API}/refreshes").status_code == 404
    assert api_as(make.user("Outsider", password=None)).get(f"{API}/refreshes").status_code == 404
    assert count() == 0


def test_unknown_forms_forms_without_computed_fields_and_unknown_refreshes(rt, owner, api_as):
    api = api_as(owner)
    resp = api.post(f"{API}/forms/nope/rebuild")
    assert resp.status_code == 404 and resp.get_json()["detail"] == 'No form "nope" in this app'
    resp = api.post(f"{API}/forms/note/rebuild")
    assert resp.status_code == 400
    assert resp.get_json()["detail"] == 'Form "note" has no lookup, rollup or formula fields to rebuild'
    assert count() == 0
    assert api.get(f"{API}/refreshes/12345").status_code == 404
    assert api.get(f"{API}/refreshes").get_json() == {"items": []}
