"""Organisation routes for administrators: roles, departments, users (list, create, change)."""
from __future__ import annotations

import re

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import Flask, jsonify, request

from formloom.platform.api import actor, api_blueprint, json_body
from formloom.platform.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from formloom.platform.extensions import csrf, db, write_transaction
from formloom.platform.models import Department, Role, User

bp = api_blueprint("org_api")
KEY = re.compile(r"[a-z][a-z0-9_]*")


def init_app(app: Flask) -> None:
    csrf.exempt(bp)
    app.register_blueprint(bp)


@bp.before_request
def admins_only():
    if not actor().is_admin:
        raise PermissionDenied("Only organisation administrators manage users, departments and roles")


def _str(body: dict, key: str, required: bool = True, max_len: int = 200) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise ValidationFailed(f'"{key}" must be text of 1 to {max_len} characters',
                               [{"field": key, "message": "is required" if value is None else "is not valid"}])
    return value.strip()


def _id(body: dict, key: str, model, what: str):
    """The id `body[key]` names (None stays None). Raises ValidationFailed unless it exists."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(f'"{key}" must be the id of a {what}', [{"field": key, "message": "must be an id"}])
    if db.session.get(model, value) is None:
        raise ValidationFailed(f"{what} {value} not found", [{"field": key, "message": "not found"}])
    return value


def _flag(body: dict, key: str) -> bool:
    if not isinstance(body[key], bool):
        raise ValidationFailed(f'"{key}" must be true or false', [{"field": key, "message": "must be true or false"}])
    return body[key]


def role_json(r: Role) -> dict:
    return {"id": r.id, "key": r.key, "name": r.name}


def dept_json(d: Department) -> dict:
    return {"id": d.id, "name": d.name, "parent": d.parent_id, "head": d.head_id}


def user_json(u: User) -> dict:
    return {"id": u.id, "email": u.email, "name": u.name, "department": u.department_id,
            "roles": sorted(u.role_keys), "active": u.active, "is_admin": u.is_admin}


@bp.get("/roles")
def list_roles():
    return jsonify({"items": [role_json(r) for r in db.session.execute(sa.select(Role).order_by(Role.key)).scalars()]})


@bp.post("/roles")
def create_role():
    body = json_body()
    key, name = _str(body, "key", max_len=64), _str(body, "name")
    if not KEY.fullmatch(key):
        # Definitions name roles by key: keep keys the same shape as every other key.
        raise ValidationFailed("a role key is lower-case ASCII letters, digits and _, starting with a letter",
                               [{"field": "key", "message": "is not a valid key"}])
    with write_transaction():
        if db.session.execute(sa.select(Role.id).where(Role.key == key)).first():
            raise Conflict(f'A role "{key}" exists already')
        role = Role(key=key, name=name)
        db.session.add(role)
    return jsonify(role_json(role)), 201


@bp.patch("/roles/<int:role_id>")
def update_role(role_id):
    body = json_body()
    with write_transaction():
        role = db.session.get(Role, role_id) or _missing("role", role_id)
        if "name" in body:
            role.name = _str(body, "name")
    return jsonify(role_json(role))


def _missing(what: str, ident):
    raise NotFound(f"No {what} {ident}")


def _check_dept_refs(body: dict, dept_id: int | None = None) -> None:
    parent = _id(body, "parent", Department, "department")
    walk = db.session.get(Department, parent) if parent is not None else None
    while walk is not None:  # a department cannot sit below itself
        if walk.id == dept_id:
            raise ValidationFailed("a department cannot be inside itself", [{"field": "parent", "message": "makes a cycle"}])
        walk = walk.parent
    _id(body, "head", User, "user")


@bp.get("/departments")
def list_departments():
    rows = db.session.execute(sa.select(Department).order_by(Department.id)).scalars()
    return jsonify({"items": [dept_json(d) for d in rows]})


@bp.post("/departments")
def create_department():
    body = json_body()
    name = _str(body, "name")
    with write_transaction():
        _check_dept_refs(body)
        dept = Department(name=name, parent_id=body.get("parent"), head_id=body.get("head"))
        db.session.add(dept)
    return jsonify(dept_json(dept)), 201


@bp.patch("/departments/<int:dept_id>")
def update_department(dept_id):
    body = json_body()
    with write_transaction():
        dept = db.session.get(Department, dept_id) or _missing("department", dept_id)
        _check_dept_refs(body, dept_id)
        if "name" in body:
            dept.name = _str(body, "name")
        for key, attr in (("parent", "parent_id"), ("head", "head_id")):
            if key in body:
                setattr(dept, attr, body[key])
    return jsonify(dept_json(dept))


def _apply_user(user: User, body: dict) -> None:
    if "email" in body:
        try:
            email = validate_email(_str(body, "email", max_len=254), check_deliverability=False).normalized.lower()
        except EmailNotValidError as exc:
            raise ValidationFailed(str(exc), [{"field": "email", "message": "is not a valid e-mail address"}]) from None
        with db.session.no_autoflush:
            if db.session.execute(sa.select(User.id).where(User.email == email, User.id != user.id)).first():
                raise Conflict(f"A user with email {email} exists already")
        user.email = email
    if "name" in body:
        user.name = _str(body, "name")
    if "password" in body:
        password = _str(body, "password", max_len=500)
        if len(password) < 8:
            raise ValidationFailed("password too short", [{"field": "password", "message": "needs at least 8 characters"}])
        user.set_password(password)
    if "department" in body:
        user.department_id = _id(body, "department", Department, "department")
    if "roles" in body:
        keys = body["roles"] or []
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ValidationFailed('"roles" must be a list of role keys', [{"field": "roles", "message": "must be a list"}])
        roles = list(db.session.execute(sa.select(Role).where(Role.key.in_(keys))).scalars())
        unknown = set(keys) - {r.key for r in roles}
        if unknown:
            raise ValidationFailed("unknown roles", [{"field": "roles", "message": f"unknown: {', '.join(sorted(unknown))}"}])
        user.roles = roles
    for flag in ("active", "is_admin"):
        if flag in body:
            setattr(user, flag, _flag(body, flag))


@bp.get("/users")
def list_users():
    stmt = sa.select(User).order_by(User.id)
    if request.args.get("q"):
        like = f"%{request.args['q']}%"
        stmt = stmt.where(sa.or_(User.name.ilike(like), User.email.ilike(like)))
    return jsonify({"items": [user_json(u) for u in db.session.execute(stmt.limit(500)).scalars()]})


@bp.post("/users")
def create_user():
    body = json_body()
    for key in ("email", "name"):
        _str(body, key)
    with write_transaction():
        user = User(email="", name="")
        _apply_user(user, body)
        db.session.add(user)
    return jsonify(user_json(user)), 201


@bp.patch("/users/<int:user_id>")
def update_user(user_id):
    body = json_body()
    with write_transaction():
        user = db.session.get(User, user_id) or _missing("user", user_id)
        if user.id == actor().user_id and (body.get("is_admin") is False or body.get("active") is False):
            raise ValidationFailed("You cannot remove your own administrator rights or deactivate yourself; "
                                   "ask another administrator", [{"field": "is_admin" if "is_admin" in body else "active",
                                                                  "message": "would lock you out"}])
        _apply_user(user, body)
    return jsonify(user_json(user))
