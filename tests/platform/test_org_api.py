"""Organisation API for administrators: roles, departments and users."""
import pytest


@pytest.fixture
def admin_api(any_db, app, make, api_as):
    return api_as(make.user("Admin", admin=True, password=None))


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
