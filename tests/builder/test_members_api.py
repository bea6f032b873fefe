"""Who may use an app: GET/POST/DELETE /api/v1/apps/<key>/members (users, departments, roles)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import Department, Role

from support_formloom import problem

MEMBERS = "/api/v1/apps/crm/members"
RECORDS = "/api/v1/apps/crm/forms/customer/records"


def crm() -> dict:
    return {"key": "crm", "name": "CRM", "forms": [{"key": "customer", "name": "Customer", "title_field": "name",
                                                   "fields": [{"key": "name", "type": "text", "label": "Name"}]}]}


@pytest.fixture
def team(app, make, api_as):
    """An app "crm" built by Olga; Sales > East with Ed in East, Sam in Sales; Fay in no department."""
    with write_transaction():
        sales = Department(name="Sales")
        db.session.add(sales)
        db.session.flush()
        east = Department(name="East", parent_id=sales.id)
        rep = Role(key="rep", name="Rep")
        db.session.add_all([east, rep])
    people = {"olga": make.user("Olga", password=None), "ed": make.user("Ed", password=None, department_id=east.id),
              "sam": make.user("Sam", password=None, department_id=sales.id, roles=[rep]),
              "fay": make.user("Fay", password=None)}
    olga = api_as(people["olga"])
    assert olga.post("/api/v1/apps", json=crm()).status_code == 201
    apis = {name: api_as(user) for name, user in people.items()}
    return SimpleNamespace(sales=sales.id, east=east.id, users=people, **apis)


def app_keys(api) -> list[str]:
    resp = api.get("/api/v1/apps")
    assert resp.status_code == 200
    return [a["key"] for a in resp.get_json()["items"]]


def test_add_list_change_and_remove_members(any_db, team):
    olga, ed = team.olga, team.users["ed"]
    by_user = olga.post(MEMBERS, json={"user": ed.id})
    assert by_user.status_code == 201
    user_row = by_user.get_json()
    assert user_row == {"id": user_row["id"], "admin": False, "user": ed.id}
    by_dept = olga.post(MEMBERS, json={"department": team.sales, "include_children": False}).get_json()
    assert by_dept == {"id": by_dept["id"], "admin": False, "department": team.sales, "include_children": False}
    by_role = olga.post(MEMBERS, json={"role": "rep", "admin": True}).get_json()
    assert by_role == {"id": by_role["id"], "admin": True, "role": "rep"}
    listed = olga.get(MEMBERS).get_json()["items"]
    assert listed == [{"id": listed[0]["id"], "admin": True, "user": team.users["olga"].id},
                      user_row, by_dept, by_role]

    promoted = olga.post(MEMBERS, json={"user": ed.id, "admin": True})
    assert promoted.status_code == 200 and promoted.get_json() == {**user_row, "admin": True}
    widened = olga.post(MEMBERS, json={"department": team.sales}).get_json()
    assert widened == {**by_dept, "include_children": True}
    assert len(olga.get(MEMBERS).get_json()["items"]) == 4  # changed in place, not added twice

    assert olga.delete(f"{MEMBERS}/{user_row['id']}").status_code == 204
    assert [m["id"] for m in olga.get(MEMBERS).get_json()["items"]][1:] == [by_dept["id"], by_role["id"]]
    problem(olga.delete(f"{MEMBERS}/{user_row['id']}"), 404)


@pytest.mark.parametrize(("body", "field"), [
    ({"user": 2, "role": "rep"}, "user"),
    ({"department": 1, "role": "rep"}, "user"),
    ({}, "user"),
    ({"admin": True}, "user"),
    ({"user": 999}, "user"),
    ({"department": 999}, "department"),
    ({"role": "ghost"}, "role"),
    ({"user": "2"}, "user"),
    ({"user": True}, "user"),
    ({"department": "Sales"}, "department"),
    ({"role": 5}, "role"),
    ({"user": 2, "admin": "yes"}, "admin"),
    ({"department": 1, "include_children": 1}, "include_children"),
])
def test_member_bodies_that_are_refused(team, body, field):
    before = team.olga.get(MEMBERS).get_json()["items"]
    resp = problem(team.olga.post(MEMBERS, json=body), 422)
    assert [e["field"] for e in resp["errors"]] == [field]
    assert team.olga.get(MEMBERS).get_json()["items"] == before


def test_a_body_that_is_not_an_object_is_refused(team):
    problem(team.olga.post(MEMBERS, json=[{"user": 2}]), 422)
    problem(team.olga.post(MEMBERS, data="{user:", headers={"Content-Type": "application/json"}), 422)


def test_only_the_apps_admins_manage_members(any_db, team, make, api_as):
    olga, sam = team.olga, team.users["sam"]
    member_id = olga.post(MEMBERS, json={"user": sam.id}).get_json()["id"]
    for call in (lambda: team.sam.get(MEMBERS), lambda: team.sam.post(MEMBERS, json={"user": sam.id, "admin": True}),
                 lambda: team.sam.delete(f"{MEMBERS}/{member_id}")):
        problem(call(), 403)
    for call in (lambda: team.fay.get(MEMBERS), lambda: team.fay.post(MEMBERS, json={"user": team.users["fay"].id})):
        problem(call(), 404)  # an outsider is not told the app exists
    reader = api_as(team.users["olga"], read_only=True)
    assert reader.get(MEMBERS).status_code == 200
    problem(reader.post(MEMBERS, json={"user": team.users["fay"].id}), 403)
    problem(reader.delete(f"{MEMBERS}/{member_id}"), 403)
    root = api_as(make.user("Root", admin=True, password=None))
    assert root.post(MEMBERS, json={"user": team.users["fay"].id}).status_code == 201
    items = olga.get(MEMBERS).get_json()["items"]
    assert [m.get("user") for m in items] == [team.users["olga"].id, sam.id, team.users["fay"].id]
    assert all(not m["admin"] for m in items[1:])


def test_a_member_id_of_another_app_is_not_found_here(team):
    other = crm()
    other["key"] = "other"
    assert team.olga.post("/api/v1/apps", json=other).status_code == 201
    theirs = team.olga.post("/api/v1/apps/other/members", json={"user": team.users["sam"].id}).get_json()
    problem(team.olga.delete(f"{MEMBERS}/{theirs['id']}"), 404)
    assert len(team.olga.get("/api/v1/apps/other/members").get_json()["items"]) == 2


def test_a_department_member_sees_the_app_and_uses_its_records(any_db, team):
    assert app_keys(team.ed) == []
    problem(team.ed.get(RECORDS), 404)
    added = team.olga.post(MEMBERS, json={"department": team.sales}).get_json()
    assert app_keys(team.ed) == ["crm"]  # East is below Sales
    made = team.ed.post(RECORDS, json={"fields": {"name": "Acme"}})
    assert made.status_code == 201, made.get_json()
    assert [r["fields"]["name"] for r in team.sam.get(RECORDS).get_json()["items"]] == ["Acme"]
    assert app_keys(team.fay) == []

    team.olga.post(MEMBERS, json={"department": team.sales, "include_children": False})
    assert app_keys(team.ed) == [] and app_keys(team.sam) == ["crm"]
    problem(team.ed.get(RECORDS), 404)
    assert team.olga.delete(f"{MEMBERS}/{added['id']}").status_code == 204
    assert app_keys(team.sam) == []
    problem(team.sam.get(f"{RECORDS}/{made.get_json()['id']}"), 404)


def test_a_role_member_uses_the_app_until_the_role_is_removed(team):
    added = team.olga.post(MEMBERS, json={"role": "rep"}).get_json()
    assert app_keys(team.sam) == ["crm"] and app_keys(team.ed) == []
    assert team.sam.post(RECORDS, json={"fields": {"name": "By Sam"}}).status_code == 201
    problem(team.ed.post(RECORDS, json={"fields": {"name": "By Ed"}}), 404)
    team.olga.delete(f"{MEMBERS}/{added['id']}")
    problem(team.sam.get(RECORDS), 404)
