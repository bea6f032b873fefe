"""Every route and method of the app, tried with each kind of credential.

The table below says what a plain app member's session may reach and which routes outside an
app an app-limited token may call; a route added without an entry fails here, so a new
route is never left without its check. The objects the URLs name are real (a record, a
webhook, a task... of the app they target), so a missing check answers 200, not 404.

- a read-only token: reads on the API, any write is refused (403, "read-only");
- a token limited to app "alpha": app routes of "beta" answer 404 as for an unknown app,
  organisation routes 403; the routes that keep to the token's app pass the gate;
- any token on a page: pages take session cookies only, so the page sends it to sign in;
- a plain member of "alpha": app-admin and organisation routes answer 403.
"""
from __future__ import annotations

import io
import re

import pytest

from formloom.builder.apps import add_member
from formloom.platform.actor import Actor
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import App, Department, Notification, Role, Webhook

from support_formloom import Api, browser

# What a plain member of the app gets on each endpoint: "open" (the gate lets the request
# through; the record rules still apply), "app_admin" / "org_admin" (403), "public" (no
# sign-in needed at all).
MEMBER = {
    # pages of an app
    "web.index": "open", "web.app_home": "open", "web.record_list": "open", "web.record_export": "open",
    "web.linkage_fill": "open", "web.lookup": "open", "web.record_new": "open", "web.record_detail": "open",
    "web.compute": "open", "web.import_page": "open", "web.import_run": "open", "web.import_progress": "open",
    "web.import_failed": "open",
    "web.flow_comment": "open", "web.flow_submit": "open", "web.flow_urge": "open", "web.flow_withdraw": "open",
    "web.record_delete": "open", "web.record_edit": "open", "web.record_print": "open",
    "web.record_restore": "open", "web.record_updating": "open", "web.download": "open",
    "web.view_page": "open", "web.view_cards": "open", "web.view_move": "open", "web.view_cell": "open",
    "web.view_reschedule": "open",
    "web.list_columns": "open", "web.view_columns": "open", "web.dashboard_page": "open", "web.dashboard_export": "open",
    "web.dashboard_drill": "open", "web.inbox": "open", "web.inbox_approve": "open", "web.task_page": "open",
    "builder.automations": "app_admin", "builder.automation_runs": "app_admin",
    "builder.automation_run_now": "app_admin", "builder.automation_retry": "app_admin",
    "builder.members": "app_admin", "builder.member_add": "app_admin", "builder.member_admin": "app_admin",
    "builder.member_remove": "app_admin", "builder.permissions": "app_admin",
    "builder.relations_page": "app_admin", "builder.relations_rebuild": "app_admin",
    "builder.relations_refresh_json": "app_admin",
    "builder.webhooks": "app_admin", "builder.webhook_detail": "app_admin", "builder.webhook_delete": "app_admin",
    "builder.webhook_edit": "app_admin", "builder.webhook_off": "app_admin", "builder.webhook_on": "app_admin",
    "builder.webhook_secret": "app_admin", "builder.webhook_new": "app_admin",
    "builder.app_new": "open", "builder.designer_page": "app_admin", "builder.publish_review": "app_admin",
    "builder.publish_apply": "app_admin", "builder.draft_discard": "app_admin", "builder.versions_page": "app_admin",
    "builder.version_diff_page": "app_admin", "builder.version_restore_review": "app_admin",
    "builder.version_restore": "app_admin", "builder.app_export": "app_admin", "builder.app_import": "open",
    "builder.app_delete": "app_admin", "builder.app_bin": "org_admin", "builder.app_bin_restore": "org_admin",
    # the person's own pages
    "tokens.index": "open", "tokens.revoke_page": "open", "notifications.index": "open",
    "notifications.open_one": "open", "notifications.prefs": "open", "notifications.read_all": "open",
    "platform.set_language": "public", "auth.login": "public", "auth.logout": "open", "invite.accept": "public",
    "static": "public", "platform.static": "public", "web.static": "public", "builder.static": "public",
    # organisation pages
    "audit.index": "org_admin", "jobs_web.index": "org_admin", "jobs_web.cancel": "org_admin",
    "jobs_web.retry": "org_admin",
    **{f"org.{name}": "org_admin" for name in (
        "index", "departments", "department_form", "department_delete", "import_page", "import_sample", "roles",
        "role_edit", "role_delete", "role_members", "role_new", "users", "user_edit", "user_deactivate",
        "user_invite", "user_reactivate", "user_reassign", "user_new")},
    # the API of an app
    **{f"api.{name}": "open" for name in (
        "upload_file", "download_file", "list_records", "create_record", "get_record", "update_record",
        "delete_record", "comment_record", "record_flow", "record_history", "restore_record", "submit_record",
        "urge_record", "withdraw_record", "bulk_create", "form_schema", "openapi", "list_tasks", "get_task",
        "act_on_task", "act_in_batch", "task_counts", "view_records", "view_groups", "widget_data",
        "widget_drill", "start_import", "get_import", "cancel_import", "failed_rows")},
    "api.rebuild_form": "app_admin", "api.list_refreshes": "app_admin", "api.get_refresh": "app_admin",
    **{f"automations_api.{name}": "app_admin" for name in ("list_automations", "run_now", "list_runs", "retry")},
    **{f"webhooks_api.{name}": "app_admin" for name in (
        "list_webhooks", "create_webhook", "update_webhook", "delete_webhook", "list_deliveries")},
    "builder_api.list_apps": "open", "builder_api.create_app": "open", "builder_api.create_from_template": "open",
    "builder.template_gallery": "open",  # the old gallery's address, sent on to /apps/new
    "builder_api.get_definition": "open", "builder_api.get_draft": "app_admin", "builder_api.put_draft": "app_admin",
    "builder_api.publish": "app_admin", "builder_api.list_members": "app_admin",
    "builder_api.add_member": "app_admin", "builder_api.remove_member": "app_admin",
    "builder_api.list_templates": "open", "builder_api.import_app": "open",
    **{f"builder_api.{name}": "app_admin" for name in ("list_versions", "version_diff", "version_restore",
                                                       "export_app")},
    # the person's own things, and the organisation, on the API
    "notifications_api.list_notifications": "open", "notifications_api.read": "open",
    "tokens_api.list_tokens": "open", "tokens_api.create_token_api": "open", "tokens_api.revoke_token_api": "open",
    "audit_api.list_audit": "org_admin",
    **{f"org_api.{name}": "org_admin" for name in (
        "list_departments", "create_department", "update_department", "delete_department", "import_departments",
        "list_roles", "create_role", "update_role", "delete_role", "list_users", "create_user", "update_user",
        "deactivate_user", "reinvite_user", "reactivate_user", "reassign_records", "import_users")},
}
# API routes outside /apps/<app_key> that a token limited to one app may call: each keeps to
# the token's app (tests elsewhere prove that they do). Every other one is refused to it.
NARROWED = {"builder_api.list_apps", "api.openapi", "api.list_tasks", "api.task_counts", "api.get_task",
            "api.act_on_task", "api.act_in_batch", "api.get_import", "api.cancel_import", "api.failed_rows",
            "notifications_api.list_notifications",
            "notifications_api.read", "tokens_api.list_tokens", "tokens_api.create_token_api",
            "tokens_api.revoke_token_api"}
READ_ONLY = "This API token is read-only"
LIMITED = "This API token is limited to one app"


def definition(key: str, approver_id: int) -> dict:
    return {"key": key, "name": key.title(), "forms": [{
        "key": "deal", "name": "Deal", "title_field": "title",
        "fields": [{"key": "title", "type": "text", "label": "Title"},
                   {"key": "paper", "type": "file", "label": "Paper"}]}],
        "flows": [{"key": "check", "form": "deal", "name": "Check", "steps": [
            {"type": "approval", "key": "boss", "name": "Boss", "assignees": {"users": [approver_id]}}]}],
        "automations": [{"key": "weekly", "name": "Weekly", "trigger": {"on": "schedule", "cron": "0 9 * * 1"},
                         "actions": [{"type": "notify", "to": [{"app_admins": True}], "title": "Review"}]}],
        "views": [{"key": "by_owner", "form": "deal", "type": "kanban", "group_by": "$owner"}],
        "dashboards": [{"key": "overview", "widgets": [{"key": "per_owner", "type": "bar", "source": {
            "form": "deal", "dimensions": [{"field": "$owner"}], "measures": [{"agg": "count"}]}}]}],
        "permissions": [{"form": "deal", "to": {"members": True}, "preset": "manage_own",
                         "actions": ["view", "add", "edit", "delete", "export", "print"]}]}


@pytest.fixture
def world(app, make, client):
    """Apps alpha and beta, each with a record in its flow, a webhook, a file; the people."""
    from formloom.builder.apps import create_app

    boss = make.user("Boss", admin=True)
    mia, ulla = make.user("Mia"), make.user("Ulla")
    boss_actor = Actor.from_user(boss)
    values = {}
    boss_api = Api(client, make.token(boss))
    for key in ("alpha", "beta"):
        create_app(boss_actor, definition(key, boss.id))
        rec = boss_api.post(f"/api/v1/apps/{key}/forms/deal/records", json={"fields": {"title": "Big"}})
        assert rec.status_code == 201, rec.get_json()
        upload = boss_api.client.post(f"/api/v1/apps/{key}/files", headers=boss_api._headers(None),
                                      data={"file": (io.BytesIO(b"hello"), "a.txt")})
        assert upload.status_code == 201, upload.get_json()
        with write_transaction():  # as saved earlier: its address is not resolved again here
            hook = Webhook(app_id=db.session.query(App.id).filter_by(key=key).scalar(), name="hook",
                           url="https://hooks.example.com/x", secret="s" * 32, events=["record.created"])
            db.session.add(hook)
        task = boss_api.get("/api/v1/tasks").get_json()["items"][0]
        values[key] = {"app_key": key, "form_key": "deal", "record_id": rec.get_json()["id"],
                       "file_id": upload.get_json()["id"], "webhook_id": hook.id, "key": "weekly",
                       "view_key": "by_owner", "dashboard_key": "overview", "widget_key": "per_owner",
                       "task_id": task["id"]}
    add_member(boss_actor, "alpha", mia.id)
    with write_transaction():
        dept = Department(name="Sales")
        role = Role(key="rep", name="Rep")
        db.session.add_all([dept, role])
        db.session.flush()
        alpha_id = db.session.query(App.id).filter_by(key="alpha").scalar()
        note = Notification(user_id=mia.id, app_id=alpha_id, kind="test", title="Hello")
        db.session.add(note)
        db.session.flush()
        common = {"run_id": 1, "member_id": 1, "refresh_id": 1, "user_id": ulla.id, "dept_id": dept.id,
                  "role_id": role.id, "note_id": note.id, "job_id": "1", "token": "no-such-invite",
                  "kind": "users", "filename": "no-such-file.css", "import_id": 1, "number": 1,
                  "app_id": alpha_id}
    mia_token_id = make_token_id(make, mia)
    for key in values:
        values[key] |= common | {"token_id": mia_token_id}
    return {"boss": boss, "mia": mia, "values": values,
            "read_only": make.token(boss, read_only=True),
            "limited": make.token(boss, app_id=db.session.query(App.id).filter_by(key="alpha").scalar())}


def make_token_id(make, user) -> int:
    from formloom.platform.models import ApiToken

    make.token(user, name="spare")
    return db.session.query(ApiToken.id).filter_by(user_id=user.id).order_by(ApiToken.id.desc()).scalar()


def routes(app):
    """(endpoint, rule, method) for every route of the app."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, rule, method


def url(app, rule, method: str, values: dict) -> str:
    adapter = app.url_map.bind("localhost")
    return adapter.build(rule.endpoint, {k: values[k] for k in rule.arguments}, method=method)


class Answer:
    """What a request answered, read at once (a download's file is closed again)."""

    def __init__(self, resp):
        self.status_code = resp.status_code
        self.location = resp.headers.get("Location", "")
        body = resp.get_json(silent=True) if resp.is_json else None
        self.detail = str((body or {}).get("detail", "")) if isinstance(body, dict) else ""
        resp.close()


def send(client, method: str, path: str, token: str | None = None, csrf: str | None = None) -> Answer:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if csrf:
        headers["X-CSRFToken"] = csrf
    api = path.startswith("/api/")
    body = {"json": {}} if api else {"data": {}}
    if method in ("GET", "DELETE"):
        body = {}
    return Answer(client.open(path, method=method, headers=headers, **body))


def sent_to_sign_in(resp: Answer) -> bool:
    return resp.status_code == 302 and resp.location.startswith("/login")


def test_every_route_is_in_the_table(app):
    endpoints = {endpoint for endpoint, _rule, _method in routes(app)}
    missing = sorted(endpoints - set(MEMBER))
    assert not missing, f"Say in MEMBER (and NARROWED for API routes) what these routes allow: {missing}"
    assert not sorted(set(MEMBER) - endpoints), "MEMBER names routes that are gone"
    assert NARROWED <= endpoints


def test_a_read_only_token_reads_the_api_and_writes_nothing(app, world):
    client = app.test_client()
    wrong = []
    for _endpoint, rule, method in routes(app):
        if not rule.rule.startswith("/api/"):
            continue
        resp = send(client, method, url(app, rule, method, world["values"]["alpha"]), world["read_only"])
        if method in ("GET",):
            ok = resp.status_code not in (401, 403)
        else:
            ok = resp.status_code == 403 and resp.detail == READ_ONLY
        if not ok:
            wrong.append((method, rule.rule, resp.status_code, resp.detail))
    assert not wrong


def test_a_token_limited_to_one_app_reaches_nothing_else(app, world):
    client = app.test_client()
    wrong = []
    for endpoint, rule, method in routes(app):
        if not rule.rule.startswith("/api/"):
            continue
        resp = send(client, method, url(app, rule, method, world["values"]["beta"]), world["limited"])
        if "app_key" in rule.arguments:
            ok = resp.status_code == 404 and resp.detail == 'No published app "beta"'
        elif endpoint in NARROWED:
            ok = resp.status_code != 401 and LIMITED not in resp.detail
        else:
            ok = resp.status_code == 403 and resp.detail.startswith(LIMITED)
        if not ok:
            wrong.append((method, rule.rule, resp.status_code, resp.detail))
    assert not wrong


def test_a_token_limited_to_one_app_reads_that_app(app, world):
    client = app.test_client()
    wrong = []
    for _endpoint, rule, method in routes(app):
        if not rule.rule.startswith("/api/") or "app_key" not in rule.arguments or method != "GET":
            continue
        resp = send(client, method, url(app, rule, method, world["values"]["alpha"]), world["limited"])
        if resp.status_code in (401, 403) or resp.detail == 'No published app "alpha"':
            wrong.append((method, rule.rule, resp.status_code, resp.detail))
    assert not wrong


@pytest.mark.parametrize("kind", ["read_only", "limited"])
def test_tokens_do_not_drive_pages(app, world, kind):
    client = app.test_client()
    wrong = []
    for endpoint, rule, method in routes(app):
        if rule.rule.startswith("/api/") or MEMBER[endpoint] == "public":
            continue
        resp = send(client, method, url(app, rule, method, world["values"]["alpha"]), world[kind])
        if not sent_to_sign_in(resp):
            wrong.append((method, rule.rule, resp.status_code))
    assert not wrong


def _csrf(client) -> str:
    page = client.get("/").get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def test_a_plain_member_gets_what_the_table_says(app, world):
    member = browser(app, world["mia"])
    csrf = _csrf(member)
    wrong = []
    for endpoint, rule, method in sorted(routes(app), key=lambda r: r[0] == "auth.logout"):  # sign out last
        resp = send(member, method, url(app, rule, method, world["values"]["alpha"]), csrf=csrf)
        expected = MEMBER[endpoint]
        if expected in ("app_admin", "org_admin"):
            ok = resp.status_code == 403
        else:
            ok = resp.status_code not in (401, 403) and (endpoint == "auth.logout" or not sent_to_sign_in(resp))
        if not ok:
            wrong.append((method, rule.rule, expected, resp.status_code, resp.detail))
    assert not wrong


def test_an_admins_app_limited_token_cannot_make_an_org_admin(app, world, client):
    limited = Api(client, world["limited"])
    resp = limited.post("/api/v1/users", json={"email": "eve@example.com", "name": "Eve", "password": "x" * 12,
                                                "is_admin": True})
    assert resp.status_code == 403 and resp.get_json()["detail"].startswith(LIMITED)
    assert limited.get("/api/v1/users").status_code == 403
    assert limited.get("/api/v1/audit").status_code == 403
    assert limited.get("/api/v1/apps").get_json()["items"] == [{"key": "alpha", "name": "Alpha", "version": 1}]
    page = limited.get("/org/users/new")  # no page, so no CSRF token to post it with
    assert sent_to_sign_in(Answer(page))
    posted = limited.client.post("/org/users/new", headers=limited._headers(None),
                                 data={"email": "eve@example.com", "name": "Eve", "is_admin": "y"})
    assert sent_to_sign_in(Answer(posted))
    from formloom.platform.models import User
    assert db.session.query(User).filter_by(email="eve@example.com").count() == 0
