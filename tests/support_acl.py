"""A small CRM with grants for access tests: roles, departments, users and three customers.

The customers are owned by `rep` ("own"), by `rep_b` of the same department
("department") and by `rep_c` of another department ("other"). `manager` heads the
sales department; hidden fields hold values that are easy to find in a response.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from formloom.builder.apps import add_member, create_app
from formloom.platform.actor import Actor
from formloom.platform.extensions import db, write_transaction
from formloom.platform.files import store_upload
from formloom.platform.models import Department, Role
from formloom.runtime.apps import get_runtime
from formloom.runtime.records import service

APP = "crm_acl"

RECORDS = ("own", "department", "other")  # owned by rep_a, rep_b (rep_a's department), rep_c (elsewhere)

DEFINITION = {
    "key": APP, "name": "CRM ACL",
    "roles": [{"key": "sales_rep", "name": "Sales rep"}, {"key": "sales_manager", "name": "Sales manager"},
              {"key": "finance", "name": "Finance"}, {"key": "intern", "name": "Intern"}],
    "forms": [{"key": "customer", "name": "Customer", "title_field": "name", "owner_field": "sales_owner",
               "fields": [{"key": "name", "type": "text", "label": "Name", "required": True},
                          {"key": "sales_owner", "type": "user", "label": "Sales owner"},
                          {"key": "tier", "type": "select", "label": "Tier", "options": ["A", "B", "C"]},
                          {"key": "phone", "type": "text", "label": "Phone"},
                          {"key": "margin_note", "type": "text", "label": "Margin"},
                          {"key": "contract", "type": "file", "label": "Contract"},
                          {"key": "notes", "type": "textarea", "label": "Notes"}]}],
    "permissions": [
        {"form": "customer", "to": {"role": "sales_rep"}, "preset": "manage_own",
         "fields": {"hidden": ["margin_note"], "readonly": ["tier"]}},
        {"form": "customer", "to": {"role": "sales_manager"}, "actions": ["view", "edit", "export"], "rows": "team"},
        {"form": "customer", "to": {"role": "finance"}, "preset": "view_all",
         "fields": {"hidden": ["phone", "contract"]}},
        {"form": "customer", "to": {"role": "intern"}, "preset": "submit_only"},
    ],
}

SECRET = {"phone": "PHONE-SECRET", "margin_note": "MARGIN-SECRET"}

@dataclass
class World:
    """Who and what the matrix runs against."""

    app: object
    records: dict[str, int]  # "own" -> record id
    files: dict[str, str]  # "own" -> the file id in its contract field
    users: dict[str, object]

def build_world(make) -> World:
    org_admin = make.user("Org Admin", admin=True)
    with write_transaction():
        roles = {r["key"]: Role(key=r["key"], name=r["name"]) for r in DEFINITION["roles"]}
        db.session.add_all(roles.values())
        sales, support = Department(name="Sales"), Department(name="Support")
        db.session.add_all([sales, support])
    users = {"org_admin": org_admin}
    specs = {"app_admin": (None, []), "manager": (sales, ["sales_manager"]), "rep": (sales, ["sales_rep"]),
             "rep_b": (sales, ["sales_rep"]), "rep_c": (support, ["sales_rep"]), "finance": (support, ["finance"]),
             "intern": (sales, ["intern"]), "outsider": (support, [])}
    for name, (dept, role_keys) in specs.items():
        users[name] = make.user(name.replace("_", " ").title(), department_id=dept.id if dept else None)
        with write_transaction():
            user = db.session.merge(users[name])
            user.roles = [db.session.merge(roles[k]) for k in role_keys]
    with write_transaction():
        db.session.get(Department, sales.id).head_id = users["manager"].id
    users = {k: db.session.get(type(u), u.id) for k, u in users.items()}
    admin = Actor.from_user(users["org_admin"])
    create_app(admin, DEFINITION)
    add_member(admin, APP, users["app_admin"].id, True)
    rt = get_runtime(APP)
    records, files = {}, {}
    for which, owner in (("own", "rep"), ("department", "rep_b"), ("other", "rep_c")):
        stored = store_upload(rt.app_id, io.BytesIO(f"contract {which}".encode()), f"{which}.pdf",
                              "application/pdf", users["org_admin"].id)
        rec = service.create(admin, rt, "customer", {
            "name": f"Acme {which}", "sales_owner": users[owner].id, "tier": "A",
            "phone": f"{SECRET['phone']}-{which}", "margin_note": f"{SECRET['margin_note']}-{which}",
            "contract": [stored.id], "notes": "first"})
        records[which], files[which] = rec["id"], stored.id
    return World(rt, records, files, users)

def login(app, user):
    """A test client signed in as `user`."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"  # the default language is Chinese
    resp = client.post("/login", data={"email": user.email, "password": "secret-pass-1"})
    assert resp.status_code == 302, f"{user.name} could not sign in"
    return client
