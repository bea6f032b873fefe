"""Organisation pages: users and invitations, deactivation and reassignment, departments, roles."""
import hashlib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from formloom.platform import org
from formloom.platform.extensions import db
from formloom.platform.models import (
    AppMember,
    AuditEvent,
    Department,
    OutboxEvent,
    RecordRevision,
    Role,
    User,
    utcnow,
)
from formloom.runtime.records import service

TASKS = {"key": "tasks", "name": "Tasks", "forms": [{
    "key": "task", "name": "Task", "title_field": "title", "owner_field": "assignee",
    "fields": [{"key": "title", "type": "text", "label": "Title", "required": True},
               {"key": "assignee", "type": "user", "label": "Assignee"}]}]}


@pytest.fixture
def admin(make, auth):
    user = make.user("Ada Admin", admin=True)
    auth.login(user.email)
    return user


def text(resp) -> str:
    return resp.get_data(as_text=True)


def invite_link(resp) -> str:
    found = re.search(r'value="(http://[^"]+/invite/[^"]+)"', text(resp))
    assert found, text(resp)
    return found.group(1).replace("http://localhost", "")


def exists(model, ident) -> bool:
    return db.session.execute(sa.select(model.id).where(model.id == ident)).first() is not None


def audit_lines(action: str) -> list[AuditEvent]:
    return list(db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.id)).scalars())


def test_users_list_searches_filters_and_pages(client, admin, make):
    sales = org.create_department(make.actor(admin), {"name": "Sales"})
    east = org.create_department(make.actor(admin), {"name": "East", "parent_id": sales.id})
    rep = org.create_role(make.actor(admin), "sales_rep", "Sales rep")
    make.user("Li Lei", department_id=east.id, roles=[db.session.get(Role, rep.id)])
    make.user("Han Meimei", email="han@corp.example")
    gone = make.user("Gone Person", active=False)
    for i in range(30):
        make.user(f"Zed {i:02d}")
    page = text(client.get("/org/users?q=han@corp"))
    assert "Han Meimei" in page and "Li Lei" not in page
    # The department filter includes the departments below it.
    page = text(client.get(f"/org/users?department={sales.id}"))
    assert "Li Lei" in page and "Han Meimei" not in page and "Sales/East" in page
    assert "Li Lei" in text(client.get(f"/org/users?role={rep.id}"))
    page = text(client.get("/org/users?status=deactivated"))
    assert gone.name in page and "Li Lei" not in page
    first, second = text(client.get("/org/users")), text(client.get("/org/users?page=2"))
    assert "Zed 00" in first and "Zed 29" not in first and "Zed 29" in second and "of 34 users" in first
    assert "No matching users" in text(client.get("/org/users?q=nobody-at-all"))


def test_invitation_sets_password_and_signs_in(client, admin, auth):
    resp = client.post("/org/users/new", data={"name": "New Person", "email": "New@Example.com"})
    assert resp.status_code == 200 and "shown only now" in text(resp)
    link = invite_link(resp)
    token = link.rsplit("/", 1)[1]
    user = db.session.execute(sa.select(User).where(User.email == "new@example.com")).scalar_one()
    assert user.invite_token_hash == hashlib.sha256(token.encode()).hexdigest() and user.password_hash is None
    line = audit_lines("user")[-1]
    assert line.detail == "invited" and token not in str(line.after) and "password" not in str(line.after)
    auth.logout()
    assert auth.login("new@example.com", "whatever-1").status_code == 401  # no password yet
    assert "New Person" in text(client.get(link))
    mismatch = client.post(link, data={"password": "long-enough-1", "confirm": "long-enough-2"})
    assert mismatch.status_code == 422 and "differ" in text(mismatch)
    assert client.post(link, data={"password": "short", "confirm": "short"}).status_code == 422
    done = client.post(link, data={"password": "long-enough-1", "confirm": "long-enough-1"})
    assert done.status_code == 302
    assert client.get("/").status_code == 200  # signed in
    used = client.get(link)
    assert used.status_code == 410 and "cannot be used" in text(used)
    auth.logout()
    assert auth.login("new@example.com", "long-enough-1").status_code == 302


def test_expired_and_replaced_links_show_a_clear_page(client, admin, make):
    resp = client.post("/org/users/new", data={"name": "Late", "email": "late@example.com"})
    old = invite_link(resp)
    user = db.session.execute(sa.select(User).where(User.email == "late@example.com")).scalar_one()
    user.invited_at = utcnow() - timedelta(days=org.INVITE_DAYS, minutes=1)
    db.session.commit()
    expired = client.get(old)
    assert expired.status_code == 410 and "expired" in text(expired)
    again = client.post(f"/org/users/{user.id}/invite")
    new = invite_link(again)
    assert new != old and client.get(new).status_code == 200
    assert client.get(old).status_code == 410  # the old link no longer works


def test_create_user_errors_keep_the_input(client, admin, make):
    taken = make.user("Taken")
    resp = client.post("/org/users/new", data={"name": "Second Person", "email": taken.email})
    assert resp.status_code == 422
    page = text(resp)
    assert "exists already" in page and 'value="Second Person"' in page


def _records_of(member, make, admin, *others):
    rt = make.install("sales-mini", admin, members=[member, *others])
    actor = make.actor(member)
    ids = [service.create(actor, rt, "company", {"name": f"Co {i}"})["id"] for i in range(2)]
    tasks = make.install(TASKS, admin, members=[member])
    ids.append(service.create(make.actor(admin), tasks, "task", {"title": "Call", "assignee": member.id})["id"])
    return rt, tasks, ids


def test_deactivated_user_cannot_sign_in_or_use_tokens_but_keeps_records(any_db, app, client, admin, make):
    member = make.user("Mia Member")
    token = make.token(member)
    rt, tasks, _ids = _records_of(member, make, admin)
    other = app.test_client()
    other.post("/login", data={"email": member.email, "password": "secret-pass-1"})
    assert other.get("/").status_code == 200
    resp = client.post(f"/org/users/{member.id}/deactivate", follow_redirects=True)
    assert "is deactivated" in text(resp)
    assert other.get("/").status_code == 302  # the open session ends too
    assert other.post("/login", data={"email": member.email, "password": "secret-pass-1"}).status_code == 401
    # A fresh client: the admin's session would take precedence over the token.
    assert app.test_client().get("/api/v1/apps", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    table = rt.tables["company"].table
    assert db.session.execute(sa.select(sa.func.count()).where(table.c.owner_id == member.id)).scalar() == 2
    assert "Records owned" in text(client.get(f"/org/users/{member.id}"))
    client.post(f"/org/users/{member.id}/reactivate")
    assert other.post("/login", data={"email": member.email, "password": "secret-pass-1"}).status_code == 302


def test_reassign_moves_records_in_every_app(any_db, client, admin, make):
    member, heir = make.user("Leaver"), make.user("Heir")
    rt, tasks, _ids = _records_of(member, make, admin, heir)
    mine = service.create(make.actor(heir), rt, "company", {"name": "Heir's own"})
    client.post(f"/org/users/{member.id}/deactivate")
    assert "owns 3 records" in text(client.get(f"/org/users/{member.id}/reassign"))
    same = client.post(f"/org/users/{member.id}/reassign", data={"user": str(member.id)})
    assert same.status_code == 422
    resp = client.post(f"/org/users/{member.id}/reassign", data={"user": str(heir.id)}, follow_redirects=True)
    assert "Moved 3 records to Heir" in text(resp)
    companies = rt.tables["company"].table
    owners = dict(db.session.execute(sa.select(companies.c.id, companies.c.owner_id)).all())
    assert set(owners.values()) == {heir.id} and mine["id"] in owners
    ft = tasks.tables["task"]
    row = db.session.execute(sa.select(ft.table.c.owner_id, ft.columns["assignee"], ft.table.c.version)).one()
    assert tuple(row) == (heir.id, heir.id, 2)
    revisions = list(db.session.execute(sa.select(RecordRevision).where(RecordRevision.action == "updated")).scalars())
    assert sorted(str(r.changes) for r in revisions) == sorted(
        [str({"$owner": [member.id, heir.id]})] * 2 + [str({"assignee": [member.id, heir.id]})])
    events = db.session.execute(sa.select(OutboxEvent.payload).where(OutboxEvent.type == "record.updated")).scalars()
    assert {e["changes"].get("assignee", e["changes"].get("$owner"))[1] for e in events} == {heir.id}
    line = audit_lines("reassign")[-1]
    assert line.object_id == str(member.id) and line.after["moved"] == 3
    assert "Nothing to reassign" in text(client.get(f"/org/users/{member.id}/reassign"))


def test_department_tree_refuses_cycles_and_deletes_only_empty(client, admin, make):
    boss = make.user("Boss")
    client.post("/org/departments/new", data={"name": "Sales", "head": str(boss.id)})
    sales = db.session.execute(sa.select(Department).where(Department.name == "Sales")).scalar_one()
    client.post("/org/departments/new", data={"name": "East", "parent": str(sales.id)})
    east = db.session.execute(sa.select(Department).where(Department.name == "East")).scalar_one()
    make.user("Eve East", department_id=east.id)
    page = text(client.get("/org/departments"))
    assert page.count('class="fl-org-indent"') == 1 and "Boss" in page  # East, one level down
    resp = client.post(f"/org/departments/{sales.id}", data={"name": "Sales", "parent": str(east.id)})
    assert resp.status_code == 422 and "cannot be moved inside itself" in text(resp)
    assert db.session.get(Department, sales.id).parent_id is None
    twin = client.post("/org/departments/new", data={"name": "east", "parent": str(sales.id)})
    assert twin.status_code == 422 and "already a department" in text(twin)
    resp = client.post(f"/org/departments/{east.id}/delete", follow_redirects=True)
    assert "still has 1 members" in text(resp) and db.session.get(Department, east.id) is not None
    resp = client.post(f"/org/departments/{sales.id}/delete", follow_redirects=True)
    assert "1 sub-departments" in text(resp)
    client.post(f"/org/departments/{east.id}", data={"name": "East Region", "parent": ""})
    db.session.expire_all()
    assert db.session.get(Department, east.id).parent_id is None
    sales_id = sales.id
    assert client.post(f"/org/departments/{sales_id}/delete").status_code == 302
    assert not exists(Department, sales_id)
    assert [line.detail for line in audit_lines("department")] == ["created", "created", "changed", "deleted"]


def test_roles_members_and_delete(client, admin, make):
    client.post("/org/roles/new", data={"name": "Finance", "key": "finance"})
    role = db.session.execute(sa.select(Role).where(Role.key == "finance")).scalar_one()
    assert client.post("/org/roles/new", data={"name": "Again", "key": "finance"}).status_code == 422
    assert client.post("/org/roles/new", data={"name": "Bad", "key": "Bad Key"}).status_code == 422
    ann, bob = make.user("Ann"), make.user("Bob")
    for user in (ann, bob):
        client.post(f"/org/roles/{role.id}/members", data={"add-user": str(user.id)})
    rt = make.install("sales-mini", admin)
    db.session.add(AppMember(app_id=rt.app_id, role_id=role.id))
    db.session.commit()
    page = text(client.get("/org/roles"))
    assert "2 users have it" in page and "1 app lets this role in" in page
    client.post(f"/org/roles/{role.id}/members", data={"remove": str(bob.id)})
    client.post(f"/org/roles/{role.id}", data={"name": "Finance team"})
    page = text(client.get(f"/org/roles/{role.id}"))
    assert "Finance team" in page and "Ann" in page and "1 user has it" in page
    role_id = role.id
    resp = client.post(f"/org/roles/{role_id}/delete", follow_redirects=True)
    assert "1 user lost it" in text(resp)
    db.session.expire_all()
    assert not exists(Role, role_id) and db.session.get(User, ann.id).role_keys == set()
    assert db.session.execute(sa.select(AppMember.id).where(AppMember.role_id == role_id)).first() is None
    assert audit_lines("role")[-1].before["users"] == [ann.email]


PAGES = ["/org/users", "/org/users/new", "/org/departments", "/org/departments/new", "/org/roles",
         "/org/roles/new", "/org/import/users", "/org/import/departments", "/org/import/users/sample.csv"]


def test_only_organisation_admins_see_the_pages(client, make, auth):
    for url in PAGES:
        assert client.get(url).status_code == 302  # anonymous: to the sign-in page
    auth.login(make.user("Plain").email)
    for url in PAGES:
        resp = client.get(url)
        assert resp.status_code == 403 and "Only organisation administrators" in text(resp)
    assert client.post("/org/users/new", data={"name": "X", "email": "x@example.com"}).status_code == 403
    assert "/org/users" not in text(client.get("/"))  # no "Organisation" entry in the navigation


def test_admin_pages_render_in_both_languages(client, admin, make):
    sales = org.create_department(make.actor(admin), {"name": "Sales"})
    role = org.create_role(make.actor(admin), "sales_rep", "Sales rep")
    urls = [*PAGES[:-1], f"/org/users/{admin.id}", f"/org/departments/{sales.id}", f"/org/roles/{role.id}"]
    assert 'href="/org/users"' in text(client.get("/"))  # the "Organisation" entry
    for lang, words in (("en", "Organisation"), ("zh_CN", "lang=\"zh-CN\"")):
        client.post("/language", data={"lang": lang, "next": "/"})
        for url in urls:
            resp = client.get(url)
            assert resp.status_code == 200 and words in text(resp), url


def test_every_service_message_has_a_translation(app):
    from flask_babel import force_locale

    from formloom.platform import hooks, messages
    from formloom.platform.exceptions import Conflict

    said = set(messages.catalogue().values())
    assert {hooks.SAME_USER, hooks.INACTIVE_TARGET, org.NOT_ADMIN, org.IMPORT_FAILED} <= said
    exc = Conflict.of(org.DEPT_IN_USE, name="Sales", members=2, children=0)
    with app.test_request_context(), force_locale("en"):
        assert exc.localized().startswith('Department "Sales" still has 2')
    with app.test_request_context(), force_locale("zh_CN"):
        assert "Sales" in exc.localized() and not exc.localized().startswith("Department")
