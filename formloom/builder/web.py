"""App administration pages: who may use an app ("App members") and what its published
grants allow ("Permissions"). For the app's administrators; the work is done in `apps.py`."""
from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa
from babel.lists import format_list
from flask import Blueprint, Flask, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import BooleanField, SelectField

from formloom.builder import apps
from formloom.platform.exceptions import (
    Conflict,
    FormloomError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from formloom.platform.extensions import db
from formloom.platform.models import Department, Role, User
from formloom.runtime import access
from formloom.runtime.grants import ACTIONS, EVERYTHING, PRESETS
from formloom.runtime.web.common import Page, load
from formloom.runtime.web.fields.base import choices

bp = Blueprint("builder", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/builder")

KIND_ICONS = {"user": "person", "department": "diagram-3", "role": "person-badge", "members": "people"}
KIND_NAMES = {"user": _l("User"), "department": _l("Department"), "role": _l("Role")}
PRESET_NAMES = {"submit_only": _l("Submit only"), "manage_own": _l("Manage own"), "view_all": _l("View all"),
                "add_view_all": _l("Add and view all"), "manage_all": _l("Manage all")}
ACTION_NAMES = {"view": _l("view"), "add": _l("add"), "edit": _l("edit"), "delete": _l("delete"),
                "import": _l("import"), "export": _l("export"), "print": _l("print"), "bulk_edit": _l("bulk edit"),
                "reassign": _l("give records to someone else")}
ROW_NAMES = {"all": _l("all records"), "own": _l("their own records"),
             "department": _l("records of people in their department"),
             "team": _l("their own and their subordinates' records")}
# What the members service reports, as a reader of either language should see it.
GONE = {"user": _l("This user no longer exists; choose another."),
        "department": _l("This department no longer exists; choose another."),
        "role": _l("This role no longer exists; choose another.")}
LAST_ADMIN = _l("The app must keep at least one administrator: make someone else an administrator first.")
MEMBER_GONE = _l("This member is no longer on the list: someone removed it meanwhile. The list below is up to date.")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def admin_page(app_key: str, denied=None, write: bool = False) -> Page:
    """The page context for an app admin (who may change things, with `write`). Raises
    NotFound (not in the app) or PermissionDenied, saying `denied` to anyone else."""
    page = load(app_key)
    if not page.is_admin:
        raise PermissionDenied(str(denied or _("Only the app's administrators can manage its members and see its "
                                               "permissions.")))
    if write and page.actor.read_only:
        raise PermissionDenied(_("This API token is read-only"))
    return page


def message_of(exc: FormloomError) -> str:
    """A members-service error in the reader's language (its English text when unknown)."""
    if isinstance(exc, Conflict):
        return str(LAST_ADMIN)
    if isinstance(exc, NotFound):
        return str(MEMBER_GONE)
    field_name = exc.errors[0].get("field") if exc.errors else None
    return str(GONE[field_name]) if field_name in GONE else exc.localized()


# --- who is a member ----------------------------------------------------------------------

@dataclass
class Member:
    """One row of the members table."""

    id: int
    kind: str  # user | department | role
    principal: dict  # the keywords add_member takes to name this member again
    name: str
    detail: str = ""  # email, department path, role key
    admin: bool = False
    include_children: bool = False
    inactive: bool = False

    @property
    def icon(self) -> str:
        return KIND_ICONS[self.kind]

    @property
    def kind_name(self) -> str:
        return str(KIND_NAMES[self.kind])


def department_tree() -> list[tuple[Department, int, str]]:
    """(department, depth, path) for every department, parents first, siblings by name."""
    children: dict[int | None, list[Department]] = {}
    for d in db.session.execute(sa.select(Department).order_by(Department.name, Department.id)).scalars():
        children.setdefault(d.parent_id, []).append(d)
    out: list[tuple[Department, int, str]] = []

    def walk(parent_id, depth, prefix):
        for d in children.get(parent_id, []):
            path = f"{prefix} / {d.name}" if prefix else d.name
            out.append((d, depth, path))
            walk(d.id, depth + 1, path)

    walk(None, 0, "")
    return out


def member_rows(page: Page) -> list[Member]:
    """The app's member rows with the names people know them by."""
    items = apps.list_members(page.actor, page.runtime.key)
    users = {u.id: u for u in db.session.execute(
        sa.select(User).where(User.id.in_([m["user"] for m in items if "user" in m]))).scalars()}
    paths = {d.id: (d.name, path) for d, _depth, path in department_tree()}
    roles = {r.key: r.name for r in db.session.execute(sa.select(Role)).scalars()}
    rows = []
    for m in items:
        if "user" in m:
            user = users[m["user"]]
            rows.append(Member(m["id"], "user", {"user_id": user.id}, user.name, user.email, m["admin"],
                               inactive=not user.active))
        elif "department" in m:
            name, path = paths[m["department"]]
            rows.append(Member(m["id"], "department", {"department_id": m["department"]}, name,
                               path if path != name else "", m["admin"], include_children=m["include_children"]))
        else:
            rows.append(Member(m["id"], "role", {"role_key": m["role"]}, roles[m["role"]], m["role"], m["admin"]))
    return rows


class MemberForm(FlaskForm):
    kind = SelectField(_l("Type"), choices=choices([("user", _l("A user")), ("department", _l("A department")),
                                                    ("role", _l("A role"))]))
    user = SelectField(_l("User"), validate_choice=False)
    department = SelectField(_l("Department"), validate_choice=False)
    role = SelectField(_l("Role"), validate_choice=False)
    include_children = BooleanField(_l("Include sub-departments"), default=True)
    admin = BooleanField(_l("Administrator"), description=_l(
        "Administrators change the app's members and see its permissions; permissions do not limit what they see."))


def fill_choices(form: MemberForm) -> None:
    users = db.session.execute(sa.select(User).where(User.active.is_(True)).order_by(User.name, User.id)).scalars()
    form.user.choices = choices([("", _("Choose a user…"))] + [(str(u.id), f"{u.name} ({u.email})") for u in users])
    # A closed <select> loses the tree: indent each department by its depth.
    form.department.choices = choices([("", _("Choose a department…"))] + [
        (str(d.id), "\u00a0\u00a0\u00a0\u00a0" * depth + d.name) for d, depth, _path in department_tree()])
    roles = db.session.execute(sa.select(Role).order_by(Role.name, Role.key)).scalars()
    form.role.choices = choices([("", _("Choose a role…"))] + [(r.key, f"{r.name} ({r.key})") for r in roles])


def chosen(form: MemberForm) -> dict | None:
    """add_member's keywords for the chosen user, department or role; None after an error."""
    kind = form.kind.data
    value = (getattr(form, kind).data or "").strip()
    if kind == "role" and value:
        return {"role_key": value}
    if kind != "role" and value.isdigit():
        return {f"{kind}_id": int(value)}
    getattr(form, kind).errors = [{"user": _("Choose a user."), "department": _("Choose a department."),
                                   "role": _("Choose a role.")}[kind]]
    return None


def render_members(page: Page, form: MemberForm | None = None, error: str | None = None, status: int = 200):
    form = form or MemberForm(formdata=None)
    fill_choices(form)
    rows = member_rows(page)
    return render_template("builder/members.html", page=page, form=form, rows=rows, error=error,
                           admins=sum(1 for r in rows if r.admin)), status


def after_change(page: Page, message: str):
    """Back to the members page, or away from it when the change took the actor's admin rights."""
    flash(message, "success")
    role = access.app_role(page.actor, page.runtime.app_id)
    if role == "admin":
        return redirect(url_for("builder.members", app_key=page.runtime.key))
    flash(_("You are no longer an administrator of this app."), "info")
    return redirect(url_for("web.app_home", app_key=page.runtime.key) if role else url_for("web.index"))


def find(page: Page, member_id: int) -> Member:
    for row in member_rows(page):
        if row.id == member_id:
            return row
    raise NotFound(f"No member {member_id} in this app")


@bp.get("/a/<app_key>/members")
@login_required
def members(app_key):
    """The app's members: users, departments and roles, each maybe an administrator."""
    return render_members(admin_page(app_key))


@bp.post("/a/<app_key>/members")
@login_required
def member_add(app_key):
    page = admin_page(app_key)
    form = MemberForm()
    principal = chosen(form) if form.validate() else None
    if principal is None:
        return render_members(page, form, status=422)
    include = bool(form.include_children.data) if form.kind.data == "department" else True
    try:
        result = apps.add_member(page.actor, app_key, is_admin=bool(form.admin.data), include_children=include,
                                 **principal)
    except (ValidationFailed, Conflict) as exc:
        target = getattr(form, form.kind.data) if isinstance(exc, ValidationFailed) else None
        if target is not None:
            target.errors = [message_of(exc)]
        else:
            form.form_errors.append(message_of(exc))
        return render_members(page, form, status=exc.status)
    name = find(page, result["id"]).name
    if result["created"]:
        return after_change(page, _("%(name)s was added to the app's members.", name=name))
    return after_change(page, _("%(name)s was a member already; your choices now apply.", name=name))


@bp.post("/a/<app_key>/members/<int:member_id>/admin")
@login_required
def member_admin(app_key, member_id):
    """Make a member an administrator, or a member like the others."""
    page = admin_page(app_key)
    try:
        row = find(page, member_id)
        apps.add_member(page.actor, app_key, is_admin=not row.admin,
                        include_children=row.include_children if row.kind == "department" else True, **row.principal)
    except (Conflict, NotFound, ValidationFailed) as exc:
        return render_members(page, error=message_of(exc), status=exc.status)
    if row.admin:
        return after_change(page, _("%(name)s is no longer an administrator of the app.", name=row.name))
    return after_change(page, _("%(name)s is now an administrator of the app.", name=row.name))


@bp.post("/a/<app_key>/members/<int:member_id>/remove")
@login_required
def member_remove(app_key, member_id):
    page = admin_page(app_key)
    try:
        row = find(page, member_id)
        apps.remove_member(page.actor, app_key, member_id)
    except (Conflict, NotFound) as exc:
        return render_members(page, error=message_of(exc), status=exc.status)
    return after_change(page, _("%(name)s was removed from the app's members.", name=row.name))


# --- what the grants allow ----------------------------------------------------------------

@dataclass
class GrantLine:
    """One grant of the published definition, in words."""

    icon: str
    who: str
    who_detail: str  # "Role · sales_rep", "and sub-departments", ...
    what: Markup  # "<strong>Manage own</strong>: view, add and edit"
    rows: str
    rows_json: str = ""  # a custom row condition, as JSON on one line
    hidden: str = ""  # field labels, as a list in words
    computed: str = ""  # the fields hidden with them, computed from them ("Deal · Product cost" elsewhere)
    readonly: str = ""
    name: str = ""
    missing: bool = False  # names a user, department or role that is gone


@dataclass
class FormGrants:
    name: str
    lines: list[GrantLine]
    default: bool  # no grant names the form: the members' default applies


def who(to: dict, names: dict) -> tuple[str, str, str, bool]:
    """(icon, name, detail, missing) for a grant's `to`."""
    if "role" in to:
        name = names["role"].get(to["role"])
        return KIND_ICONS["role"], name or to["role"], f'{_("Role")} · {to["role"]}', name is None
    if "user" in to:
        name = names["user"].get(to["user"])
        return KIND_ICONS["user"], name or f'#{to["user"]}', _("User"), name is None
    if "department" in to:
        name = names["department"].get(to["department"])
        detail = _("Department and sub-departments") if to.get("include_children", True) else _("Department")
        return KIND_ICONS["department"], name or f'#{to["department"]}', detail, name is None
    return KIND_ICONS["members"], _("All app members"), _("Everyone on the App members page"), False


def in_words(items: list[str]) -> str:
    """A list as the reader's language writes one ("a, b, and c"; "甲、乙和丙")."""
    return format_list(items, locale=get_locale() or "en") if items else ""


def summary(what: str, actions: str = "") -> Markup:
    """The preset's name in bold, then the actions, with the reader's punctuation."""
    bold = Markup("<strong>%s</strong>") % what
    if not actions:
        return bold
    return Markup(escape(_("%(what)s: %(actions)s"))) % {"what": bold, "actions": actions}


def describe(grant, raw: dict | None, form, names: dict, locale: str) -> GrantLine:
    """A compiled grant (and the entry it came from) in words."""
    icon, name, detail, missing = who(grant.to, names)
    if raw is None:  # the default for members of a form no grant names
        rows = "own" if form.members == "own" else "all"
        return GrantLine(icon, name, _("No permission names this form"), summary(_("Everything")),
                         str(ROW_NAMES[rows]))
    preset = raw.get("preset")
    what = str(PRESET_NAMES[preset]) if preset else _("Chosen actions")
    if preset and "actions" in raw:
        what = _("%(preset)s, with chosen actions", preset=what)
    done = [a for a in ACTIONS if a in grant.actions]
    if set(EVERYTHING) <= grant.actions:  # "everything" leaves out reassigning, which is said apart
        actions = in_words([_("everything")] + [str(ACTION_NAMES[a]) for a in done if a not in EVERYTHING])
    else:
        actions = in_words([str(ACTION_NAMES[a]) for a in done])
    rows = raw["rows"] if "rows" in raw else (PRESETS[preset][1] if preset else "all")
    if not grant.actions - {"add", "import"}:
        rows = None  # they only add: no rows to see or change
    elif rows is None:
        rows = "all"
    line = GrantLine(icon, name, detail, summary(what, actions or _("nothing")), "", name=raw.get("name", ""),
                     missing=missing, hidden=in_words([form.label(k, locale) for k in form.fields if k in grant.named_hidden]),
                     readonly=in_words([form.label(k, locale) for k in form.fields if k in grant.readonly]))
    if rows is None:
        line.rows = _("none: they add records without seeing any")
    elif isinstance(rows, str):
        line.rows = str(ROW_NAMES[rows])
    else:
        line.rows = _("records matching")
        line.rows_json = json.dumps(rows, ensure_ascii=False)  # one line; its spaces let it wrap
    return line


def computed_hidden(grant, definition, locale: str) -> str:
    """The fields a grant hides with its hidden ones, being computed from them: in its form,
    and in other forms ("Deal · Product cost"), in words."""
    by_form = definition.dependencies.computed_from(grant.form, grant.named_hidden)
    labels = []
    for form in definition.forms.values():
        prefix = "" if form.key == grant.form else _("%(form)s · ", form=form.display_name(locale))
        labels += [prefix + form.label(k, locale) for k in form.fields if k in by_form.get(form.key, ())]
    return in_words(labels)


def principal_names(grants) -> dict:
    """Names of the roles (by key), users and departments (by id) the grants give access to."""
    tos = [g.to for lines in grants for g in lines]
    users = [t["user"] for t in tos if "user" in t]
    depts = [t["department"] for t in tos if "department" in t]
    return {"role": dict(db.session.execute(sa.select(Role.key, Role.name)).all()),
            "user": dict(db.session.execute(sa.select(User.id, User.name).where(User.id.in_(users))).all()),
            "department": dict(db.session.execute(
                sa.select(Department.id, Department.name).where(Department.id.in_(depts))).all())}


@bp.get("/a/<app_key>/permissions")
@login_required
def permissions(app_key):
    """What each form's grants allow, read from the published definition."""
    page = admin_page(app_key)
    definition = page.runtime.definition
    raws = page.runtime.raw.get("permissions") or []
    names = principal_names(definition.grants.values())
    sections = []
    for form in definition.forms.values():
        grants = definition.grants.get(form.key, [])
        lines = [describe(g, raws[g.index] if g.index >= 0 else None, form, names, page.locale) for g in grants]
        for g, line in zip(grants, lines, strict=True):
            line.computed = computed_hidden(g, definition, page.locale)
        sections.append(FormGrants(form.display_name(page.locale), lines, all(g.index < 0 for g in grants)))
    return render_template("builder/permissions.html", page=page, sections=sections)
