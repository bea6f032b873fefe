"""Organisation pages for administrators (users, departments, roles, CSV imports) and the
invitation page where a new user sets a password. The work is done in `org.py`."""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Regexp

from formloom.platform import hooks, mail, org, org_import
from formloom.platform.auth import current_actor
from formloom.platform.exceptions import FormloomError, PermissionDenied
from formloom.platform.extensions import db
from formloom.platform.i18n import url_for_safe
from formloom.platform.inputs import as_id
from formloom.platform.models import Department, Role, User
from formloom.platform.ratelimit import guard_secret

bp = Blueprint("org", __name__, url_prefix="/org")
invite_bp = Blueprint("invite", __name__)
PER_PAGE = 25
MAX_UPLOAD = 2 * 1024 * 1024

# Row messages of a CSV import (org._plan_user / _plan_dept / read_csv).
ROW_MESSAGES = {
    "is required": _l("is required"),
    "is not a valid email address": _l("is not a valid email address"),
    "is longer than 200 characters": _l("is longer than 200 characters"),
    "must be true or false": _l("must be true or false"),
    'must not contain "/"': _l('must not contain "/"'),
    "would remove your own administrator rights": _l("would remove your own administrator rights"),
    "repeats line %(line)s": _l("repeats line %(line)s"),
    "names unknown roles: %(keys)s": _l("names unknown roles: %(keys)s"),
    'names an unknown department "%(path)s"': _l('names an unknown department "%(path)s"'),
    'names an unknown parent department "%(path)s"': _l('names an unknown parent department "%(path)s"'),
    'is ambiguous: several departments are at "%(path)s"': _l('is ambiguous: several departments are at "%(path)s"'),
    "there is no user with email %(email)s": _l("there is no user with email %(email)s"),
    'is not UTF-8 text (byte %(n)s); save it as "CSV UTF-8" and try again':
        _l('is not UTF-8 text (byte %(n)s); save it as "CSV UTF-8" and try again'),
    "is empty: the first line must name the columns": _l("is empty: the first line must name the columns"),
    "misses the columns %(names)s; the columns are %(all)s": _l("misses the columns %(names)s; the columns are %(all)s"),
    "has unknown columns %(names)s; the columns are %(all)s":
        _l("has unknown columns %(names)s; the columns are %(all)s"),
    "repeats the columns %(names)s; the columns are %(all)s": _l("repeats the columns %(names)s; the columns are %(all)s"),
    "has %(n)s cells but the header names %(m)s columns": _l("has %(n)s cells but the header names %(m)s columns"),
    "has more than %(n)s rows; split it into several files": _l("has more than %(n)s rows; split it into several files"),
}


def _patterns(table: dict) -> list:
    """(regex, translation) for each message; %(name)s matches any text."""
    out = []
    for english, text in table.items():
        parts = re.split(r"%\((\w+)\)s", english)
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
        out.append((re.compile(regex, re.S), text))
    return out


_ROW_PATTERNS = _patterns(ROW_MESSAGES)


def translate(message: str, rows: bool = True) -> str:
    """A CSV import's row message in the reader's language (as written when we do not know it).
    Errors themselves are shown with `exc.localized()` (by code, platform/messages.py)."""
    for regex, text in _ROW_PATTERNS:
        m = regex.fullmatch(message)
        if m:
            return str(text) % m.groupdict()
    return message


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(invite_bp)
    app.jinja_env.filters.setdefault("org_message", translate)


@bp.before_request
def admins_only():
    actor = current_actor()
    if actor is None:
        return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))
    if not actor.org_admin:
        raise PermissionDenied(_("Only organisation administrators can see this page. "
                                 "Ask one if you need a change to users, departments or roles."))


# --- forms -----------------------------------------------------------------------------------

class UserForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    department = SelectField(_l("Department"), validate_choice=False)
    roles = SelectMultipleField(_l("Roles"), validate_choice=False)
    is_admin = BooleanField(_l("Organisation administrator"),
                            description=_l("Manages users, departments, roles and every app."))


class DepartmentForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    parent = SelectField(_l("Parent department"), validate_choice=False)
    head = SelectField(_l("Head (manager)"), validate_choice=False,
                       description=_l("Sees the records of everyone in this department and below, where a "
                                      "permission says so."))


class RoleForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    key = StringField(_l("Key"), validators=[DataRequired(), Length(max=64), Regexp(
        r"^[a-z][a-z0-9_]*$", message=_l("Use lower-case letters, digits and _, starting with a letter."))],
        description=_l("How app definitions name this role, e.g. sales_rep. It cannot change later."))


class PickUserForm(FlaskForm):
    user = SelectField(_l("User"), validators=[DataRequired()], validate_choice=False)


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"))


class InviteForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=org.MIN_PASSWORD, max=500)])
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))])


# --- shared helpers --------------------------------------------------------------------------

FIELD_OF = {"department": "department", "roles": "roles", "is_admin": "is_admin", "active": "is_admin",
            "parent": "parent", "head": "head", "key": "key", "name": "name", "email": "email", "users": "user",
            "to": "user", "password": "password"}


def _show_error(form: FlaskForm, exc: FormloomError) -> None:
    """Put a service error under its field (or above the form when it has none)."""
    message = exc.localized()
    for error in exc.errors[:1]:
        name = FIELD_OF.get(error.get("field"))
        if name and name in form:
            form[name].errors = [*form[name].errors, message]
            return
    form.form_errors.append(message)


def _tree_choices(empty: str, exclude: set[int] = frozenset()) -> list[tuple[str, str]]:
    """Departments in tree order, each by its path: a closed select still says which "East"."""
    return [("", empty)] + [(str(r.dept.id), r.path.replace("/", " / "))
                            for r in org.department_tree() if r.dept.id not in exclude]


def _user_choices(empty: str | None = None, exclude: set[int] = frozenset()) -> list[tuple[str, str]]:
    users = db.session.execute(sa.select(User).where(User.active.is_(True)).order_by(User.name)).scalars()
    choices = [(str(u.id), f"{u.name} ({u.email})") for u in users if u.id not in exclude]
    return ([("", empty)] if empty is not None else []) + choices


def _role_choices() -> list[tuple[str, str]]:
    return [(r.key, f"{r.name} ({r.key})") for r in db.session.execute(sa.select(Role).order_by(Role.name)).scalars()]


def _int(value) -> int | None:
    return as_id(value) if value else None


def _get(model, ident):
    found = db.session.get(model, ident)
    if found is None:
        abort(404)
    return found


# --- users -----------------------------------------------------------------------------------

@bp.get("/")
def index():
    return redirect(url_for("org.users"))


@bp.get("/users")
def users():
    """Everyone, with search, filters and pages."""
    args = {"q": request.args.get("q", "").strip(), "department": _int(request.args.get("department")),
            "role": _int(request.args.get("role")), "status": request.args.get("status", "")}
    page = max(_int(request.args.get("page")) or 1, 1)
    stmt = org.users_query(args["q"], args["department"], args["role"], args["status"])
    total = db.session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar()
    rows = list(db.session.execute(stmt.order_by(User.name, User.id).offset((page - 1) * PER_PAGE)
                                   .limit(PER_PAGE)).scalars())

    def page_url(n):
        return url_for("org.users", page=n, **{k: v for k, v in args.items() if v})

    if not rows and page > 1:  # past the last page (people were deactivated, filters changed)
        return redirect(page_url(1))
    return render_template(
        "org/users.html", rows=rows, total=total, args=args, filtered=any(args.values()),
        first=(page - 1) * PER_PAGE + 1, paths=org.department_paths(), statuses=org.user_status,
        departments=_tree_choices(_("All departments")), roles=_role_choices_by_id(),
        prev_url=page_url(page - 1) if page > 1 else None,
        next_url=page_url(page + 1) if page * PER_PAGE < total else None)


def _role_choices_by_id() -> list[tuple[str, str]]:
    return [(str(r.id), r.name) for r in db.session.execute(sa.select(Role).order_by(Role.name)).scalars()]


def _user_form(user: User | None = None) -> UserForm:
    form = UserForm(obj=user) if user else UserForm()
    form.department.choices = _tree_choices(_("No department"))
    form.roles.choices = _role_choices()
    if user and not form.is_submitted():
        form.department.data = str(user.department_id or "")
        form.roles.data = sorted(user.role_keys)
    return form


def _changes(form: UserForm) -> dict:
    return {"name": form.name.data, "email": form.email.data, "department_id": _int(form.department.data),
            "role_keys": form.roles.data or [], "is_admin": form.is_admin.data}


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    """Create a user and show their invitation link, once."""
    form = _user_form()
    if form.validate_on_submit():
        try:
            user, token = org.create_user(current_actor(), _changes(form))
        except FormloomError as exc:
            _show_error(form, exc)
        else:
            return _invite_page(user, token, created=True)
    return render_template("org/user_form.html", form=form, user=None), 422 if form.errors or form.form_errors else 200


def _invite_page(user: User, token: str, created: bool):
    # The services queued the email whenever mail is on (a request always knows the site's address).
    return render_template("org/invite_link.html", user=user, created=created, emailed=mail.enabled(),
                           link=url_for("invite.accept", token=token, _external=True),
                           expires=user.invited_at + timedelta(days=org.INVITE_DAYS))


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user_edit(user_id):
    user = _get(User, user_id)
    form = _user_form(user)
    if form.validate_on_submit():
        try:
            org.update_user(current_actor(), user.id, _changes(form))
        except FormloomError as exc:
            _show_error(form, exc)
        else:
            flash(_("Saved the changes to %(name)s.", name=user.name), "success")
            return redirect(url_for("org.users"))
    owned = hooks.records_owned(user.id) if not user.active else None
    status = 422 if form.errors or form.form_errors else 200
    return render_template("org/user_form.html", form=form, user=user, status=org.user_status(user),
                           owned=owned, paths=org.department_paths()), status


@bp.post("/users/<int:user_id>/deactivate")
def user_deactivate(user_id):
    return _set_active(user_id, False)


@bp.post("/users/<int:user_id>/reactivate")
def user_reactivate(user_id):
    return _set_active(user_id, True)


def _set_active(user_id: int, active: bool):
    user = _get(User, user_id)
    try:
        org.set_active(current_actor(), user.id, active)
    except FormloomError as exc:
        flash(exc.localized(), "danger")
    else:
        flash(_("%(name)s can sign in again.", name=user.name) if active else
              _("%(name)s is deactivated: they can no longer sign in. Their records stay.", name=user.name),
              "success")
    return redirect(url_for("org.user_edit", user_id=user.id))


@bp.post("/users/<int:user_id>/invite")
def user_invite(user_id):
    """A new invitation link; the old one stops working."""
    user = _get(User, user_id)
    try:
        user, token = org.reinvite(current_actor(), user.id)
    except FormloomError as exc:
        flash(exc.localized(), "danger")
        return redirect(url_for("org.user_edit", user_id=user.id))
    return _invite_page(user, token, created=False)


@bp.route("/users/<int:user_id>/reassign", methods=["GET", "POST"])
def user_reassign(user_id):
    """Give everything a (deactivated) user owns, in every app, to someone else."""
    user = _get(User, user_id)
    form = PickUserForm()
    form.user.choices = _user_choices(_("Choose a user"), exclude={user.id})
    if form.validate_on_submit():
        try:
            moved = hooks.reassign_records(current_actor(), user.id, int(form.user.data))
        except FormloomError as exc:
            _show_error(form, exc)
        else:
            target = db.session.get(User, int(form.user.data))
            flash(ngettext("Moved %(num)d record to %(name)s.", "Moved %(num)d records to %(name)s.", moved,
                           name=target.name), "success")
            return redirect(url_for("org.user_edit", user_id=user.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("org/reassign.html", form=form, user=user, owned=hooks.records_owned(user.id)), status


# --- departments -----------------------------------------------------------------------------

@bp.get("/departments")
def departments():
    rows = org.department_tree()
    return render_template("org/departments.html", rows=rows, grants=org.app_grants("department_id"))


def _dept_form(dept: Department | None = None) -> DepartmentForm:
    form = DepartmentForm(obj=dept) if dept else DepartmentForm(parent=request.args.get("parent", ""))
    exclude = org.department_subtree([dept.id]) if dept else set()
    form.parent.choices = _tree_choices(_("None (top level)"), exclude)
    form.head.choices = _user_choices(_("No head"))
    if dept and not form.is_submitted():
        form.parent.data = str(dept.parent_id or "")
        form.head.data = str(dept.head_id or "")
    if dept and dept.head_id and dept.head and not dept.head.active:  # keep a deactivated head visible
        form.head.choices.append((str(dept.head_id), f"{dept.head.name} ({_('deactivated')})"))
    return form


@bp.route("/departments/new", methods=["GET", "POST"])
@bp.route("/departments/<int:dept_id>", methods=["GET", "POST"])
def department_form(dept_id=None):
    dept = _get(Department, dept_id) if dept_id else None
    form = _dept_form(dept)
    if form.validate_on_submit():
        changes = {"name": form.name.data, "parent_id": _int(form.parent.data), "head_id": _int(form.head.data)}
        try:
            if dept:
                org.update_department(current_actor(), dept.id, changes)
            else:
                org.create_department(current_actor(), changes)
        except FormloomError as exc:
            _show_error(form, exc)
        else:
            flash(_("Saved the department %(name)s.", name=form.name.data.strip()), "success")
            return redirect(url_for("org.departments"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("org/department_form.html", form=form, dept=dept), status


@bp.post("/departments/<int:dept_id>/delete")
def department_delete(dept_id):
    dept = _get(Department, dept_id)
    name = dept.name
    try:
        org.delete_department(current_actor(), dept.id)
    except FormloomError as exc:
        flash(exc.localized(), "danger")
    else:
        flash(_("Deleted the department %(name)s.", name=name), "success")
    return redirect(url_for("org.departments"))


# --- roles -----------------------------------------------------------------------------------

@bp.get("/roles")
def roles():
    rows = list(db.session.execute(sa.select(Role).order_by(Role.name)).scalars())
    return render_template("org/roles.html", rows=rows, counts=org.role_counts(), grants=org.app_grants("role_id"))


@bp.route("/roles/new", methods=["GET", "POST"])
def role_new():
    form = RoleForm()
    if form.validate_on_submit():
        try:
            role = org.create_role(current_actor(), form.key.data, form.name.data)
        except FormloomError as exc:
            _show_error(form, exc)
        else:
            flash(_("Created the role %(name)s. Now add the people who have it.", name=role.name), "success")
            return redirect(url_for("org.role_edit", role_id=role.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("org/role_new.html", form=form), status


@bp.route("/roles/<int:role_id>", methods=["GET", "POST"])
def role_edit(role_id):
    """Rename a role and choose who has it."""
    role = _get(Role, role_id)
    form = RoleForm(obj=role)
    del form.key
    if form.validate_on_submit():
        try:
            org.rename_role(current_actor(), role.id, form.name.data)
        except FormloomError as exc:
            _show_error(form, exc)
        else:
            flash(_("Saved the role %(name)s.", name=role.name), "success")
            return redirect(url_for("org.role_edit", role_id=role.id))
    members = list(db.session.execute(org.users_query(role_id=role.id).order_by(User.name)).scalars())
    add = PickUserForm(prefix="add")
    add.user.choices = _user_choices(_("Choose a user"), exclude={u.id for u in members})
    status = 422 if form.errors or form.form_errors else 200
    return render_template("org/role_edit.html", role=role, form=form, add=add, members=members,
                           grants=org.app_grants("role_id").get(role.id, 0)), status


@bp.post("/roles/<int:role_id>/members")
def role_members(role_id):
    role = _get(Role, role_id)
    add, remove = _int(request.form.get("add-user")), _int(request.form.get("remove"))
    if add is None and remove is None:
        flash(_("Choose a user to add."), "warning")
        return redirect(url_for("org.role_edit", role_id=role.id))
    try:
        org.set_role_members(current_actor(), role.id, add=[add] if add else [], remove=[remove] if remove else [])
    except FormloomError as exc:
        flash(exc.localized(), "danger")
    else:
        user = db.session.get(User, add or remove)
        flash(_("%(name)s now has the role %(role)s.", name=user.name, role=role.name) if add else
              _("%(name)s no longer has the role %(role)s.", name=user.name, role=role.name), "success")
    return redirect(url_for("org.role_edit", role_id=role.id))


@bp.post("/roles/<int:role_id>/delete")
def role_delete(role_id):
    role = _get(Role, role_id)
    name = role.name
    try:
        n = org.delete_role(current_actor(), role.id)
    except FormloomError as exc:
        flash(exc.localized(), "danger")
    else:
        flash(ngettext("Deleted the role %(name)s; %(num)d user lost it.",
                       "Deleted the role %(name)s; %(num)d users lost it.", n, name=name), "success")
    return redirect(url_for("org.roles"))


# --- CSV imports -----------------------------------------------------------------------------

IMPORTS = {"users": org_import.import_users, "departments": org_import.import_departments}
SAMPLES = {
    "users": "email,name,department,roles,admin\n"
             "li.lei@example.com,Li Lei,Sales/East,sales_rep,false\n"
             "han.meimei@example.com,Han Meimei,Sales,sales_rep;sales_manager,false\n"
             "wang.fang@example.com,Wang Fang,Finance,,true\n",
    # Heads left empty: they must be users already (import users next, then this file again).
    "departments": "name,parent,head\n"
                   "Sales,,\n"
                   "East,Sales,\n"
                   "Finance,,\n",
}


def _upload(form: ImportForm) -> str | bytes | None:
    """The CSV sent: a file (preview) or the text the preview carried forward (apply)."""
    if request.form.get("csv"):
        return request.form["csv"]
    data = form.file.data.read(MAX_UPLOAD + 1) if form.file.data else b""
    if not data:
        form.file.errors = [_("Choose a CSV file to upload.")]
        return None
    if len(data) > MAX_UPLOAD:
        form.file.errors = [_("The file is larger than 2 MB; split it into several files.")]
        return None
    return data


@bp.route("/import/<any(users, departments):kind>", methods=["GET", "POST"])
def import_page(kind):
    """Upload, preview (a dry run listing every problem by line), then apply all or nothing."""
    form, result, errors, text = ImportForm(), None, [], None
    if form.validate_on_submit():
        data = _upload(form)
        if data is not None:
            text = data if isinstance(data, str) else data.decode("utf-8-sig", errors="replace")
            apply = request.form.get("step") == "apply"
            try:
                result = IMPORTS[kind](current_actor(), data, dry_run=not apply)
            except FormloomError as exc:
                errors = exc.errors or [{"line": None, "field": "file", "message": exc.message}]
                flash(exc.localized() if exc.errors and exc.errors[0].get("field") != "file"
                      else _("The file cannot be imported; nothing was saved."), "danger")
            else:
                if apply:
                    flash(_("Imported: %(created)s new, %(updated)s updated.", created=result.count("create"),
                            updated=result.count("update")), "success")
    invites = [(email, url_for("invite.accept", token=token, _external=True))
               for email, token in (result.invites if result else [])]
    status = 422 if errors or form.errors else 200
    return render_template("org/import.html", kind=kind, form=form, result=result, errors=errors, text=text,
                           invites=invites), status


@bp.get("/import/<any(users, departments):kind>/sample.csv")
def import_sample(kind):
    return Response(SAMPLES[kind], mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{kind}-sample.csv"'})


# --- the invitation --------------------------------------------------------------------------

def _invite_valid() -> bool:
    try:
        org.invited_user((request.view_args or {}).get("token", ""))
    except org.InvitationInvalid:
        return False
    return True


@invite_bp.route("/invite/<token>", methods=["GET", "POST"])
@guard_secret(_invite_valid)
def accept(token):
    """Where an invited person sets a password; they are then signed in."""
    try:
        user = org.invited_user(token)
    except org.InvitationInvalid as exc:
        return render_template("auth/invite_invalid.html", reason=exc.reason, expired_at=exc.expired_at), 410
    form = InviteForm()
    if form.validate_on_submit():
        try:
            user = org.accept_invite(token, form.password.data)
        except org.InvitationInvalid as exc:
            return render_template("auth/invite_invalid.html", reason=exc.reason, expired_at=exc.expired_at), 410
        except FormloomError as exc:
            _show_error(form, exc)
        else:
            login_user(db.session.get(User, user.id))
            flash(_("Welcome, %(name)s. Your password is set.", name=user.name), "success")
            home = url_for_safe("web.index")
            return redirect(home if home != "#" else "/")
    status = 422 if form.errors or form.form_errors else 200
    return render_template("auth/invite.html", form=form, user=user,
                           signed_in_as=current_user if current_user.is_authenticated else None), status
