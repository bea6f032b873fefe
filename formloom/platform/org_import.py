"""Importing users and departments from CSV: every line planned and checked first, every
problem reported with its line number, then all applied or nothing (or only previewed)."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import sqlalchemy as sa

from formloom.platform import audit
from formloom.platform.actor import Actor
from formloom.platform.exceptions import ValidationFailed
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import Department, Role, User
from formloom.platform.org import (
    IMPORT_FAILED,
    apply_user,
    clean_email,
    department_paths,
    email_invite,
    issue_invite,
    require_admin,
)

MAX_IMPORT_ROWS = 5000
USER_COLUMNS = (("email", "name"), ("department", "roles", "admin"))
DEPT_COLUMNS = (("name",), ("parent", "head"))
TRUE, FALSE = {"true", "yes", "y", "1", "是"}, {"false", "no", "n", "0", "否"}


@dataclass
class Planned:
    """One line of an import: what it will do ("create", "update" or "unchanged")."""

    line: int
    key: str  # the user's email or the department's path
    action: str
    values: dict = field(default_factory=dict)


@dataclass
class ImportResult:
    rows: list[Planned]
    applied: bool
    invites: list[tuple[str, str]] = field(default_factory=list)  # (email, token), new users only

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)


def read_csv(data: bytes | str, columns: tuple[tuple[str, ...], tuple[str, ...]]) -> list[tuple[int, dict]]:
    """(line number, {column: text}) for each non-blank row. Raises ValidationFailed for the file."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            _file_error(f"is not UTF-8 text (byte {exc.start + 1}); save it as \"CSV UTF-8\" and try again")
    if "\x00" in data:  # PostgreSQL cannot store it; the line says where
        _file_error(f"has a NUL character on line {data.count(chr(10), 0, data.index(chr(0))) + 1}; "
                    "save it as \"CSV UTF-8\" and try again")
    reader = csv.reader(io.StringIO(data.removeprefix("\ufeff"), newline=""))
    header = [h.strip().lower() for h in next(reader, [])]
    required, optional = columns
    if not any(header):
        _file_error("is empty: the first line must name the columns")
    # A column without a name (a stray comma at the end of the header) is left out.
    missing = [c for c in required if c not in header]
    unknown = [h for h in header if h and h not in (*required, *optional)]
    repeated = sorted({h for h in header if h and header.count(h) > 1})
    for problem, names in (("misses the columns", missing), ("has unknown columns", unknown),
                           ("repeats the columns", repeated)):
        if names:
            _file_error(f"{problem} {', '.join(names)}; the columns are {', '.join((*required, *optional))}", line=1)
    rows, last = [], reader.line_num
    for cells in reader:
        start, last = last + 1, reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            _file_error(f"has {len(cells)} cells but the header names {len(header)} columns", line=start)
        rows.append((start, {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header) if h}))
        if len(rows) > MAX_IMPORT_ROWS:
            _file_error(f"has more than {MAX_IMPORT_ROWS} rows; split it into several files")
    return rows


def _file_error(message: str, line: int | None = None):
    raise ValidationFailed(f"The file {message}", [{"line": line, "field": "file", "message": message}])


def _user_emails() -> dict[str, User]:
    return {u.email.lower(): u for u in db.session.execute(sa.select(User)).scalars()}


def _path_index() -> tuple[dict[str, int], set[str]]:
    """Department ids by lower-case path, and the paths several departments share."""
    index: dict[str, int] = {}
    twice: set[str] = set()
    for did, path in department_paths().items():
        if path.lower() in index:
            twice.add(path.lower())
        index.setdefault(path.lower(), did)
    return index, twice


def _path(text: str) -> str:
    return "/".join(part.strip() for part in text.strip().strip("/").split("/") if part.strip())


def _find_dept(path: str, index: dict[str, int], twice: set[str], what: str) -> tuple[int | None, str | None]:
    """(department id, None) or (None, the error message)."""
    key = _path(path).lower()
    if key in twice:
        return None, f'is ambiguous: several departments are at "{_path(path)}"'
    if key not in index:
        return None, f'names an unknown {what} "{_path(path)}"'
    return index[key], None


def _flag(text: str) -> bool | None:
    low = text.lower()
    return True if low in TRUE else False if low in FALSE else None


def _plan_user(actor: Actor, line: int, row: dict, ctx: dict, errors: list[dict]) -> Planned | None:
    def bad(col, message):
        errors.append({"line": line, "field": col, "message": message})

    try:
        email = clean_email(row["email"]) if row["email"] else None
    except ValidationFailed:
        email = None
        bad("email", "is not a valid email address")
    else:
        if email is None:
            bad("email", "is required")
    if not row["name"] or len(row["name"]) > 200:
        bad("name", "is required" if not row["name"] else "is longer than 200 characters")
    values = {"email": email, "name": row["name"]}
    if row.get("department"):
        values["department_id"], problem = _find_dept(row["department"], *ctx["paths"], "department")
        if problem:
            bad("department", problem)
    if row.get("roles"):
        keys = [k.strip() for k in row["roles"].split(";") if k.strip()]
        unknown = [k for k in keys if k not in ctx["roles"]]
        if unknown:
            bad("roles", f"names unknown roles: {', '.join(unknown)}")
        values["role_keys"] = keys
    if row.get("admin"):
        values["is_admin"] = _flag(row["admin"])
        if values["is_admin"] is None:
            bad("admin", "must be true or false")
    if email is None:
        return None
    if email in ctx["seen"]:
        bad("email", f"repeats line {ctx['seen'][email]}")
        return None
    ctx["seen"][email] = line
    user = ctx["users"].get(email)
    if user is not None and user.id == actor.user_id and values.get("is_admin") is False:
        bad("admin", "would remove your own administrator rights")
    if user is None:
        return Planned(line, email, "create", values)
    same = (user.name == values["name"] and user.department_id == values.get("department_id", user.department_id)
            and sorted(user.role_keys) == sorted(values.get("role_keys", user.role_keys))
            and user.is_admin == values.get("is_admin", user.is_admin))
    return Planned(line, email, "unchanged" if same else "update", values)


def _check_plan(errors: list[dict], total: int) -> None:
    if errors:
        lines = {e["line"] for e in errors}
        raise ValidationFailed.of(IMPORT_FAILED,
                                  sorted(errors, key=lambda e: e["line"] or 0), count=len(lines), total=total)


def _audit_import(actor: Actor, kind: str, plan: list[Planned]) -> None:
    """One audit line per import: which users (emails) or departments (paths) it added or changed."""
    done = {action: [p.key for p in plan if p.action == action] for action in ("create", "update")}
    audit.record("import", actor, object_type=kind, label=f"{kind}s.csv", after=done,
                 detail=f"{len(done['create'])} created, {len(done['update'])} updated")


def import_users(actor: Actor, data: bytes | str, dry_run: bool = False) -> ImportResult:
    """Create or update users from CSV (email, name, department, roles, admin), all or nothing.

    An empty cell leaves an existing user's value alone. New users get invitations.
    Raises ValidationFailed listing every bad line (nothing saved).
    """
    require_admin(actor)
    rows = read_csv(data, USER_COLUMNS)
    with write_transaction():
        ctx = {"users": _user_emails(), "paths": _path_index(), "seen": {},
               "roles": set(db.session.execute(sa.select(Role.key)).scalars())}
        errors: list[dict] = []
        plan = [p for line, row in rows if (p := _plan_user(actor, line, row, ctx, errors))]
        _check_plan(errors, len(rows))
        if dry_run:
            return ImportResult(plan, applied=False)
        invites = []
        for p in plan:
            if p.action == "create":
                user = User(email="", name="", active=True, is_admin=False)
                apply_user(actor, user, p.values)
                token = issue_invite(user)
                invites.append((user.email, token))
                db.session.add(user)
                db.session.flush()  # the email job names the user by id
                email_invite(user, token)
            elif p.action == "update":
                apply_user(actor, ctx["users"][p.key], p.values)
        _audit_import(actor, "user", plan)
    return ImportResult(plan, applied=True, invites=invites)


def _plan_dept(line: int, row: dict, ctx: dict, errors: list[dict]) -> Planned | None:
    def bad(col, message):
        errors.append({"line": line, "field": col, "message": message})

    name = row["name"]
    if not name or len(name) > 200 or "/" in name:
        bad("name", "is required" if not name else 'must not contain "/"' if "/" in name
            else "is longer than 200 characters")
        return None
    parent = _path(row.get("parent", ""))
    index, twice = ctx["paths"]
    if parent and parent.lower() not in ctx["planned"]:
        _pid, problem = _find_dept(parent, index, twice, "parent department")
        if problem:
            bad("parent", problem)
    values = {"name": name, "parent": parent}
    if row.get("head"):
        head = ctx["users"].get(row["head"].lower())
        if head is None:
            bad("head", f"there is no user with email {row['head']}")
        values["head_id"] = head.id if head else None
    path = f"{parent}/{name}" if parent else name
    key = path.lower()
    if key in ctx["planned"]:
        bad("name", f"repeats line {ctx['planned'][key]}")
        return None
    ctx["planned"][key] = line
    if key in twice:
        bad("name", f'is ambiguous: several departments are at "{path}"')
    existing = index.get(key)
    if existing is None:
        return Planned(line, path, "create", values)
    values["id"] = existing
    same = "head_id" not in values or db.session.get(Department, existing).head_id == values["head_id"]
    return Planned(line, path, "unchanged" if same else "update", values)


def import_departments(actor: Actor, data: bytes | str, dry_run: bool = False) -> ImportResult:
    """Create departments (name, parent path, head email) or set the head of existing ones.

    A parent is an existing department or one on an earlier line. All or nothing; raises
    ValidationFailed listing every bad line.
    """
    require_admin(actor)
    rows = read_csv(data, DEPT_COLUMNS)
    with write_transaction():
        ctx = {"users": _user_emails(), "paths": _path_index(), "planned": {}}
        errors: list[dict] = []
        plan = [p for line, row in rows if (p := _plan_dept(line, row, ctx, errors))]
        _check_plan(errors, len(rows))
        if dry_run:
            return ImportResult(plan, applied=False)
        ids = dict(ctx["paths"][0])
        for p in plan:
            if p.action == "create":
                dept = Department(name=p.values["name"], head_id=p.values.get("head_id"),
                                  parent_id=ids[p.values["parent"].lower()] if p.values["parent"] else None)
                db.session.add(dept)
                db.session.flush()
                ids[p.key.lower()] = dept.id
            elif p.action == "update":
                db.session.get(Department, p.values["id"]).head_id = p.values["head_id"]
        _audit_import(actor, "department", plan)
    return ImportResult(plan, applied=True)
