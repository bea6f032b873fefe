"""The organisation: users and their invitations, the department tree, roles, and the
queries the runtime needs (who reports to whom).

Services take the acting administrator, check, write the change and its audit line in one
transaction, and raise ValidationFailed, Conflict, NotFound or PermissionDenied. Messages
are `Message`s with a code (platform/messages.py): English for API clients, the reader's
language on the pages.
CSV imports of users and departments are in `org_import.py`.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask_babel import force_locale, gettext

from formloom.platform import audit, jobs, mail
from formloom.platform.actor import Actor
from formloom.platform.auth import hash_token
from formloom.platform.exceptions import (
    Conflict,
    FormloomError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from formloom.platform.extensions import db, write_transaction
from formloom.platform.i18n import N_
from formloom.platform.messages import Message, message
from formloom.platform.models import AppMember, Department, Job, Role, User, user_roles, utcnow

INVITE_DAYS = 7
MIN_PASSWORD = 8
KEY = re.compile(r"[a-z][a-z0-9_]*")

# The service's messages by code (platform/messages.py): the API says them in English with
# their code, the pages in the reader's language.
NOT_ADMIN = message("org.not_admin", N_("Only organisation administrators manage users, departments and roles"))
BAD_EMAIL = message("org.bad_email", N_("%(email)s is not a valid email address"))
EMAIL_TAKEN = message("org.email_taken", N_("A user with email %(email)s exists already"))
BAD_NAME = message("org.bad_name", N_("A name is 1 to 200 characters"))
SHORT_PASSWORD = message("org.short_password", N_("A password needs at least 8 characters"))
NO_DEPARTMENT = message("org.no_department", N_("There is no department %(id)s"))
NO_USER = message("org.no_user", N_("There is no user %(id)s"))
NO_ROLE = message("org.no_role", N_("There is no role %(id)s"))
UNKNOWN_ROLES = message("org.unknown_roles", N_("Unknown roles: %(keys)s"))
LOCKOUT = message("org.lockout", N_("You cannot remove your own administrator rights or deactivate yourself; "
                                    "ask another administrator"))
INVITE_INACTIVE = message("org.invite_inactive", N_("A deactivated user cannot be invited; reactivate them first"))
SLASH = message("org.department_slash", N_('A department name cannot contain "/": it separates the names in a path '
                                           "like Sales/East"))
CYCLE = message("org.department_cycle", N_("A department cannot be moved inside itself or one of its own "
                                           "sub-departments"))
SIBLING = message("org.department_sibling", N_('There is already a department "%(name)s" at this place in the tree'))
DEPT_IN_USE = message("org.department_in_use", N_('Department "%(name)s" still has %(members)s members and '
                                                  '%(children)s sub-departments; move them elsewhere first'))
BAD_KEY = message("org.bad_role_key", N_("A role key is lower-case letters, digits and _, starting with a letter "
                                         "(e.g. sales_rep)"))
KEY_TAKEN = message("org.role_key_taken", N_('A role "%(key)s" exists already'))
IMPORT_FAILED = message("org.import_failed", N_("Problems on %(count)s of %(total)s lines; nothing was saved"))
REQUIRED = message("org.required", N_("%(field)s is required"))


# --- queries the runtime needs ---------------------------------------------------------------

def department_subtree(root_ids: list[int]) -> set[int]:
    """The departments `root_ids` and every department below them."""
    rows = db.session.execute(sa.select(Department.id, Department.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for did, parent in rows:
        children.setdefault(parent, []).append(did)
    seen: set[int] = set()
    stack = list(root_ids)
    while stack:
        did = stack.pop()
        if did in seen:
            continue
        seen.add(did)
        stack.extend(children.get(did, []))
    return seen


def subordinates(user_id: int | None) -> tuple[int, ...]:
    """Everyone in the departments the user heads, down the tree (the user excluded)."""
    if user_id is None:
        return ()
    headed = db.session.execute(sa.select(Department.id).where(Department.head_id == user_id)).scalars().all()
    if not headed:
        return ()
    depts = department_subtree(list(headed))
    ids = db.session.execute(
        sa.select(User.id).where(User.department_id.in_(depts), User.id != user_id)
    ).scalars().all()
    return tuple(sorted(ids))


def existing_users(ids: list[int]) -> set[int]:
    return set(db.session.execute(sa.select(User.id).where(User.id.in_(ids))).scalars())


def existing_departments(ids: list[int]) -> set[int]:
    return set(db.session.execute(sa.select(Department.id).where(Department.id.in_(ids))).scalars())


# --- reading the organisation ----------------------------------------------------------------

@dataclass
class TreeRow:
    dept: Department
    depth: int
    path: str
    members: int  # direct members
    total: int = 0  # members here and in every department below


def department_tree() -> list[TreeRow]:
    """Every department, parents before children, siblings by name, with member counts."""
    depts = list(db.session.execute(sa.select(Department).order_by(Department.name, Department.id)).scalars())
    counts = dict(db.session.execute(
        sa.select(User.department_id, sa.func.count()).where(User.department_id.is_not(None))
        .group_by(User.department_id)).all())
    children: dict[int | None, list[Department]] = {}
    for d in depts:
        children.setdefault(d.parent_id, []).append(d)
    rows: list[TreeRow] = []

    def walk(parent_id, depth, prefix) -> int:
        """Add the rows below `parent_id`; returns how many members they have in all."""
        total = 0
        for d in children.get(parent_id, []):
            path = f"{prefix}/{d.name}" if prefix else d.name
            row = TreeRow(d, depth, path, counts.get(d.id, 0))
            rows.append(row)
            row.total = row.members + walk(d.id, depth + 1, path)
            total += row.total
        return total

    walk(None, 0, "")
    return rows


def department_paths() -> dict[int, str]:
    """Each department's path of names, like "Sales/East"."""
    return {row.dept.id: row.path for row in department_tree()}


def user_status(user: User) -> str:
    """"deactivated", "invited" (no password yet) or "active"."""
    if not user.active:
        return "deactivated"
    return "invited" if not user.password_hash else "active"


def users_query(q: str = "", department_id: int | None = None, role_id: int | None = None,
                status: str = "") -> sa.Select:
    """Users matching a search (name or email), a department (and below), a role and a status."""
    stmt = sa.select(User)
    if q.strip():
        like = f"%{q.strip()}%"
        stmt = stmt.where(sa.or_(User.name.ilike(like), User.email.ilike(like)))
    if department_id is not None:
        stmt = stmt.where(User.department_id.in_(department_subtree([department_id])))
    if role_id is not None:
        stmt = stmt.where(User.id.in_(sa.select(user_roles.c.user_id).where(user_roles.c.role_id == role_id)))
    if status == "active":
        stmt = stmt.where(User.active.is_(True), User.password_hash.is_not(None))
    elif status == "invited":
        stmt = stmt.where(User.active.is_(True), User.password_hash.is_(None))
    elif status == "deactivated":
        stmt = stmt.where(User.active.is_(False))
    return stmt


def role_counts() -> dict[int, int]:
    return dict(db.session.execute(
        sa.select(user_roles.c.role_id, sa.func.count()).group_by(user_roles.c.role_id)).all())


def app_grants(column: str) -> dict[int, int]:
    """How many apps let each role (column "role_id") or department ("department_id") in."""
    col = getattr(AppMember, column)
    return dict(db.session.execute(sa.select(col, sa.func.count()).where(col.is_not(None)).group_by(col)).all())


# --- snapshots for the audit log (never a password hash or a token) -------------------------

def user_state(u: User) -> dict:
    return {"email": u.email, "name": u.name, "department": u.department_id, "roles": sorted(u.role_keys),
            "is_admin": bool(u.is_admin), "active": bool(u.active)}


def dept_state(d: Department) -> dict:
    return {"name": d.name, "parent": d.parent_id, "head": d.head_id}


def require_admin(actor: Actor) -> None:
    if not actor.org_admin:
        raise PermissionDenied.of(NOT_ADMIN)


def _get(model, ident, message: Message):
    found = db.session.get(model, ident) if isinstance(ident, int) else None
    if found is None:
        raise NotFound.of(message, id=ident)
    return found


# --- users -----------------------------------------------------------------------------------

def clean_email(value: str) -> str:
    """The normalised, lower-case address. Raises ValidationFailed."""
    try:
        return validate_email((value or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValidationFailed.of(BAD_EMAIL,
                                  [{"field": "email", "message": "is not a valid email address"}], email=value) from None


def _check_name(value: str, key: str = "name") -> str:
    value = (value or "").strip()
    if not value or len(value) > 200:
        raise ValidationFailed.of(BAD_NAME, [{"field": key, "message": "must be 1 to 200 characters"}])
    return value


def _roles(keys) -> list[Role]:
    keys = list(dict.fromkeys(keys))
    roles = list(db.session.execute(sa.select(Role).where(Role.key.in_(keys))).scalars()) if keys else []
    unknown = [k for k in keys if k not in {r.key for r in roles}]
    if unknown:
        raise ValidationFailed.of(UNKNOWN_ROLES,
                                  [{"field": "roles", "message": f"unknown: {', '.join(unknown)}"}], keys=", ".join(unknown))
    return roles


def apply_user(actor: Actor, user: User, changes: dict) -> None:
    """Set the changed attributes of `user` after checking each one."""
    if user.id is not None and user.id == actor.user_id and (
            changes.get("is_admin") is False or changes.get("active") is False):
        raise ValidationFailed.of(LOCKOUT, [{"field": "is_admin" if "is_admin" in changes else "active",
                                          "message": "would lock you out"}])
    if "email" in changes:
        email = clean_email(changes["email"])
        with db.session.no_autoflush:
            if db.session.execute(sa.select(User.id).where(User.email == email, User.id != user.id)).first():
                raise Conflict.of(EMAIL_TAKEN, [{"field": "email", "message": "is taken"}], email=email)
        user.email = email
    if "name" in changes:
        user.name = _check_name(changes["name"])
    if changes.get("password") is not None:
        if len(changes["password"]) < MIN_PASSWORD:
            raise ValidationFailed.of(SHORT_PASSWORD, [{"field": "password", "message": "needs at least 8 characters"}])
        user.set_password(changes["password"])
        user.invite_token_hash = None  # a password set by an administrator ends the invitation
    if "department_id" in changes:
        dept = changes["department_id"]
        if dept is not None and db.session.get(Department, dept) is None:
            raise ValidationFailed.of(NO_DEPARTMENT, [{"field": "department", "message": "not found"}], id=dept)
        user.department_id = dept
    if "role_keys" in changes:
        user.roles = _roles(changes["role_keys"])
    if "is_admin" in changes:
        user.is_admin = bool(changes["is_admin"])
    if "active" in changes and bool(changes["active"]) != bool(user.active):
        user.active = bool(changes["active"])
        # Deactivating keeps everything the user owns; it only ends their access (and any invitation).
        user.deactivated_at = None if user.active else utcnow()
        if not user.active:
            user.invite_token_hash = None
            user.end_sessions()  # their signed-in browsers stop now, and stay out if reactivated


def issue_invite(user: User) -> str:
    token = secrets.token_urlsafe(32)
    user.invite_token_hash = hash_token(token)
    user.invited_at = utcnow()
    return token


def email_invite(user: User, token: str) -> bool:
    """Queue the invitation email in the current transaction; whether one was queued (email
    must be on, and the site's address known to make the link)."""
    link = mail.absolute(mail.base_url(), "invite.accept", token=token) if mail.enabled() else None
    if not link:
        return False
    jobs.enqueue("email.invite", {"user_id": user.id, "token": token, "link": link}, queue=mail.QUEUE,
                 dedupe_key=_invite_job_key(token), max_attempts=mail.MAX_ATTEMPTS)
    return True


def _invite_job_key(token: str) -> str:
    return f"email:invite:{hash_token(token)}"


@jobs.handler("email.invite")
def send_invite(payload: dict) -> dict:
    """Email an invitation link while it is still the user's current one. Raises
    mail.MailError (retried) or mail.Undeliverable (fails the job)."""
    token = payload.get("token") or ""
    user = db.session.get(User, payload["user_id"])
    result = {"status": "sent"}
    if user is None or not user.active or user.invite_token_hash != hash_token(token):
        result = {"status": "skipped", "reason": "the link was used or replaced"}
    else:
        locale = mail.locale_of(user)
        with force_locale(locale):
            subject = gettext("Your invitation to Formloom")
        text, html = mail.render("invite", locale, user=user, link=payload["link"],
                                 expires=user.invited_at + timedelta(days=INVITE_DAYS))
        msg = mail.message(user, subject, text, html)
        db.session.rollback()  # no transaction held open across the network call
        mail.send(msg)
    # The link is a password-setting credential: it does not stay in the jobs table once done.
    with write_transaction():
        db.session.execute(sa.update(Job).where(Job.dedupe_key == _invite_job_key(token))
                           .values(payload={"user_id": payload["user_id"]}))
    return result


def create_user(actor: Actor, changes: dict) -> tuple[User, str | None]:
    """A new user, and the invitation token when no password was given (shown once).

    Raises ValidationFailed, Conflict, PermissionDenied.
    """
    require_admin(actor)
    for key in ("email", "name"):
        if not changes.get(key):
            raise ValidationFailed.of(REQUIRED, [{"field": key, "message": "is required"}], field=key)
    with write_transaction():
        user = User(email="", name="", active=True, is_admin=False)
        apply_user(actor, user, changes)
        token = issue_invite(user) if changes.get("password") is None else None
        db.session.add(user)
        db.session.flush()
        audit.record("user", actor, object_type="user", object_id=user.id, label=user.email,
                     after=user_state(user), detail="invited" if token else "created")
        if token:
            email_invite(user, token)
    return user, token


def update_user(actor: Actor, user_id: int, changes: dict, detail: str = "changed") -> User:
    """Change a user; `active: False` deactivates (nothing they own is touched). Raises as create_user."""
    require_admin(actor)
    with write_transaction():
        user = _get(User, user_id, NO_USER)
        before = user_state(user)
        apply_user(actor, user, changes)
        after = user_state(user)
        if before != after or changes.get("password") is not None:
            audit.record("user", actor, object_type="user", object_id=user.id, label=user.email,
                         before=before, after=after, detail=detail)
    return user


def set_active(actor: Actor, user_id: int, active: bool) -> User:
    """Deactivate (sign-in and API tokens stop working; records and tasks stay) or reactivate."""
    return update_user(actor, user_id, {"active": active}, detail="reactivated" if active else "deactivated")


def reinvite(actor: Actor, user_id: int) -> tuple[User, str]:
    """A new invitation link for an active user; the previous one stops working."""
    require_admin(actor)
    with write_transaction():
        user = _get(User, user_id, NO_USER)
        if not user.active:
            raise ValidationFailed.of(INVITE_INACTIVE, [{"field": "active", "message": "is deactivated"}])
        token = issue_invite(user)
        audit.record("user", actor, object_type="user", object_id=user.id, label=user.email, detail="invited again")
        email_invite(user, token)
    return user, token


class InvitationInvalid(FormloomError):
    """An invitation link that is used, unknown or expired (`reason`: "used" or "expired")."""

    status = 410
    title = "Invitation not valid"
    code = "org.invitation_invalid"

    def __init__(self, message: str, reason: str, expired_at=None):
        super().__init__(message)
        self.reason = reason
        self.expired_at = expired_at


def invited_user(token: str) -> User:
    """The user a valid invitation link belongs to. Raises InvitationInvalid."""
    user = db.session.execute(sa.select(User).where(User.invite_token_hash == hash_token(token or ""))
                              ).scalar_one_or_none()
    if user is None or not user.active:
        raise InvitationInvalid("This invitation link was used already or is not valid", reason="used")
    expires = (user.invited_at or utcnow()) + timedelta(days=INVITE_DAYS)
    if utcnow() > expires:
        raise InvitationInvalid("This invitation link has expired", reason="expired", expired_at=expires)
    return user


def accept_invite(token: str, password: str) -> User:
    """Set the invited user's password; the link is then used up. Raises InvitationInvalid, ValidationFailed."""
    with write_transaction():
        user = invited_user(token)
        if len(password or "") < MIN_PASSWORD:
            raise ValidationFailed.of(SHORT_PASSWORD, [{"field": "password", "message": "needs at least 8 characters"}])
        # Used up by a conditional UPDATE: of two people posting the link at once, one wins.
        used = db.session.execute(sa.update(User).where(User.id == user.id, User.invite_token_hash == hash_token(token))
                                  .values(invite_token_hash=None, last_login_at=utcnow()))
        if used.rowcount != 1:
            raise InvitationInvalid("This invitation link was used already or is not valid", reason="used")
        user.set_password(password)
        audit.record("user", Actor.from_user(user), object_type="user", object_id=user.id, label=user.email,
                     detail="accepted the invitation")
    return user


# --- departments -----------------------------------------------------------------------------

def _check_dept_name(name: str) -> str:
    name = _check_name(name)
    if "/" in name:
        raise ValidationFailed.of(SLASH, [{"field": "name", "message": 'must not contain "/"'}])
    return name


def _check_place(dept: Department) -> None:
    """Refuse a parent that is the department or below it, and a sibling with the same name."""
    walk = db.session.get(Department, dept.parent_id) if dept.parent_id is not None else None
    while walk is not None:
        if dept.id is not None and walk.id == dept.id:
            raise ValidationFailed.of(CYCLE, [{"field": "parent", "message": "makes a cycle"}])
        walk = walk.parent
    with db.session.no_autoflush:
        clash = db.session.execute(sa.select(Department.id).where(
            Department.parent_id.is_(None) if dept.parent_id is None else Department.parent_id == dept.parent_id,
            sa.func.lower(Department.name) == dept.name.lower(),
            Department.id != (dept.id or 0))).first()
    if clash:
        raise ValidationFailed.of(SIBLING, [{"field": "name", "message": "is taken here"}], name=dept.name)


def _apply_dept(dept: Department, changes: dict) -> None:
    if "name" in changes:
        dept.name = _check_dept_name(changes["name"])
    if "parent_id" in changes:
        parent = changes["parent_id"]
        if parent is not None and db.session.get(Department, parent) is None:
            raise ValidationFailed.of(NO_DEPARTMENT, [{"field": "parent", "message": "not found"}], id=parent)
        dept.parent_id = parent
    if "head_id" in changes:
        head = changes["head_id"]
        if head is not None and db.session.get(User, head) is None:
            raise ValidationFailed.of(NO_USER, [{"field": "head", "message": "not found"}], id=head)
        dept.head_id = head
    _check_place(dept)


def create_department(actor: Actor, changes: dict) -> Department:
    """A new department (`name`, `parent_id`, `head_id`). Raises ValidationFailed."""
    require_admin(actor)
    with write_transaction():
        dept = Department(name="")
        _apply_dept(dept, {"name": changes.get("name"), **changes})
        db.session.add(dept)
        db.session.flush()
        audit.record("department", actor, object_type="department", object_id=dept.id, label=dept.name,
                     after=dept_state(dept), detail="created")
    return dept


def update_department(actor: Actor, dept_id: int, changes: dict) -> Department:
    """Rename, move (never into its own subtree) or set the head. Raises ValidationFailed, NotFound."""
    require_admin(actor)
    with write_transaction():
        dept = _get(Department, dept_id, NO_DEPARTMENT)
        before = dept_state(dept)
        _apply_dept(dept, changes)
        if dept_state(dept) != before:
            audit.record("department", actor, object_type="department", object_id=dept.id, label=dept.name,
                         before=before, after=dept_state(dept), detail="changed")
    return dept


def delete_department(actor: Actor, dept_id: int) -> None:
    """Delete an empty department. Raises Conflict while it has members or sub-departments."""
    require_admin(actor)
    with write_transaction():
        dept = _get(Department, dept_id, NO_DEPARTMENT)
        members = db.session.execute(sa.select(sa.func.count()).where(User.department_id == dept.id)).scalar()
        children = db.session.execute(sa.select(sa.func.count()).where(Department.parent_id == dept.id)).scalar()
        if members or children:
            raise Conflict.of(DEPT_IN_USE, extra={"members": members, "children": children}, name=dept.name,
                              members=members, children=children)
        audit.record("department", actor, object_type="department", object_id=dept.id, label=dept.name,
                     before=dept_state(dept), detail="deleted")
        db.session.delete(dept)


# --- roles -----------------------------------------------------------------------------------

def create_role(actor: Actor, key: str, name: str) -> Role:
    """A new organisation-wide role; definitions name it by `key`. Raises ValidationFailed, Conflict."""
    require_admin(actor)
    key = (key or "").strip()
    if not KEY.fullmatch(key) or len(key) > 64:
        raise ValidationFailed.of(BAD_KEY, [{"field": "key", "message": "is not a valid key"}])
    name = _check_name(name)
    with write_transaction():
        if db.session.execute(sa.select(Role.id).where(Role.key == key)).first():
            raise Conflict.of(KEY_TAKEN, [{"field": "key", "message": "is taken"}], key=key)
        role = Role(key=key, name=name)
        db.session.add(role)
        db.session.flush()
        audit.record("role", actor, object_type="role", object_id=role.id, label=key,
                     after={"key": key, "name": name}, detail="created")
    return role


def rename_role(actor: Actor, role_id: int, name: str) -> Role:
    """Change a role's name (its key stays: definitions refer to it)."""
    require_admin(actor)
    name = _check_name(name)
    with write_transaction():
        role = _get(Role, role_id, NO_ROLE)
        if role.name != name:
            audit.record("role", actor, object_type="role", object_id=role.id, label=role.key,
                         before={"name": role.name}, after={"name": name}, detail="renamed")
            role.name = name
    return role


def set_role_members(actor: Actor, role_id: int, add: list[int] = (), remove: list[int] = ()) -> Role:
    """Give the role to users `add` and take it from users `remove`. Raises ValidationFailed."""
    require_admin(actor)
    with write_transaction():
        role = _get(Role, role_id, NO_ROLE)
        users = {u.id: u for u in db.session.execute(sa.select(User).where(User.id.in_([*add, *remove]))).scalars()}
        missing = [i for i in [*add, *remove] if i not in users]
        if missing:
            raise ValidationFailed.of(NO_USER, [{"field": "users", "message": "not found"}], id=missing[0])
        added = [users[i].email for i in add if role not in users[i].roles]
        removed = [users[i].email for i in remove if role in users[i].roles]
        for i in add:
            if role not in users[i].roles:
                users[i].roles.append(role)
        for i in remove:
            if role in users[i].roles:
                users[i].roles.remove(role)
        if added or removed:
            audit.record("role", actor, object_type="role", object_id=role.id, label=role.key,
                         after={"added": added, "removed": removed}, detail="members changed")
    return role


def delete_role(actor: Actor, role_id: int) -> int:
    """Delete a role: the users who had it lose it, and so do app grants to it. Returns the user count."""
    require_admin(actor)
    with write_transaction():
        role = _get(Role, role_id, NO_ROLE)
        holders = list(db.session.execute(sa.select(User.email).join(user_roles, user_roles.c.user_id == User.id)
                                          .where(user_roles.c.role_id == role.id)).scalars())
        db.session.execute(user_roles.delete().where(user_roles.c.role_id == role.id))
        audit.record("role", actor, object_type="role", object_id=role.id, label=role.key,
                     before={"key": role.key, "name": role.name, "users": sorted(holders)}, detail="deleted")
        db.session.delete(role)
    db.session.expire_all()  # users loaded earlier still list the role
    return len(holders)
