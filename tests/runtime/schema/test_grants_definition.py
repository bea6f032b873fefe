"""Grants in a definition: what validation refuses, and what publishing checks and records."""
from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa

from formloom.builder.apps import add_member, create_app, publish, remove_member, save_draft
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import App, AuditEvent, Department, Role
from formloom.runtime.exceptions import Conflict, DefinitionError
from formloom.runtime.grants import OWN, ROW_SCOPES
from formloom.runtime.schema import compile_app, validate_definition


def crm(*grants, **extra) -> dict:
    """A customer form (with a subform of contacts) and an invoice form, with `grants`."""
    customer = {"key": "customer", "name": "Customer", "title_field": "name", "owner_field": "owner", "fields": [
        {"key": "name", "type": "text", "label": "Name"},
        {"key": "owner", "type": "user", "label": "Owner"},
        {"key": "region", "type": "select", "label": "Region", "options": ["east", "west"]},
        {"key": "phone", "type": "text", "label": "Phone"},
        {"key": "dept", "type": "department", "label": "Department"},
        {"key": "contacts", "type": "subform", "label": "Contacts", "fields": [
            {"key": "person", "type": "text", "label": "Person"}]},
    ]}
    invoice = {"key": "invoice", "name": "Invoice", "fields": [{"key": "amount", "type": "number", "label": "Amount"}]}
    return {"key": "crm", "name": "CRM", "forms": [customer, invoice], "permissions": list(grants), **extra}

def grant(**kw) -> dict:
    """A grant on the customer form to every member; `preset=None` leaves the preset out."""
    out = {"form": "customer", "to": {"members": True}, "preset": "view_all", **kw}
    return {k: v for k, v in out.items() if not (k == "preset" and v is None)}

def errors_of(defn) -> dict[str, str]:
    """{pointer: message} of every error; each has both, and says something."""
    errors = validate_definition(defn)
    for e in errors:
        assert set(e) == {"pointer", "message"} and e["message"], e
    return {e["pointer"]: e["message"] for e in errors}

# -- validation (no database) ---------------------------------------------------------

def test_valid_grants_compile_with_presets_and_row_scopes():
    defn = crm(grant(to={"role": "rep"}, preset="manage_own", fields={"hidden": ["phone"], "readonly": ["region"]}),
               grant(to={"user": 3}, preset="view_all", actions=["view", "export"], rows="team"),
               grant(to={"department": 2, "include_children": False}, preset=None, actions=["add"],
                     rows={"field": "region", "op": "eq", "value": "east"}))
    assert errors_of(defn) == {}
    compiled = compile_app(defn).grants
    rep, user, dept = compiled["customer"]
    assert (rep.actions, rep.rows, rep.hidden, rep.readonly) == (
        frozenset({"view", "add", "edit", "delete", "print"}), OWN, frozenset({"phone"}), frozenset({"region"}))
    assert (user.actions, user.rows) == (frozenset({"view", "export"}), ROW_SCOPES["team"])
    assert (dept.actions, dept.rows, dept.index) == (frozenset({"add"}), defn["permissions"][2]["rows"], 2)
    # A form no grant names keeps the default: members may do everything there.
    [default] = compiled["invoice"]
    assert default.to == {"members": True} and default.rows is None and "delete" in default.actions

def test_a_grant_must_name_a_form_of_the_app_and_not_a_subform():
    errors = errors_of(crm(grant(form="nowhere")))
    assert list(errors) == ["/permissions/0/form"] and '"nowhere"' in errors["/permissions/0/form"]
    assert list(errors_of(crm(grant(form="contacts")))) == ["/permissions/0/form"]

def test_a_grant_on_a_subform_says_to_grant_its_form():
    assert "subform" in errors_of(crm(grant(form="contacts")))["/permissions/0/form"]

def test_hidden_and_readonly_must_name_fields_of_the_form():
    errors = errors_of(crm(grant(fields={"hidden": ["phone", "fax"], "readonly": ["amount"]})))
    assert set(errors) == {"/permissions/0/fields/hidden/1", "/permissions/0/fields/readonly/0"}
    assert '"fax"' in errors["/permissions/0/fields/hidden/1"]
    assert '"amount"' in errors["/permissions/0/fields/readonly/0"]

def test_the_title_field_cannot_be_hidden():
    errors = errors_of(crm(grant(fields={"hidden": ["name"]})))
    assert list(errors) == ["/permissions/0/fields/hidden"] and "title field" in errors["/permissions/0/fields/hidden"]
    assert errors_of(crm(grant(fields={"readonly": ["name"]}))) == {}

def test_a_grant_says_what_it_allows():
    bare = grant(preset=None)
    errors = errors_of(crm(bare))
    assert list(errors) == ["/permissions/0"] and "preset" in errors["/permissions/0"]
    assert errors_of(crm({**bare, "actions": []})) == {}  # allowed: admits without rights

@pytest.mark.parametrize(("part", "pointer", "words"), [
    ({"preset": "everything"}, "/permissions/0/preset", "must be one of"),
    ({"actions": ["view", "destroy"]}, "/permissions/0/actions/1", "must be one of"),
    ({"actions": "view"}, "/permissions/0/actions", "must be a list"),
    ({"actions": ["view", "view"]}, "/permissions/0/actions", "non-unique"),
    ({"rows": "mine"}, "/permissions/0/rows", '"mine" must be "all", "own", "department", "team" or a condition'),
    ({"rows": 5}, "/permissions/0/rows", "a condition"),
    ({"fields": {"hidden": "phone"}}, "/permissions/0/fields/hidden", "must be a list"),
    ({"fields": {"visible": ["phone"]}}, "/permissions/0/fields/visible", "unknown setting"),
    ({"reason": "x"}, "/permissions/0/reason", "unknown setting"),
])
def test_bad_grant_values_get_the_schemas_message(part, pointer, words):
    errors = errors_of(crm(grant(**part)))
    assert pointer in errors, errors
    assert words in errors[pointer]

@pytest.mark.parametrize("to", [{}, {"role": "rep", "user": 1}, {"group": "x"}, "rep", ["rep"]])
def test_to_names_one_principal_of_a_known_kind(to):
    errors = errors_of(crm(grant(to=to)))
    assert list(errors) == ["/permissions/0/to"], errors
    assert '{"role": key}, {"user": id}' in errors["/permissions/0/to"]

@pytest.mark.parametrize(("to", "pointer"), [
    ({"user": "1"}, "/permissions/0/to/user"),
    ({"user": 0}, "/permissions/0/to/user"),
    ({"department": 2, "include_children": "yes"}, "/permissions/0/to/include_children"),
    ({"members": False}, "/permissions/0/to/members"),
    ({"role": "Not A Key"}, "/permissions/0/to/role"),
])
def test_a_bad_value_inside_to_is_named(to, pointer):
    assert list(errors_of(crm(grant(to=to)))) == [pointer]

def test_a_grant_without_form_or_to_is_refused():
    errors = validate_definition(crm({"preset": "view_all"}))
    assert {(e["pointer"], e["message"]) for e in errors} == {
        ("/permissions/0", '"form" is required'), ("/permissions/0", '"to" is required')}

def test_rows_conditions_are_checked_against_the_form():
    errors = errors_of(crm(grant(rows={"field": "amount", "op": "eq", "value": 1}),
                           grant(rows={"all": [{"field": "region", "op": "eq", "value": "east"},
                                               {"field": "$owner", "op": "in", "value": {"var": "user.nope"}}]}),
                           grant(rows={"field": "dept", "op": "in", "value": {"var": "user.departments"}}),
                           grant(rows={"field": "region", "op": "eq", "value": "east"})))
    assert errors == {"/permissions/0/rows/field": 'unknown field "amount"',
                      "/permissions/1/rows/all/1/value/var": 'unknown variable "user.nope"'}

def test_every_grants_problems_are_reported_at_once():
    errors = errors_of(crm(grant(form="nowhere"), grant(preset="bad"), grant(fields={"hidden": ["fax"]}),
                           grant(to={"user": 1})))
    assert set(errors) == {"/permissions/0/form", "/permissions/1/preset", "/permissions/2/fields/hidden/0"}

# -- publishing (the organisation's roles, users and departments) ---------------------

@pytest.fixture
def builder(app, make):
    owner = make.user("Builder", password=None)
    return make.actor(owner)

def events(action: str) -> list[AuditEvent]:
    db.session.commit()
    return db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.id)).scalars().all()

def republish(actor, defn) -> dict:
    result = save_draft(actor, defn["key"], defn)
    assert result["valid"], result["errors"]
    return publish(actor, defn["key"])

def test_a_grant_to_a_role_nobody_defined_is_refused_at_publish(any_db, builder, make):
    create_app(builder, crm())
    with pytest.raises(DefinitionError) as err:
        republish(builder, crm(grant(), grant(to={"role": "ghost"})))
    assert [e["pointer"] for e in err.value.errors] == ["/permissions/1/to/role"]
    assert '"ghost"' in err.value.errors[0]["message"]
    app_row = db.session.execute(sa.select(App).where(App.key == "crm")).scalar_one()
    assert app_row.published_version == 1
    assert db.session.execute(sa.select(Role.key).where(Role.key == "ghost")).first() is None

def test_roles_listed_by_the_definition_are_created_at_publish(any_db, builder):
    with write_transaction():
        db.session.add(Role(key="rep", name="Sales rep"))
    create_app(builder, crm(grant(to={"role": "rep"}), grant(to={"role": "auditor"}),
                            roles=[{"key": "rep", "name": "Renamed?"}, {"key": "auditor", "name": "Auditor"}]))
    roles = dict(db.session.execute(sa.select(Role.key, Role.name)).all())
    assert roles == {"rep": "Sales rep", "auditor": "Auditor"}  # an existing role is left as it is
    [created] = events("role")
    assert created.object_id == "auditor" and created.after == {"key": "auditor", "name": "Auditor"}

def test_grants_naming_unknown_users_or_departments_are_refused_at_publish(builder, make):
    with write_transaction():
        dept = Department(name="Sales")
        db.session.add(dept)
    known = make.user("Known", password=None)
    create_app(builder, crm())
    with pytest.raises(DefinitionError) as err:
        republish(builder, crm(grant(to={"user": known.id}), grant(to={"user": 999}),
                               grant(to={"department": dept.id}), grant(to={"department": 998}),
                               grant(to={"role": "ghost"})))
    assert {e["pointer"] for e in err.value.errors} == {"/permissions/1/to/user", "/permissions/3/to/department",
                                                      "/permissions/4/to/role"}
    assert all(e["message"] for e in err.value.errors)

def test_a_create_refused_for_an_unknown_role_leaves_no_app_behind(builder):
    with pytest.raises(DefinitionError):
        create_app(builder, crm(grant(to={"role": "ghost"})))
    assert db.session.execute(sa.select(App.id).where(App.key == "crm")).first() is None
    try:
        create_app(builder, crm(grant(to={"role": "ghost"}), roles=[{"key": "ghost", "name": "Ghost"}]))
    except Conflict:
        pytest.fail("the key stays taken by the app whose creation was refused")

def test_publishing_writes_audit_lines_and_permission_changes(any_db, builder):
    first = crm(grant(to={"role": "rep"}), roles=[{"key": "rep", "name": "Rep"}])
    create_app(builder, first)
    [published] = events("publish")
    assert (published.object_id, published.before, published.after) == ("crm", {"version": 0}, {"version": 1})
    assert published.actor_id == builder.user_id and published.app_id is not None
    [initial] = events("permissions")
    assert initial.before == {"permissions": []} and initial.after == {"permissions": first["permissions"]}

    renamed = copy.deepcopy(first)
    renamed["name"] = "CRM 2"
    republish(builder, renamed)  # permissions unchanged: no permissions line
    assert len(events("publish")) == 2 and len(events("permissions")) == 1

    changed = copy.deepcopy(renamed)
    changed["permissions"][0]["fields"] = {"hidden": ["phone"]}
    republish(builder, changed)
    publishes, perms = events("publish"), events("permissions")
    assert publishes[-1].after == {"version": 3} and len(perms) == 2
    assert perms[-1].before == {"permissions": first["permissions"]}
    assert perms[-1].after == {"permissions": changed["permissions"]}
    assert perms[-1].detail == "version 3" and perms[-1].app_id == published.app_id

def test_a_refused_publish_writes_no_audit_line(builder):
    create_app(builder, crm())
    with pytest.raises(DefinitionError):
        republish(builder, crm(grant(to={"role": "ghost"})))
    assert len(events("publish")) == 1 and events("permissions") == []

def test_member_changes_are_audited_with_before_and_after(any_db, builder, make):
    create_app(builder, crm())
    with write_transaction():
        dept = Department(name="Sales")
        db.session.add(dept)
    sam = make.user("Sam", password=None)
    added = add_member(builder, "crm", sam.id)
    add_member(builder, "crm", sam.id, is_admin=True)
    by_dept = add_member(builder, "crm", department_id=dept.id, include_children=False)
    remove_member(builder, "crm", added["id"])
    lines = events("member")
    assert [(e.before, e.after) for e in lines] == [
        (None, {"id": added["id"], "admin": False, "user": sam.id}),
        ({"id": added["id"], "admin": False, "user": sam.id}, {"id": added["id"], "admin": True, "user": sam.id}),
        (None, {"id": by_dept["id"], "admin": False, "department": dept.id, "include_children": False}),
        ({"id": added["id"], "admin": True, "user": sam.id}, None),
    ]
    assert all(e.actor_id == builder.user_id and e.object_id == "crm" for e in lines)

def test_a_role_listed_twice_is_a_definition_error(builder):
    with pytest.raises(DefinitionError) as err:
        create_app(builder, crm(roles=[{"key": "aud", "name": "A"}, {"key": "aud", "name": "B"}]))
    assert err.value.errors and all(e["pointer"].startswith("/roles/1") for e in err.value.errors)
