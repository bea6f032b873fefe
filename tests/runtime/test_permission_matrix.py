"""The permission matrix: every kind of actor x every route x own / department's / other's record.

POLICY says what each actor may do; OPERATIONS says how each route is called and which
action it needs. Each test runs every operation for one actor against each record and
reports every mismatch at once: an unauthorized success, an authorized refusal, or a
hidden field's key or value anywhere in a response. A new route joins with one line in
OPERATIONS.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from support_acl import APP, RECORDS, SECRET, World, build_world, login
from support_formloom import Api

BASE = f"/api/v1/apps/{APP}/forms/customer"
PAGES = f"/a/{APP}/f/customer"

ALL = set(RECORDS)
# actor -> what they may do: rows per action, whether they may add, fields hidden from them.
POLICY = {
    "org_admin": {"view": ALL, "edit": ALL, "delete": ALL, "add": True, "hidden": set(), "admin": True},
    "app_admin": {"view": ALL, "edit": ALL, "delete": ALL, "add": True, "hidden": set(), "admin": True},
    "manager": {"view": {"own", "department"}, "edit": {"own", "department"}, "delete": set(), "add": False,
                "hidden": set()},
    "manager_readonly_token": {"view": {"own", "department"}, "edit": set(), "delete": set(), "add": False,
                               "hidden": set(), "token_only": True},
    "rep": {"view": {"own"}, "edit": {"own"}, "delete": {"own"}, "add": True, "hidden": {"margin_note"}},
    "finance": {"view": ALL, "edit": set(), "delete": set(), "add": False, "hidden": {"phone", "contract"}},
    "intern": {"view": set(), "edit": set(), "delete": set(), "add": True, "hidden": set()},
    "outsider": {"view": set(), "edit": set(), "delete": set(), "add": False, "hidden": set(), "outside": True},
}


@dataclass
class Call:
    """What one operation sent and got."""

    status: int
    body: str
    ok: bool  # the operation did what it asks for


@dataclass
class Op:
    name: str
    action: str  # view | edit | delete | add | filter_* | in_app | admin (the app's administrators)
    run: Callable[[object, World, str | None], Call]
    per_record: bool = True
    web: bool = False  # needs a signed-in session, not a token


def _json_call(resp, ok_status: int, check=None) -> Call:
    body = resp.get_data(as_text=True)
    ok = resp.status_code == ok_status and (check is None or check(resp))
    resp.close()  # file downloads hold their file open until closed
    return Call(resp.status_code, body, ok)


def _in_items(record_id: int):
    return lambda resp: record_id in [item["id"] for item in resp.get_json()["items"]]


def _rid(world: World, which: str) -> int:
    return world.records[which]


OPERATIONS: list[Op] = [
    Op("api list", "view", lambda c, w, r: _json_call(c.get(f"{BASE}/records?limit=500"), 200, _in_items(_rid(w, r)))),
    Op("api get", "view", lambda c, w, r: _json_call(c.get(f"{BASE}/records/{_rid(w, r)}"), 200)),
    Op("api history", "view", lambda c, w, r: _json_call(c.get(f"{BASE}/records/{_rid(w, r)}/history"), 200)),
    Op("api filter by id", "view", lambda c, w, r: _json_call(c.get(
        f"{BASE}/records?filter=" + json.dumps({"field": "$id", "op": "eq", "value": _rid(w, r)})), 200,
        _in_items(_rid(w, r)))),
    Op("api file", "view_contract", lambda c, w, r: _json_call(c.get(f"/api/v1/apps/{APP}/files/{w.files[r]}"), 200)),
    Op("api patch", "edit", lambda c, w, r: _json_call(
        c.patch(f"{BASE}/records/{_rid(w, r)}", json={"fields": {"notes": "changed"}}), 200)),
    Op("api create", "add", lambda c, w, r: _json_call(
        c.post(f"{BASE}/records", json={"fields": {"name": "New one"}}), 201), per_record=False),
    Op("api filter on margin_note", "filter_margin", lambda c, w, r: _json_call(c.get(
        f"{BASE}/records?filter=" + json.dumps({"field": "margin_note", "op": "is_not_empty"})), 200),
        per_record=False),
    Op("api schema", "in_app", lambda c, w, r: _json_call(c.get(f"{BASE}/schema"), 200), per_record=False),
    Op("api sort on phone", "filter_phone", lambda c, w, r: _json_call(c.get(f"{BASE}/records?sort=phone"), 200),
       per_record=False),
    Op("page list", "view", lambda c, w, r: _json_call(c.get(PAGES), 200, lambda resp: f"Acme {r}" in resp.get_data(
        as_text=True)), web=True),
    Op("page detail", "view", lambda c, w, r: _json_call(c.get(f"{PAGES}/r/{_rid(w, r)}"), 200), web=True),
    Op("page edit", "edit", lambda c, w, r: _json_call(c.get(f"{PAGES}/r/{_rid(w, r)}/edit"), 200), web=True),
    Op("page picker", "view", lambda c, w, r: _json_call(c.get(f"{PAGES}/lookup?format=json&q=Acme"), 200,
                                                         _in_items(_rid(w, r))), web=True),
    Op("page file", "view_contract", lambda c, w, r: _json_call(c.get(f"/a/{APP}/files/{w.files[r]}"), 200),
       web=True),
    Op("page new", "add", lambda c, w, r: _json_call(c.get(f"{PAGES}/new"), 200), per_record=False, web=True),
    # The app's administration: its administrators only.
    Op("page members", "admin", lambda c, w, r: _json_call(c.get(f"/a/{APP}/members"), 200), per_record=False,
       web=True),
    Op("page permissions", "admin", lambda c, w, r: _json_call(c.get(f"/a/{APP}/permissions"), 200),
       per_record=False, web=True),
    Op("page webhooks", "admin", lambda c, w, r: _json_call(c.get(f"/a/{APP}/webhooks"), 200), per_record=False,
       web=True),
    Op("api members", "admin", lambda c, w, r: _json_call(c.get(f"/api/v1/apps/{APP}/members"), 200),
       per_record=False),
    Op("page automations", "admin", lambda c, w, r: _json_call(c.get(f"/a/{APP}/automations"), 200),
       per_record=False, web=True),
    Op("api automations", "admin", lambda c, w, r: _json_call(c.get(f"/api/v1/apps/{APP}/automations"), 200),
       per_record=False),
    Op("page relations", "admin", lambda c, w, r: _json_call(c.get(f"/a/{APP}/relations"), 200),
       per_record=False, web=True),
    Op("api refreshes", "admin", lambda c, w, r: _json_call(c.get(f"/api/v1/apps/{APP}/refreshes"), 200),
       per_record=False),
    # The app's forms have no computed fields: an administrator hears why (400), anyone else is refused.
    Op("api rebuild", "admin", lambda c, w, r: _json_call(c.post(f"{BASE}/rebuild"), 400), per_record=False),
    Op("api webhooks", "admin", lambda c, w, r: _json_call(c.get(f"/api/v1/apps/{APP}/webhooks"), 200),
       per_record=False),
    # Writes that change what later operations see run last.
    Op("api delete", "delete", lambda c, w, r: _json_call(c.delete(f"{BASE}/records/{_rid(w, r)}"), 204)),
]


def allowed(policy: dict, op: Op, which: str | None) -> bool:
    if policy.get("outside"):
        return False
    if op.action == "in_app":
        return True
    if op.action == "admin":
        return policy.get("admin", False)
    if op.action == "add":
        return policy["add"]
    if op.action == "filter_margin":
        return "margin_note" not in policy["hidden"] and bool(policy["view"])
    if op.action == "filter_phone":
        return "phone" not in policy["hidden"] and bool(policy["view"])
    if op.action == "view_contract":
        return which in policy["view"] and "contract" not in policy["hidden"]
    return which in policy[op.action]


def leaks(policy: dict, body: str) -> list[str]:
    """Hidden fields whose key or value shows in a response."""
    found = []
    for key in policy["hidden"] & set(SECRET):
        if SECRET[key] in body or f'"{key}"' in body or f'name="{key}"' in body:
            found.append(key)
    return found


def _client_for(app, make, world: World, actor: str):
    """(API client, web client or None) acting as the actor."""
    user_key = "manager" if actor == "manager_readonly_token" else actor
    user = world.users[user_key]
    api = Api(app.test_client(), make.token(user, read_only=actor == "manager_readonly_token"))
    if POLICY[actor].get("token_only"):
        return api, None
    return api, login(app, user)


def run_matrix(app, make, actor: str, policy: dict | None = None) -> list[str]:
    """Every operation for `actor`, checked against `policy` (theirs by default)."""
    world = build_world(make)
    policy = policy or POLICY[actor]
    api, web = _client_for(app, make, world, actor)
    problems = []
    for op in OPERATIONS:
        if op.web and web is None:
            continue
        client = web if op.web else api
        for which in RECORDS if op.per_record else (None,):
            expected = allowed(policy, op, which)
            call = op.run(client, world, which)
            where = f"{actor} / {op.name}" + (f" / {which}'s record" if which else "")
            if call.ok != expected:
                verb = "succeeded but must be refused" if call.ok else "was refused but is allowed"
                problems.append(f"{where}: {verb} (HTTP {call.status})")
            elif not expected and call.status >= 500:
                problems.append(f"{where}: refused with a server error (HTTP {call.status})")
            if call.status < 400 and (hidden := leaks(policy, call.body)):
                problems.append(f"{where}: response shows hidden {', '.join(hidden)}")
    return problems


@pytest.mark.parametrize("actor", sorted(POLICY))
def test_permission_matrix(app, make, actor):
    problems = run_matrix(app, make, actor)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("any_db", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
@pytest.mark.parametrize("actor", ["rep", "manager", "finance"])
def test_permission_matrix_on_postgresql(app, make, actor, any_db):
    problems = run_matrix(app, make, actor)
    assert not problems, "\n".join(problems)


def test_the_matrix_catches_a_policy_the_grants_do_not_give(app, make):
    """A rep checked against a policy that claims every row and every field: the matrix reports
    the refusals and the hidden field it does not see, so it is not vacuous."""
    claimed = {**POLICY["rep"], "view": ALL, "hidden": {"margin_note", "phone"}}
    problems = run_matrix(app, make, "rep", claimed)
    assert any("rep / api get / other's record: was refused but is allowed" in p for p in problems)
    assert any("response shows hidden phone" in p for p in problems)
