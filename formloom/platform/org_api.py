"""Organisation routes for administrators: roles, departments, users, their invitations,
deactivation, record reassignment and CSV imports. The work is done in `org.py`."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, jsonify, request, url_for

from formloom.platform import hooks, org, org_import
from formloom.platform.api import actor, api_blueprint, json_body
from formloom.platform.exceptions import NotFound, PermissionDenied, ValidationFailed
from formloom.platform.extensions import csrf, db
from formloom.platform.inputs import MAX_ID, as_id, is_id
from formloom.platform.models import Role, User

bp = api_blueprint("org_api")


def init_app(app: Flask) -> None:
    csrf.exempt(bp)
    app.register_blueprint(bp)


@bp.before_request
def admins_only():
    if not actor().org_admin:
        raise PermissionDenied.of(org.NOT_ADMIN)


# --- reading the body ------------------------------------------------------------------------

def _str(body: dict, key: str, required: bool = True, max_len: int = 200) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise ValidationFailed(f'"{key}" must be text of 1 to {max_len} characters',
                               [{"field": key, "message": "is required" if value is None else "is not valid"}])
    return value.strip()


def _id(body: dict, key: str, what: str) -> int | None:
    value = body.get(key)
    if value is not None and not is_id(value):
        raise ValidationFailed(f'"{key}" must be the id of a {what}',
                               [{"field": key, "message": f"must be an id (a whole number from 1 to {MAX_ID})"}])
    return value


def _flag(body: dict, key: str) -> bool:
    if not isinstance(body[key], bool):
        raise ValidationFailed(f'"{key}" must be true or false', [{"field": key, "message": "must be true or false"}])
    return body[key]


def _user_changes(body: dict) -> dict:
    """What the body changes, with types checked; `org` checks the values."""
    changes: dict = {}
    for key, max_len in (("email", 254), ("name", 200)):
        if key in body:
            changes[key] = _str(body, key, max_len=max_len)
    if body.get("password") is not None:
        changes["password"] = _str(body, "password", max_len=500)
    if "department" in body:
        changes["department_id"] = _id(body, "department", "department")
    if "roles" in body:
        keys = body["roles"] or []
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ValidationFailed('"roles" must be a list of role keys', [{"field": "roles", "message": "must be a list"}])
        changes["role_keys"] = keys
    for flag in ("active", "is_admin"):
        if flag in body:
            changes[flag] = _flag(body, flag)
    return changes


def _dept_changes(body: dict) -> dict:
    changes: dict = {}
    if "name" in body:
        changes["name"] = _str(body, "name")
    for key in ("parent", "head"):
        if key in body:
            changes[f"{key}_id"] = _id(body, key, "department" if key == "parent" else "user")
    return changes


def invite_url(token: str) -> str:
    return url_for("invite.accept", token=token, _external=True)


# --- roles -----------------------------------------------------------------------------------

def role_json(r: Role, counts: dict | None = None) -> dict:
    body = {"id": r.id, "key": r.key, "name": r.name}
    if counts is not None:
        body["users"] = counts.get(r.id, 0)
    return body


@bp.get("/roles")
def list_roles():
    counts = org.role_counts()
    roles = db.session.execute(sa.select(Role).order_by(Role.key)).scalars()
    return jsonify({"items": [role_json(r, counts) for r in roles]})


@bp.post("/roles")
def create_role():
    body = json_body()
    role = org.create_role(actor(), _str(body, "key", max_len=64), _str(body, "name"))
    return jsonify(role_json(role)), 201


@bp.patch("/roles/<int:role_id>")
def update_role(role_id):
    body = json_body()
    if "name" in body:
        return jsonify(role_json(org.rename_role(actor(), role_id, _str(body, "name"))))
    role = db.session.get(Role, role_id)
    if role is None:
        raise NotFound.of(org.NO_ROLE, id=role_id)
    return jsonify(role_json(role))


@bp.delete("/roles/<int:role_id>")
def delete_role(role_id):
    """Delete a role; the users who had it lose it (`users` says how many)."""
    return jsonify({"id": role_id, "users": org.delete_role(actor(), role_id)})


# --- departments -----------------------------------------------------------------------------

def dept_json(d, path: str | None = None) -> dict:
    body = {"id": d.id, "name": d.name, "parent": d.parent_id, "head": d.head_id}
    if path is not None:
        body["path"] = path
    return body


@bp.get("/departments")
def list_departments():
    rows = sorted(org.department_tree(), key=lambda row: row.dept.id)
    return jsonify({"items": [{**dept_json(row.dept, row.path), "members": row.members} for row in rows]})


@bp.post("/departments")
def create_department():
    body = json_body()
    _str(body, "name")
    return jsonify(dept_json(org.create_department(actor(), _dept_changes(body)))), 201


@bp.patch("/departments/<int:dept_id>")
def update_department(dept_id):
    return jsonify(dept_json(org.update_department(actor(), dept_id, _dept_changes(json_body()))))


@bp.delete("/departments/<int:dept_id>")
def delete_department(dept_id):
    """Delete an empty department (409 while it has members or sub-departments)."""
    org.delete_department(actor(), dept_id)
    return "", 204


# --- users -----------------------------------------------------------------------------------

def user_json(u: User) -> dict:
    return {"id": u.id, "email": u.email, "name": u.name, "department": u.department_id,
            "roles": sorted(u.role_keys), "active": u.active, "is_admin": u.is_admin,
            "status": org.user_status(u)}


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    if not value:
        return None
    if as_id(value) is None:
        raise ValidationFailed(f"?{name}= must be an id", [{"field": name, "message": f"must be an id (1 to {MAX_ID})"}])
    return as_id(value)


@bp.get("/users")
def list_users():
    """Users by id; ?q= (name or email), ?department= (and below), ?role= (id), ?status=."""
    stmt = org.users_query(request.args.get("q", ""), _int_arg("department"), _int_arg("role"),
                           request.args.get("status", ""))
    return jsonify({"items": [user_json(u) for u in db.session.execute(stmt.order_by(User.id).limit(500)).scalars()]})


@bp.post("/users")
def create_user():
    """Create a user; without a password the answer carries a one-time `invite_url`."""
    body = json_body()
    for key in ("email", "name"):
        _str(body, key, max_len=254)
    user, token = org.create_user(actor(), _user_changes(body))
    answer = user_json(user)
    if token:
        answer["invite_url"] = invite_url(token)
    return jsonify(answer), 201


@bp.patch("/users/<int:user_id>")
def update_user(user_id):
    return jsonify(user_json(org.update_user(actor(), user_id, _user_changes(json_body()))))


@bp.post("/users/<int:user_id>/deactivate")
def deactivate_user(user_id):
    """Stop the user signing in and using API tokens; what they own stays theirs."""
    return jsonify(user_json(org.set_active(actor(), user_id, False)))


@bp.post("/users/<int:user_id>/reactivate")
def reactivate_user(user_id):
    return jsonify(user_json(org.set_active(actor(), user_id, True)))


@bp.post("/users/<int:user_id>/invite")
def reinvite_user(user_id):
    """A new one-time invitation link (the previous one stops working)."""
    user, token = org.reinvite(actor(), user_id)
    return jsonify({**user_json(user), "invite_url": invite_url(token)})


@bp.post("/users/<int:user_id>/reassign")
def reassign_records(user_id):
    """Give every record the user owns, in every app, to {"to": user id}."""
    to = _id(json_body(), "to", "user")
    if to is None:
        raise ValidationFailed('"to" must be the id of the user who receives the records',
                               [{"field": "to", "message": "is required"}])
    return jsonify({"moved": hooks.reassign_records(actor(), user_id, to)})


# --- CSV imports -----------------------------------------------------------------------------

def _csv_body() -> str | bytes:
    if request.mimetype == "application/json":
        text = json_body().get("csv")
        if not isinstance(text, str):
            raise ValidationFailed('Send the CSV as text/csv, or as JSON {"csv": "..."}',
                                   [{"field": "csv", "message": "must be text"}])
        return text
    return request.get_data()


def _import_json(result: org_import.ImportResult, key: str) -> dict:
    return {"dry_run": not result.applied, "created": result.count("create"),
            "updated": result.count("update"), "unchanged": result.count("unchanged"),
            "rows": [{"line": p.line, key: p.key, "action": p.action} for p in result.rows],
            "invites": [{"email": email, "invite_url": invite_url(token)} for email, token in result.invites]}


def _dry_run() -> bool:
    return request.args.get("dry_run", "").lower() in ("1", "true", "yes")


@bp.post("/users/import")
def import_users():
    """CSV with email, name, department (path), roles (key;key), admin. 422 lists bad lines; all or nothing."""
    return jsonify(_import_json(org_import.import_users(actor(), _csv_body(), _dry_run()), "email"))


@bp.post("/departments/import")
def import_departments():
    """CSV with name, parent (path like Sales/East), head (email). 422 lists bad lines; all or nothing."""
    return jsonify(_import_json(org_import.import_departments(actor(), _csv_body(), _dry_run()), "path"))
