"""The audit log: what sign-in, sign-out and denied access write, the admin page and the API."""
import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from formloom.platform import audit
from formloom.platform.extensions import db
from formloom.platform.models import AuditEvent

from support_formloom import problem


@pytest.fixture
def client(app):
    """A client whose browser asks for English (the default language is Chinese)."""
    test_client = app.test_client()
    test_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return test_client


def lines(action: str | None = None) -> list[AuditEvent]:
    stmt = sa.select(AuditEvent).order_by(AuditEvent.id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    db.session.expire_all()
    return list(db.session.execute(stmt).scalars())


def add_line(action: str, at: datetime, **fields) -> AuditEvent:
    """A line at a chosen moment (naive UTC); the log itself always writes 'now'."""
    event = AuditEvent(action=action, at=at, actor_name=fields.pop("actor_name", ""), **fields)
    db.session.add(event)
    db.session.commit()
    return event


def shown_ids(response) -> list[int]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return [int(i) for i in re.findall(r'data-audit-id="(\d+)"', response.get_data(as_text=True))]


@pytest.fixture
def admin(make, auth):
    user = make.user("Ada Admin", admin=True)
    auth.login(user.email)
    return user


# --- what gets written -------------------------------------------------------------------

def test_sign_in_failures_and_sign_out_are_logged(any_db, client, auth, make):
    ann = make.user("Ann")
    gone = make.user("Gone", active=False)

    assert auth.login(ann.email, "wrong-password").status_code == 401
    assert auth.login("nobody@example.com", "whatever").status_code == 401
    assert auth.login(gone.email).status_code == 401  # the right password, a deactivated account
    failed = lines("signin_failed")
    assert [line.detail for line in failed] == [ann.email, "nobody@example.com", f"{gone.email} (account deactivated)"]
    assert [(line.object_type, line.object_id) for line in failed] == [("user", str(ann.id)), (None, None),
                                                                       ("user", str(gone.id))]
    assert all(line.actor_id is None and line.ip == "127.0.0.1" for line in failed)

    assert auth.login(ann.email).status_code == 302
    auth.logout()
    signin, signout = lines("signin")[0], lines("signout")[0]
    for line in (signin, signout):
        assert (line.actor_id, line.actor_name, line.via, line.ip) == (ann.id, "Ann", "session", "127.0.0.1")
    assert signin.id < signout.id


def test_a_denied_api_call_is_logged_although_it_failed(any_db, make, api_as):
    bob = make.user("Bob")
    response = api_as(bob).post("/api/v1/roles", json={"key": "sneaky", "name": "Sneaky"})
    problem(response, 403)
    denied = lines("denied")
    assert len(denied) == 1
    line = denied[0]
    assert (line.actor_id, line.actor_name, line.via, line.ip) == (bob.id, "Bob", "token", "127.0.0.1")
    assert line.detail.startswith("POST /api/v1/roles: ") and "administrators" in line.detail
    assert db.session.execute(sa.text("SELECT count(*) FROM roles")).scalar() == 0  # nothing else kept

    reader = api_as(make.user("Rita", admin=True), read_only=True)
    problem(reader.post("/api/v1/roles", json={"key": "r", "name": "R"}), 403)
    assert lines("denied")[-1].detail == "POST /api/v1/roles: This API token is read-only"


def test_a_denied_page_is_logged_and_not_found_is_not(client, auth, make, api_as):
    carl = make.user("Carl")
    auth.login(carl.email)
    response = client.get("/admin/audit?action=signin")
    assert response.status_code == 403
    line = lines("denied")[-1]
    assert (line.actor_id, line.via) == (carl.id, "session")
    assert line.detail.startswith("GET /admin/audit: ")
    assert client.get("/a/no-such-app").status_code == 404
    problem(api_as(make.user("Dora", admin=True)).get("/api/v1/apps/no_such_app/definition"), 404)
    assert len(lines("denied")) == 1


# --- the page ----------------------------------------------------------------------------

def test_page_lists_newest_first_with_who_how_and_changes(client, admin, make):
    audit.record("role", make.actor(admin), object_type="role", object_id=7, label="Sales rep",
                 before={"name": "Sales", "key": "sales_rep"}, after={"name": "Sales rep", "key": "sales_rep"})
    db.session.commit()
    response = client.get("/admin/audit")
    ids = shown_ids(response)
    assert ids == sorted(ids, reverse=True) and len(ids) == 2  # the role change and admin's sign-in
    html = response.get_data(as_text=True)
    assert "Ada Admin" in html and "127.0.0.1" in html and "Role changed" in html and "Signed in" in html
    assert "Sales rep" in html and "1 field changed" in html
    assert re.search(r"<th scope=\"row\"[^>]*>name</th>\s*<td[^>]*>Sales</td>\s*<td[^>]*>Sales rep</td>", html)
    for key in audit.ACTIONS:  # every action can be picked in the filter
        assert f'<option value="{key}"' in html


def test_page_filters(client, admin, make):
    other = make.user("Olga")
    base = datetime(2024, 3, 1, 12, 0)
    failed = add_line("signin_failed", base, detail="mallory@example.com", ip="10.0.0.9")
    olga = add_line("export", base, actor_id=other.id, actor_name="Olga", detail="Exported 120 deals")
    late = add_line("publish", datetime(2024, 3, 1, 17, 0), actor_id=admin.id, actor_name="Ada Admin",
                    object_type="app", object_id="3", object_label="CRM 100% done")  # 3 March 01:00 in Shanghai
    early = add_line("publish", datetime(2024, 3, 1, 15, 0), actor_id=admin.id, actor_name="Ada Admin",
                     object_type="app", object_id="4", object_label="HR")  # 1 March 23:00 in Shanghai

    assert shown_ids(client.get("/admin/audit?action=signin_failed")) == [failed.id]
    assert shown_ids(client.get(f"/admin/audit?actor={other.id}")) == [olga.id]
    # Dates are days in the reader's time zone (the tests run in Asia/Shanghai, UTC+8).
    assert shown_ids(client.get("/admin/audit?from=2024-03-02&to=2024-03-02")) == [late.id]
    assert shown_ids(client.get("/admin/audit?from=2024-03-01&to=2024-03-01")) == [early.id, olga.id, failed.id]
    assert shown_ids(client.get("/admin/audit?q=MALLORY")) == [failed.id]
    assert shown_ids(client.get("/admin/audit?q=%25")) == [late.id]  # % is a character, not a wildcard
    assert shown_ids(client.get("/admin/audit?object_type=app&object_id=4")) == [early.id]
    assert shown_ids(client.get("/admin/audit?action=publish&to=2024-03-01")) == [early.id]
    nothing = client.get("/admin/audit?q=zzz")
    assert shown_ids(nothing) == [] and "No matching lines" in nothing.get_data(as_text=True)


def test_page_says_which_filter_is_wrong(client, admin):
    response = client.get("/admin/audit?from=yesterday&actor=ann")
    html = response.get_data(as_text=True)
    assert shown_ids(response) == []
    assert re.search(r'id="f-from-error"[^>]*>.*YYYY-MM-DD', html)
    assert 'id="f-actor-error"' in html and 'value="yesterday"' in html  # the input is kept
    backwards = client.get("/admin/audit?from=2024-03-05&to=2024-03-01").get_data(as_text=True)
    assert 'id="f-to-error"' in backwards and "before the start date" in backwards


def test_page_pages_by_id(client, admin):
    for n in range(60):
        add_line("export", datetime(2024, 1, 1) + timedelta(minutes=n), detail=f"export {n}")
    first = client.get("/admin/audit?action=export")
    page1 = shown_ids(first)
    assert len(page1) == 50
    next_url = re.search(r'href="([^"]+)" rel="next"', first.get_data(as_text=True)).group(1).replace("&amp;", "&")
    assert "action=export" in next_url  # the filters stay on
    second = client.get(next_url)
    page2 = shown_ids(second)
    assert len(page2) == 10 and max(page2) < min(page1)
    assert 'rel="next"' not in second.get_data(as_text=True)
    assert "Newest" in second.get_data(as_text=True)


def test_empty_log_has_an_empty_state(app, client, make):
    user = make.user("Eve", admin=True)
    with client.session_transaction() as session:  # signed in without a sign-in line
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "The audit log is empty" in html


def test_only_org_admins_see_the_page_and_its_nav_entry(client, auth, make):
    user = make.user("Pat")
    auth.login(user.email)
    assert "/admin/audit" not in client.get("/").get_data(as_text=True)
    assert client.get("/admin/audit").status_code == 403
    auth.logout()
    auth.login(make.user("Quinn", admin=True).email)
    assert 'href="/admin/audit"' in client.get("/").get_data(as_text=True)


# --- the API -----------------------------------------------------------------------------

def test_api_filters_and_cursor(any_db, make, api_as):
    admin = make.user("Root", admin=True)
    api = api_as(admin)
    made = [add_line("import", datetime(2024, 5, 1, 8, n), app_id=1, detail=f"Imported {n} rows") for n in range(5)]
    add_line("denied", datetime(2024, 5, 1, 9), actor_id=admin.id, actor_name="Root", detail="GET /x: no")

    seen, cursor = [], None
    while True:
        body = api.get("/api/v1/audit?action=import&limit=2" + (f"&cursor={cursor}" if cursor else "")).get_json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [e.id for e in reversed(made)]

    item = api.get(f"/api/v1/audit?actor={admin.id}").get_json()["items"][0]
    assert item["action"] == "denied" and item["at"] == "2024-05-01T09:00:00Z" and item["actor_name"] == "Root"
    assert set(item) >= {"via", "ip", "app", "object_type", "object_id", "object_label", "before", "after", "detail"}
    assert [i["id"] for i in api.get("/api/v1/audit?app=1&q=imported%203").get_json()["items"]] == [made[3].id]
    assert len(api.get("/api/v1/audit?from=2024-05-01T16:03:00%2B08:00&to=2024-05-01").get_json()["items"]) == 3
    assert problem(api.get("/api/v1/audit?action=nope"), 422)["errors"][0]["field"] == "action"
    assert problem(api.get("/api/v1/audit?cursor=garbage"), 422)["errors"][0]["field"] == "cursor"
    assert problem(api.get("/api/v1/audit?limit=0"), 422)["errors"][0]["field"] == "limit"
    assert problem(api.get("/api/v1/audit?from=May"), 422)["errors"][0]["field"] == "from"


def test_api_is_for_org_admins_only(make, api_as):
    problem(api_as(make.user("Nora")).get("/api/v1/audit"), 403)
    assert lines("denied")[-1].detail.startswith("GET /api/v1/audit: ")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_log_has_no_write_route(app, make, api_as, method):
    api = api_as(make.user("Wes", admin=True))
    assert getattr(api, method)("/api/v1/audit").status_code == 405
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule:
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
