"""Organisation API for administrators: roles, departments and users."""
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from formloom.platform.extensions import db
from formloom.platform.models import AuditEvent
from formloom.runtime.records import service


@pytest.fixture
def admin(any_db, app, make):
    return make.user("Admin", admin=True, password=None)


@pytest.fixture
def admin_api(admin, api_as):
    return api_as(admin)


def problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    return resp.get_json()


def test_roles(admin_api):
    created = admin_api.post("/api/v1/roles", json={"key": "sales_rep", "name": "Sales rep"})
    assert created.status_code == 201
    role = created.get_json()
    assert role["key"] == "sales_rep" and role["name"] == "Sales rep"
    problem(admin_api.post("/api/v1/roles", json={"key": "sales_rep", "name": "Again"}), 409)
    body = problem(admin_api.post("/api/v1/roles", json={"key": "Sales Rep!", "name": "x"}), 422)
    assert body["errors"][0]["field"] == "key"
    problem(admin_api.post("/api/v1/roles", json={"name": "No key"}), 422)
    renamed = admin_api.patch(f"/api/v1/roles/{role['id']}", json={"name": "Sales representative"})
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Sales representative"
    problem(admin_api.patch("/api/v1/roles/999", json={"name": "x"}), 404)
    listed = admin_api.get("/api/v1/roles").get_json()["items"]
    assert [(r["key"], r["name"]) for r in listed] == [("sales_rep", "Sales representative")]


def test_departments_and_cycles(admin_api, make):
    head = make.user("Head", password=None)
    root = admin_api.post("/api/v1/departments", json={"name": "Sales", "parent": None, "head": head.id}).get_json()
    east = admin_api.post("/api/v1/departments", json={"name": "East", "parent": root["id"]}).get_json()
    shanghai = admin_api.post("/api/v1/departments", json={"name": "Shanghai", "parent": east["id"]}).get_json()
    assert (root["head"], east["parent"], shanghai["parent"]) == (head.id, root["id"], east["id"])
    for parent in (root["id"], shanghai["id"]):  # itself, and below itself
        body = problem(admin_api.patch(f"/api/v1/departments/{root['id']}", json={"parent": parent}), 422)
        assert body["errors"][0]["field"] == "parent"
    body = problem(admin_api.patch(f"/api/v1/departments/{east['id']}", json={"parent": shanghai["id"]}), 422)
    assert "cycle" in body["errors"][0]["message"]
    problem(admin_api.post("/api/v1/departments", json={"name": "X", "parent": 999}), 422)
    problem(admin_api.post("/api/v1/departments", json={"name": "X", "parent": "abc"}), 422)
    problem(admin_api.post("/api/v1/departments", json={"name": "X", "head": 999}), 422)
    problem(admin_api.post("/api/v1/departments", json={"parent": None}), 422)
    moved = admin_api.patch(f"/api/v1/departments/{shanghai['id']}", json={"parent": root["id"], "name": "SH"})
    assert moved.status_code == 200 and moved.get_json()["parent"] == root["id"]
    listed = admin_api.get("/api/v1/departments").get_json()["items"]
    assert [(d["name"], d["parent"]) for d in listed] == [("Sales", None), ("East", root["id"]),
                                                          ("SH", root["id"])]


def test_users(admin_api, make, api_as):
    admin_api.post("/api/v1/roles", json={"key": "finance", "name": "Finance"})
    dept = admin_api.post("/api/v1/departments", json={"name": "Sales"}).get_json()
    resp = admin_api.post("/api/v1/users", json={"email": "Li.Lei@Example.com", "name": "Li Lei",
                                                 "password": "long-enough-1", "department": dept["id"],
                                                 "roles": ["finance"]})
    assert resp.status_code == 201, resp.get_json()
    user = resp.get_json()
    assert user["email"] == "li.lei@example.com" and user["roles"] == ["finance"] and user["department"] == dept["id"]
    assert "password" not in user and "password_hash" not in user
    problem(admin_api.post("/api/v1/users", json={"email": "li.lei@example.com", "name": "Again"}), 409)
    for bad in ({"email": "not-an-email", "name": "X"}, {"email": "a@example.com", "name": "X", "password": "short"},
                {"email": "b@example.com", "name": "X", "roles": ["nope"]},
                {"email": "c@example.com", "name": "X", "department": 999},
                {"email": "d@example.com", "name": "X", "roles": "finance"},
                {"email": "e@example.com"}):
        problem(admin_api.post("/api/v1/users", json=bad), 422)
    other = admin_api.post("/api/v1/users", json={"email": "han@example.com", "name": "Han"}).get_json()
    problem(admin_api.patch(f"/api/v1/users/{other['id']}", json={"email": "li.lei@example.com"}), 409)
    problem(admin_api.patch(f"/api/v1/users/{other['id']}", json={"active": "false"}), 422)
    changed = admin_api.patch(f"/api/v1/users/{user['id']}", json={"name": "Lei Li", "roles": [], "active": False})
    assert changed.status_code == 200
    assert (changed.get_json()["name"], changed.get_json()["roles"], changed.get_json()["active"]) == ("Lei Li", [], False)
    problem(admin_api.patch("/api/v1/users/999", json={"name": "x"}), 404)
    listed = admin_api.get("/api/v1/users?q=lei").get_json()["items"]
    assert [u["email"] for u in listed] == ["li.lei@example.com"]
    member = api_as(make.user("Member", password=None))
    for url in ("/api/v1/users", "/api/v1/roles", "/api/v1/departments"):
        problem(member.get(url), 403)
        problem(member.post(url, json={"name": "x", "key": "x", "email": "x@example.com"}), 403)
    problem(member.patch(f"/api/v1/users/{other['id']}", json={"is_admin": True}), 403)
    # An administrator cannot lock themselves out.
    me = admin_api.get("/api/v1/users?q=admin").get_json()["items"][0]
    problem(admin_api.patch(f"/api/v1/users/{me['id']}", json={"is_admin": False}), 422)
    problem(admin_api.patch(f"/api/v1/users/{me['id']}", json={"active": False}), 422)
    assert admin_api.get("/api/v1/users").status_code == 200


def test_invitations(admin_api, client):
    created = admin_api.post("/api/v1/users", json={"email": "inv@example.com", "name": "Inv"}).get_json()
    assert created["status"] == "invited" and "/invite/" in created["invite_url"]
    first = urlsplit(created["invite_url"]).path
    assert client.get(first).status_code == 200
    with_password = admin_api.post("/api/v1/users", json={"email": "pw@example.com", "name": "Pw",
                                                          "password": "long-enough-1"}).get_json()
    assert "invite_url" not in with_password and with_password["status"] == "active"
    again = admin_api.post(f"/api/v1/users/{created['id']}/invite").get_json()
    assert urlsplit(again["invite_url"]).path != first and client.get(first).status_code == 410
    admin_api.patch(f"/api/v1/users/{created['id']}", json={"password": "set-by-admin-1"})
    assert client.get(urlsplit(again["invite_url"]).path).status_code == 410  # a set password ends it
    audit = db.session.execute(sa.select(AuditEvent.after, AuditEvent.detail).where(AuditEvent.action == "user")).all()
    assert [d for _a, d in audit] == ["invited", "created", "invited again", "changed"]
    assert all("password" not in str(a) and "invite" not in str(a) for a, _d in audit)


def test_deactivate_reactivate_and_reassign(admin_api, admin, make, api_as, client):
    member, heir = make.user("Member"), make.user("Heir")
    rt = make.install("sales-mini", admin, members=[member, heir])
    for name in ("A", "B"):
        service.create(make.actor(member), rt, "company", {"name": name})
    member_api = api_as(member)
    assert member_api.get("/api/v1/apps").status_code == 200
    off = admin_api.post(f"/api/v1/users/{member.id}/deactivate")
    assert off.status_code == 200 and off.get_json()["active"] is False
    assert member_api.get("/api/v1/apps").status_code == 401
    body = problem(admin_api.post(f"/api/v1/users/{member.id}/reassign", json={"to": member.id}), 422)
    assert body["errors"][0]["field"] == "to"
    problem(admin_api.post(f"/api/v1/users/{member.id}/reassign", json={"to": 999}), 404)
    problem(admin_api.post(f"/api/v1/users/{member.id}/reassign", json={}), 422)
    problem(admin_api.post(f"/api/v1/users/{heir.id}/reassign", json={"to": member.id}), 422)  # deactivated
    moved = admin_api.post(f"/api/v1/users/{member.id}/reassign", json={"to": heir.id})
    assert moved.status_code == 200 and moved.get_json() == {"moved": 2}
    assert admin_api.post(f"/api/v1/users/{member.id}/reassign", json={"to": heir.id}).get_json() == {"moved": 0}
    table = rt.tables["company"].table
    assert set(db.session.execute(sa.select(table.c.owner_id)).scalars()) == {heir.id}
    on = admin_api.post(f"/api/v1/users/{member.id}/reactivate")
    assert on.get_json()["active"] is True and member_api.get("/api/v1/apps").status_code == 200
    problem(admin_api.post(f"/api/v1/users/{admin.id}/deactivate"), 422)  # not yourself
    problem(admin_api.post("/api/v1/users/999/deactivate"), 404)


def test_imports(admin_api):
    admin_api.post("/api/v1/roles", json={"key": "finance", "name": "Finance"})
    depts = "name,parent,head\nSales,,\nEast,Sales,\n"
    dry = admin_api.post("/api/v1/departments/import?dry_run=1", data=depts, headers={"Content-Type": "text/csv"})
    assert dry.status_code == 200 and dry.get_json()["dry_run"] is True and dry.get_json()["created"] == 2
    assert admin_api.get("/api/v1/departments").get_json()["items"] == []
    done = admin_api.post("/api/v1/departments/import", data=depts, headers={"Content-Type": "text/csv"}).get_json()
    assert [(r["line"], r["path"], r["action"]) for r in done["rows"]] == [(2, "Sales", "create"),
                                                                        (3, "Sales/East", "create")]
    people = "email,name,department,roles\nli@example.com,Li,Sales/East,finance\n"
    answer = admin_api.post("/api/v1/users/import", json={"csv": people}).get_json()
    assert answer["created"] == 1 and answer["invites"][0]["email"] == "li@example.com"
    assert "/invite/" in answer["invites"][0]["invite_url"]
    listed = admin_api.get("/api/v1/users?q=li@").get_json()["items"]
    assert listed[0]["roles"] == ["finance"] and listed[0]["status"] == "invited"
    bad = "email,name,department\nok@example.com,Ok,Sales\nbad,Bad,Nowhere\n"
    body = problem(admin_api.post("/api/v1/users/import", json={"csv": bad}), 422)
    assert [(e["line"], e["field"]) for e in body["errors"]] == [(3, "email"), (3, "department")]
    assert admin_api.get("/api/v1/users?q=ok@").get_json()["items"] == []
    problem(admin_api.post("/api/v1/users/import", json={"csv": 5}), 422)
    problem(admin_api.post("/api/v1/users/import", data=b"", headers={"Content-Type": "text/csv"}), 422)


def test_deleting_departments_and_roles(admin_api, make):
    sales = admin_api.post("/api/v1/departments", json={"name": "Sales"}).get_json()
    east = admin_api.post("/api/v1/departments", json={"name": "East", "parent": sales["id"]}).get_json()
    body = problem(admin_api.patch(f"/api/v1/departments/{sales['id']}", json={"parent": east["id"]}), 422)
    assert "cycle" in body["errors"][0]["message"]
    problem(admin_api.post("/api/v1/departments", json={"name": "east", "parent": sales["id"]}), 422)
    make.user("In East", department_id=east["id"])
    assert "sub-departments" in problem(admin_api.delete(f"/api/v1/departments/{sales['id']}"), 409)["detail"]
    assert "1 members" in problem(admin_api.delete(f"/api/v1/departments/{east['id']}"), 409)["detail"]
    problem(admin_api.delete("/api/v1/departments/999"), 404)
    role = admin_api.post("/api/v1/roles", json={"key": "rep", "name": "Rep"}).get_json()
    admin_api.post("/api/v1/users", json={"email": "r@example.com", "name": "R", "roles": ["rep"]})
    assert admin_api.get("/api/v1/roles").get_json()["items"][0]["users"] == 1
    assert admin_api.delete(f"/api/v1/roles/{role['id']}").get_json() == {"id": role["id"], "users": 1}
    assert admin_api.get("/api/v1/users?q=r@").get_json()["items"][0]["roles"] == []
    problem(admin_api.delete(f"/api/v1/roles/{role['id']}"), 404)
    leaf = admin_api.post("/api/v1/departments", json={"name": "Leaf"}).get_json()
    assert admin_api.delete(f"/api/v1/departments/{leaf['id']}").status_code == 204


def test_new_routes_are_for_admins_only(any_db, make, api_as):
    member = api_as(make.user("Member", password=None))
    for method, url in (("post", "/api/v1/users/1/deactivate"), ("post", "/api/v1/users/1/reactivate"),
                        ("post", "/api/v1/users/1/invite"), ("post", "/api/v1/users/1/reassign"),
                        ("post", "/api/v1/users/import"), ("post", "/api/v1/departments/import"),
                        ("delete", "/api/v1/departments/1"), ("delete", "/api/v1/roles/1")):
        problem(getattr(member, method)(url, json={"to": 1}) if method == "post" else member.delete(url), 403)
