"""Who may make someone else a record's owner (security issue 12, finding 3).

A form with an owner field puts each record in its owner's rows ("own", "team" grants).
Only app admins and those a grant lets "reassign" may set it to someone else: on create,
change and bulk create, through the API and the pages alike (all go through the service).
"""
from __future__ import annotations

import pytest

from support_formloom import browser, problem

URL = "/api/v1/apps/crm/forms/customer/records"


def crm(*grants) -> dict:
    form = {"key": "customer", "name": "Customer", "title_field": "name", "owner_field": "owner", "fields": [
        {"key": "name", "type": "text", "label": "Name", "required": True},
        {"key": "owner", "type": "user", "label": "Owner", "default": "$me"}]}
    return {"key": "crm", "name": "CRM", "forms": [form], "permissions": list(grants)}


@pytest.fixture
def people(app, make):
    admin, ann, bob = make.user("Admin", password=None), make.user("Ann"), make.user("Bob")
    return admin, ann, bob


def install(make, people, *grants):
    admin, ann, bob = people
    make.install(crm(*grants), owner=admin, members=[ann, bob])


def test_a_member_cannot_create_a_record_owned_by_someone_else(any_db, make, people, api_as):
    install(make, people)  # no grant: the members' default (everything but reassign)
    _admin, ann, bob = people
    api = api_as(ann)
    body = problem(api.post(URL, json={"fields": {"name": "Planted", "owner": bob.id}}), 403)
    assert body["errors"] == [{"field": "owner", "message": "may be set only to yourself"}]
    assert '"owner"' in body["detail"]
    assert api_as(bob).get(URL).get_json()["items"] == []
    # Themselves, or leaving it to the default, is fine.
    assert api.post(URL, json={"fields": {"name": "Mine", "owner": ann.id}}).status_code == 201
    made = api.post(URL, json={"fields": {"name": "Default"}})
    assert made.status_code == 201 and made.get_json()["owner"] == ann.id


def test_a_member_cannot_hand_their_record_to_someone_else(any_db, make, people, api_as):
    install(make, people)
    _admin, ann, bob = people
    api = api_as(ann)
    rid = api.post(URL, json={"fields": {"name": "Mine"}}).get_json()["id"]
    body = problem(api.patch(f"{URL}/{rid}", json={"fields": {"owner": bob.id}}), 403)
    assert body["errors"][0]["field"] == "owner"
    assert api.get(f"{URL}/{rid}").get_json()["owner"] == ann.id
    # Sending the owner back unchanged with other changes is fine.
    changed = api.patch(f"{URL}/{rid}", json={"fields": {"owner": ann.id, "name": "Renamed"}})
    assert changed.status_code == 200, changed.get_data(as_text=True)


def test_bulk_create_refuses_another_owner(any_db, make, people, api_as):
    install(make, people)
    _admin, ann, bob = people
    rows = [{"fields": {"name": "Ok", "owner": ann.id}}, {"fields": {"name": "Planted", "owner": bob.id}}]
    body = problem(api_as(ann).post(f"{URL}/bulk", json={"records": rows}), 403)
    assert body["errors"] == [{"index": 1, "field": "owner", "message": "may be set only to yourself"}]
    assert api_as(ann).get(URL).get_json()["items"] == []


def test_app_admins_and_a_reassign_grant_may_set_any_owner(any_db, make, people, api_as):
    install(make, people, {"form": "customer", "to": {"user": people[1].id}, "preset": "manage_all",
                           "actions": ["view", "add", "edit", "reassign"]},
            {"form": "customer", "to": {"user": people[2].id}, "preset": "manage_all"})
    admin, ann, bob = people
    made = api_as(admin).post(URL, json={"fields": {"name": "For Bob", "owner": bob.id}})
    assert made.status_code == 201 and made.get_json()["owner"] == bob.id
    made = api_as(ann).post(URL, json={"fields": {"name": "Also for Bob", "owner": bob.id}})
    assert made.status_code == 201 and made.get_json()["owner"] == bob.id
    moved = api_as(ann).patch(f"{URL}/{made.get_json()['id']}", json={"fields": {"owner": admin.id}})
    assert moved.status_code == 200 and moved.get_json()["owner"] == admin.id
    # "manage_all" is everything but reassigning.
    problem(api_as(bob).post(URL, json={"fields": {"name": "x", "owner": ann.id}}), 403)


def test_the_record_page_refuses_another_owner(make, people, app):
    install(make, people)
    _admin, ann, bob = people
    client = browser(app, ann)
    resp = client.post("/a/crm/f/customer/new", data={"name": "Planted", "owner": str(bob.id)})
    assert resp.status_code == 403  # the form again, the refusal at the owner field, the input kept
    page = resp.get_data(as_text=True)
    assert "Owner may be set only to yourself" in page and 'value="Planted"' in page
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    page = client.post("/a/crm/f/customer/new", data={"name": "Planted", "owner": str(bob.id)}).get_data(as_text=True)
    assert "只能设为你自己" in page
    assert client.get("/a/crm/f/customer").status_code == 200
    with app.app_context():
        from formloom.platform.actor import Actor
        from formloom.runtime.apps import get_runtime
        from formloom.runtime.records import query
        items, _ = query.list_records(Actor.from_user(bob), get_runtime("crm"), "customer")
    assert items == []
