"""App administration pages: /a/<app>/members (add, promote, remove) and /a/<app>/permissions."""
from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from formloom.builder import apps
from formloom.platform.actor import Actor
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import AuditEvent, Department, Role
from formloom.runtime.grants import EVERYTHING

from support_formloom import browser

MEMBERS = "/a/crm/members"
PERMISSIONS = "/a/crm/permissions"


def definition(east_id: int, ed_id: int) -> dict:
    """A CRM with four grants on customers, a form for own records and one nobody names."""
    text = {"type": "text"}
    return {
        "key": "crm", "name": "CRM",
        "roles": [{"key": "sales_rep", "name": "Sales rep"}, {"key": "sales_manager", "name": "Sales manager"}],
        "forms": [
            {"key": "customer", "name": "客户", "name_en": "Customer", "title_field": "name",
             "fields": [{**text, "key": "name", "label": "Name"},
                        {"key": "credit_limit", "type": "number", "label": "信用额度", "label_en": "Credit limit"},
                        {"key": "tier", "type": "select", "label": "Tier", "options": ["A", "B"]}]},
            {"key": "ticket", "name": "Ticket", "members": "own", "fields": [{**text, "key": "subject", "label": "Subject"}]},
            {"key": "note", "name": "Note", "fields": [{**text, "key": "body", "label": "Body"}]}],
        "permissions": [
            {"form": "customer", "to": {"role": "sales_rep"}, "preset": "manage_own",
             "fields": {"hidden": ["credit_limit"], "readonly": ["tier"]}},
            {"form": "customer", "to": {"role": "sales_manager"}, "actions": ["view", "edit", "export"], "rows": "team"},
            {"form": "customer", "to": {"department": east_id, "include_children": False}, "preset": "view_all"},
            {"form": "customer", "to": {"user": ed_id}, "preset": "view_all", "name": "Key accounts",
             "rows": {"field": "tier", "op": "eq", "value": "A"}},
            {"form": "customer", "to": {"members": True}, "preset": "submit_only"}]}


@pytest.fixture
def team(app, make):
    """App "crm" made by Olga (its one admin); Sales > East with Ed in East; Sam has role Rep; Fay is outside."""
    with write_transaction():
        sales = Department(name="Sales")
        db.session.add(sales)
        db.session.flush()
        east = Department(name="East", parent_id=sales.id)
        rep = Role(key="rep", name="Rep")
        db.session.add_all([east, rep])
    people = SimpleNamespace(olga=make.user("Olga"), ed=make.user("Ed", department_id=east.id),
                             sam=make.user("Sam", roles=[rep]), fay=make.user("Fay"))
    apps.create_app(Actor.from_user(people.olga), definition(east.id, people.ed.id))
    return SimpleNamespace(sales=sales.id, east=east.id, users=people, app=app)


class _Text(HTMLParser):
    """Text of the elements carrying an attribute (with a value, if given), as a reader sees it."""

    VOID = {"input", "br", "img", "meta", "link", "hr"}
    INLINE = {"strong", "em", "b", "code", "a"}  # no space around these

    def __init__(self, attr: str, value: str | None):
        super().__init__()
        self.attr, self.value, self.depth, self.found, self.parts = attr, value, 0, [], []

    def handle_starttag(self, tag, attrs):
        if self.depth and tag not in self.INLINE:
            self.parts.append(" ")
        if tag in self.VOID:
            return
        attrs = dict(attrs)
        if self.depth or (self.attr in attrs and self.value in (None, attrs[self.attr])):
            self.depth += 1

    def handle_endtag(self, tag):
        if not self.depth:
            return
        self.depth -= 1
        self.parts.append("" if tag in self.INLINE else " ")
        if not self.depth:
            self.found.append(re.sub(r"\s+", " ", "".join(self.parts)).strip())
            self.parts = []

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)


def texts(resp, attr: str, value: str | None = None) -> list[str]:
    """What a reader sees in each element carrying `attr` (data-member, data-grant, ...)."""
    parser = _Text(attr, value)
    parser.feed(resp.get_data(as_text=True))
    return parser.found


def ticked(resp, name: str) -> bool:
    """Whether the checkbox `name` is ticked."""
    found = re.search(rf'<input[^>]*name="{name}"[^>]*>', resp.get_data(as_text=True))
    assert found, name
    return " checked" in found.group(0)


def said(resp) -> str:
    """The response body with entities decoded (what a reader reads, markup and all)."""
    return html.unescape(resp.get_data(as_text=True))


def members() -> list[dict]:
    return apps.list_members(Actor.system(), "crm")


def alert(resp) -> str:
    return " ".join(texts(resp, "role", "alert"))


def test_admin_adds_a_department_with_sub_departments_a_role_and_a_user(any_db, team):
    olga, ed = browser(team.app, team.users.olga), team.users.ed
    page = olga.get(MEMBERS)
    assert page.status_code == 200
    assert texts(page, "data-member") == [f"User: Olga {team.users.olga.email} Administrator Revoke administrator Remove"]
    body = page.get_data(as_text=True)
    assert f'<option value="{team.east}">\u00a0\u00a0\u00a0\u00a0East</option>' in body  # indented under Sales
    assert f'<option value="{team.users.fay.id}">Fay ({team.users.fay.email})</option>' in body
    assert '<option value="rep">Rep (rep)</option>' in body

    resp = olga.post(MEMBERS, data={"kind": "department", "department": str(team.sales), "include_children": "y",
                                    "user": str(ed.id)})  # the user select is not the chosen type: ignored
    assert resp.status_code == 302 and resp.location.endswith(MEMBERS)
    olga.post(MEMBERS, data={"kind": "role", "role": "rep"})
    page = olga.post(MEMBERS, data={"kind": "user", "user": str(ed.id), "admin": "y"}, follow_redirects=True)
    assert "Ed was added to the app's members." in said(page)
    rows = texts(page, "data-member")
    assert rows[1:] == ["Department: Sales and sub-departments Member Make administrator Remove",
                        "Role: Rep rep Member Make administrator Remove",
                        f"User: Ed {ed.email} Administrator Revoke administrator Remove"]
    assert [{k: v for k, v in m.items() if k != "id"} for m in members()][1:] == [
        {"admin": False, "department": team.sales, "include_children": True},
        {"admin": False, "role": "rep"}, {"admin": True, "user": ed.id}]
    lines = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "member")).scalars().all()
    assert len(lines) == 3 and all(line.actor_id == team.users.olga.id for line in lines)
    # Ed administers now; Sam came in through the role, as a member.
    assert browser(team.app, ed).get(MEMBERS).status_code == 200
    assert browser(team.app, team.users.sam).get("/a/crm").status_code == 200


def test_a_department_without_its_sub_departments(team):
    olga = browser(team.app, team.users.olga)
    page = olga.post(MEMBERS, data={"kind": "department", "department": str(team.east)}, follow_redirects=True)
    assert texts(page, "data-member")[1] == "Department: East Sales / East · this department only Member " \
                                            "Make administrator Remove"
    assert members()[1]["include_children"] is False


def test_admin_toggles_a_member_between_admin_and_member(team):
    olga = browser(team.app, team.users.olga)
    olga.post(MEMBERS, data={"kind": "department", "department": str(team.sales)})  # include_children unticked
    dept = members()[1]
    page = olga.post(f"{MEMBERS}/{dept['id']}/admin", follow_redirects=True)
    assert "Sales is now an administrator of the app." in said(page)
    assert members()[1] == {**dept, "admin": True}  # include_children kept
    # East is not included: Ed stays a plain member (a grant names him), not an admin.
    assert browser(team.app, team.users.ed).get(MEMBERS).status_code == 403
    page = olga.post(f"{MEMBERS}/{dept['id']}/admin", follow_redirects=True)
    assert "Sales is no longer an administrator of the app." in said(page)
    assert members()[1] == dept


def test_admin_removes_a_member(team):
    olga, sam = browser(team.app, team.users.olga), team.users.sam
    olga.post(MEMBERS, data={"kind": "user", "user": str(sam.id)})
    assert browser(team.app, sam).get("/a/crm").status_code == 200
    page = olga.post(f"{MEMBERS}/{members()[1]['id']}/remove", follow_redirects=True)
    assert "Sam was removed from the app's members." in said(page)
    assert len(texts(page, "data-member")) == 1 and len(members()) == 1
    assert browser(team.app, sam).get("/a/crm").status_code == 404


def test_the_last_administrator_cannot_go(team):
    olga = browser(team.app, team.users.olga)
    own = members()[0]["id"]
    for url in (f"{MEMBERS}/{own}/remove", f"{MEMBERS}/{own}/admin"):
        resp = olga.post(url)
        assert resp.status_code == 409
        assert "The app must keep at least one administrator" in alert(resp)
        assert texts(resp, "data-member")[0].startswith("User: Olga")
    # Through the add form too: re-adding herself without "administrator" would demote her.
    resp = olga.post(MEMBERS, data={"kind": "user", "user": str(team.users.olga.id)})
    assert resp.status_code == 409 and "at least one administrator" in alert(resp)
    assert members()[0]["admin"] is True


def test_errors_keep_what_was_typed(team):
    olga = browser(team.app, team.users.olga)
    resp = olga.post(MEMBERS, data={"kind": "user", "user": "", "admin": "y"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Choose a user." in body
    assert '<option selected value="user">' in body and ticked(resp, "admin")
    resp = olga.post(MEMBERS, data={"kind": "department", "department": "999", "admin": "y"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "This department no longer exists; choose another." in body
    assert '<option selected value="department">' in body and ticked(resp, "admin")
    assert not ticked(resp, "include_children")  # left unticked, still unticked
    assert len(members()) == 1
    for url in (f"{MEMBERS}/999/remove", f"{MEMBERS}/999/admin"):
        resp = olga.post(url)
        assert resp.status_code == 404 and "This member is no longer on the list" in alert(resp)


def test_removing_your_own_admin_rights_leaves_the_page(team):
    olga = browser(team.app, team.users.olga)
    olga.post(MEMBERS, data={"kind": "user", "user": str(team.users.ed.id), "admin": "y"})
    resp = olga.post(f"{MEMBERS}/{members()[0]['id']}/admin", follow_redirects=True)
    assert resp.request.path == "/a/crm"
    assert "You are no longer an administrator of this app." in said(resp)
    assert olga.get(MEMBERS).status_code == 403


def test_only_app_admins_see_the_pages(any_db, team):
    olga, sam = browser(team.app, team.users.olga), browser(team.app, team.users.sam)
    olga.post(MEMBERS, data={"kind": "role", "role": "rep"})
    before = members()
    for url in (MEMBERS, PERMISSIONS):
        resp = sam.get(url)
        assert resp.status_code == 403 and "Only the app's administrators" in said(resp)
    assert sam.post(MEMBERS, data={"kind": "user", "user": str(team.users.sam.id), "admin": "y"}).status_code == 403
    assert sam.post(f"{MEMBERS}/{before[0]['id']}/remove").status_code == 403
    fay = browser(team.app, team.users.fay)
    for url in (MEMBERS, PERMISSIONS):
        assert fay.get(url).status_code == 404  # outsiders are not told the app exists
    assert fay.post(f"{MEMBERS}/{before[0]['id']}/remove").status_code == 404
    assert members() == before


def test_sidebar_links_only_for_admins(team, make):
    olga = browser(team.app, team.users.olga)
    olga.post(MEMBERS, data={"kind": "user", "user": str(team.users.sam.id)})
    sam = browser(team.app, team.users.sam)
    for url in ("/a/crm", "/a/crm/f/note"):
        assert texts(olga.get(url), "data-app-admin-nav") == ["Design forms Publish Versions App members Permissions Webhooks Automations Lookups and rollups"]
        assert texts(sam.get(url), "data-app-admin-nav") == []
    root = browser(team.app, make.user("Root", admin=True))
    assert texts(root.get("/a/crm"), "data-app-admin-nav") == ["Design forms Publish Versions App members Permissions Webhooks Automations Lookups and rollups"]
    page = olga.get(PERMISSIONS).get_data(as_text=True)
    assert re.search(r'class="nav-link active" href="/a/crm/permissions" aria-current="page"', page)


def test_an_app_without_member_rows_shows_the_empty_state(app, make):
    definition_ = {"key": "solo", "name": "Solo", "forms": [{"key": "item", "name": "Item",
                                                             "fields": [{"key": "t", "type": "text"}]}]}
    apps.create_app(Actor.system(), definition_)
    page = browser(app, make.user("Root", admin=True)).get("/a/solo/members")
    assert page.status_code == 200 and texts(page, "data-member") == []
    assert "No members yet" in said(page)


def test_permissions_page_names_the_right_to_reassign(team):
    olga = Actor.from_user(team.users.olga)
    changed = definition(team.east, team.users.ed.id)
    changed["permissions"][1]["actions"] = ["view", "edit", "reassign"]
    changed["permissions"].append({"form": "note", "to": {"role": "rep"}, "preset": "manage_all",
                                   "actions": [*EVERYTHING, "reassign"]})
    assert apps.save_draft(olga, "crm", changed)["valid"]
    apps.publish(olga, "crm")
    lines = texts(browser(team.app, team.users.olga).get(PERMISSIONS), "data-grant")
    assert ("Sales manager Role · sales_manager Chosen actions: view, edit, and give records to someone else "
            "their own and their subordinates' records All fields") in lines
    assert ("Rep Role · rep Manage all, with chosen actions: everything and give records to someone else "
            "all records All fields") in lines


def test_permissions_page_says_each_grant_in_words(any_db, team):
    page = browser(team.app, team.users.olga).get(PERMISSIONS)
    assert page.status_code == 200
    assert texts(page, "data-grant") == [
        "Sales rep Role · sales_rep Manage own: view, add, edit, delete, and print their own records "
        "Hidden: Credit limit Read-only: Tier",
        "Sales manager Role · sales_manager Chosen actions: view, edit, and export "
        "their own and their subordinates' records All fields",
        "East Department View all: view and print all records All fields",
        'Ed User “Key accounts” View all: view and print records matching {"field": "tier", "op": "eq", "value": "A"} All fields',
        "All app members Everyone on the App members page Submit only: add none: they add records without seeing any "
        "All fields",
        "All app members No permission names this form Everything their own records All fields",
        "All app members No permission names this form Everything all records All fields"]
    body = page.get_data(as_text=True)
    assert '<code class="fl-perm-code">{&#34;field&#34;: &#34;tier&#34;' in body
    assert [t for t in texts(page, "data-grant-form")] == ["Customer", "Ticket", "Note"]
