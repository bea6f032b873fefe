"""Pages follow the actor's grants: buttons, read-only fields, hidden fields, submit-only forms."""
from __future__ import annotations

import pytest

from formloom.platform.actor import Actor
from formloom.runtime.apps import get_runtime
from formloom.runtime.records import service

from support_acl import APP, SECRET, build_world, login

PAGES = f"/a/{APP}/f/customer"


@pytest.fixture
def world(make):
    return build_world(make)


def _admin_view(world, which: str) -> dict:
    admin = Actor.from_user(world.users["org_admin"])
    return service.get(admin, get_runtime(APP), "customer", world.records[which])["fields"]


def test_rep_saving_the_edit_form_keeps_hidden_and_read_only_values(app, world):
    web = login(app, world.users["rep"])
    page = web.get(f"{PAGES}/r/{world.records['own']}/edit").get_data(as_text=True)
    assert 'name="notes"' in page and 'name="tier"' not in page and "margin_note" not in page
    resp = web.post(f"{PAGES}/r/{world.records['own']}/edit",
                    data={"name": "Acme own", "notes": "Visited", "phone": "PHONE-SECRET-own", "_version": "1"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    fields = _admin_view(world, "own")
    assert fields["notes"] == "Visited"
    assert fields["margin_note"] == f"{SECRET['margin_note']}-own"  # not cleared by a form that never showed it
    assert fields["tier"] == "A"


def test_rep_cannot_post_a_read_only_or_hidden_field(app, world):
    web = login(app, world.users["rep"])
    resp = web.post(f"{PAGES}/r/{world.records['own']}/edit",
                    data={"name": "Acme own", "tier": "C", "margin_note": "guess", "_version": "1"})
    assert resp.status_code == 302  # the form has no such inputs, so they are not read
    fields = _admin_view(world, "own")
    assert fields["tier"] == "A" and fields["margin_note"] == f"{SECRET['margin_note']}-own"


def test_submit_only_user_submits_without_seeing_records(app, world):
    web = login(app, world.users["intern"])
    listing = web.get(PAGES).get_data(as_text=True)
    assert "You can submit records here" in listing and "Acme" not in listing
    home = web.get(f"/a/{APP}").get_data(as_text=True)
    assert "You can submit records here" in home
    resp = web.post(f"{PAGES}/new", data={"name": "Walk-in lead"}, follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Your record was submitted." in page
    assert resp.request.path == f"{PAGES}/new"
    assert web.get(f"{PAGES}/r/4").status_code == 404  # their own submission stays out of sight


def test_buttons_follow_the_grants(app, world):
    finance = login(app, world.users["finance"])
    page = finance.get(f"{PAGES}/r/{world.records['other']}").get_data(as_text=True)
    assert "/edit" not in page and "/delete" not in page
    assert SECRET["phone"] not in page and ">Phone<" not in page
    listing = finance.get(PAGES).get_data(as_text=True)
    assert f"{PAGES}/new" not in listing and "deleted=1" not in listing
    assert finance.get(f"{PAGES}/new").status_code == 403

    manager = login(app, world.users["manager"])
    page = manager.get(f"{PAGES}/r/{world.records['department']}").get_data(as_text=True)
    assert f"{PAGES}/r/{world.records['department']}/edit" in page and "/delete" not in page
    assert manager.post(f"{PAGES}/r/{world.records['department']}/delete").status_code == 403


def test_outsider_does_not_learn_the_app_exists(app, world):
    outsider = login(app, world.users["outsider"])
    assert outsider.get(f"/a/{APP}").status_code == 404
    assert "CRM ACL" not in outsider.get("/").get_data(as_text=True)
