"""Filling in a record: the new and edit pages (WTForms built from the definition), the
lookup a link picker asks while someone types, and the linked values the page fills live."""
from __future__ import annotations

from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import flash, jsonify, redirect, render_template, request
from flask_babel import gettext as _
from flask_login import login_required

from formloom.platform.extensions import db
from formloom.platform.inputs import as_id
from formloom.platform.models import Department, User
from formloom.runtime import access
from formloom.runtime.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from formloom.runtime.fields import FieldValueError, type_of
from formloom.runtime.flows import queries
from formloom.runtime.forms import attr, build_form_class, entry_fields, mark_required
from formloom.runtime.forms.errors import Problem, place
from formloom.runtime.forms.rules import hidden_fields
from formloom.runtime.forms.uploads import KEEP, collect, file_keys, items_of
from formloom.runtime.forms.values import (
    default_row,
    default_values,
    initial_data,
    submitted,
    typed_values,
)
from formloom.runtime.records import linkage, query, service
from formloom.runtime.records.context import condition_env, value_context
from formloom.runtime.storage.store import flat_values
from formloom.runtime.web import listing
from formloom.runtime.web.blueprint import bp
from formloom.runtime.web.common import Page, actor_form, load, record_form
from formloom.runtime.web.display import Display
from formloom.runtime.web.formpage import Layout

FORM = "/a/<app_key>/f/<form_key>"
MAX_CHOICES = 1000
LOOKUP_LIMIT = 20


def _all_fields(form):
    for key, f in form.fields.items():
        yield key, f
        if key in form.children:
            yield from _all_fields(form.children[key])


def _referenced(form, values: dict | None, kind: str) -> set[int]:
    ids: set[int] = set()
    for key, f in form.fields.items():
        value = (values or {}).get(key)
        if f["type"] == kind:
            ids.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, int))
        elif type_of(f).holds_rows:
            for row in value or []:
                ids |= _referenced(form.children[key], row, kind)
    return ids


def _options(model, active, referenced: set[int]) -> list[tuple[str, str]]:
    # Values already on the record stay choosable even when no longer active, so saving
    # the form never drops them silently.
    where = sa.or_(active, model.id.in_(referenced)) if referenced else active
    rows = db.session.execute(sa.select(model.id, model.name).where(where).order_by(model.name).limit(MAX_CHOICES))
    return [(str(i), name) for i, name in rows]


def choices_for(form, values: dict | None) -> dict:
    """Options of user and department fields by field key (links use the picker instead)."""
    fields = list(_all_fields(form))
    out: dict = {}
    if any(type_of(f).refers_to == "user" for _k, f in fields):
        users = _options(User, User.active.is_(True), _referenced(form, values, "user"))
        out.update({k: users for k, f in fields if type_of(f).refers_to == "user"})
    if any(type_of(f).refers_to == "department" for _k, f in fields):
        depts = _options(Department, sa.true(), set())
        out.update({k: depts for k, f in fields if type_of(f).refers_to == "department"})
    return out


@dataclass
class Outcome:
    """What a submit that did not save leaves for the page."""

    problems: list[Problem] = dc_field(default_factory=list)
    table_errors: dict = dc_field(default_factory=dict)
    conflict: Conflict | None = None
    file_items: dict = dc_field(default_factory=dict)
    denied: bool = False  # an owner the actor may not set: 403, shown at the field, input kept


def wtforms_problems(form, wt, locale: str) -> list[Problem]:
    """Errors WTForms found itself (values it could not even parse), for the summary."""
    out = []
    for key in entry_fields(form):
        field = wt._fields[attr(key)]
        label = form.label(key, locale)
        if key in form.children:
            for i, entry in enumerate(field.entries):
                for sub in entry.form:
                    where = _("%(table)s, row %(row)s", table=label, row=i + 1)
                    out += [Problem(where, f"{sub.label.text}: {e}", sub.id) for e in sub.errors]
        elif field.errors:
            out += [Problem(label, f"{label}: {e}", field.id) for e in field.errors]
    return out


def _fields_of(wt):
    """Every field of a built form, subform rows' cells included (and the lists themselves)."""
    for field in wt:
        yield field
        for entry in getattr(field, "entries", None) or []:
            yield from _fields_of(entry.form) if hasattr(entry, "form") else [entry]


def only_unparsed(wt) -> bool:
    """Whether WTForms refused nothing but values it could not parse (a missing CSRF token
    still stops the save here). Those go to the service as typed (`values.sent_value`),
    which reports them with every other field's error, in one pass and one style."""
    return all(not f.errors or list(f.errors) == list(f.process_errors)
               for f in _fields_of(wt) if not getattr(f, "entries", None))


def forget_wtforms_errors(wt) -> None:
    for field in _fields_of(wt):
        field.errors = []


def store_uploads(page: Page, wt, current: dict | None, rows_sent: dict, out) -> dict | None:
    """Store the files a submit sent and kept; their field values, or None with the problems
    noted on `out` (anything with problems, table_errors and file_items: Outcome, tasks.Inputs)."""
    keep = {key: request.form.getlist(KEEP + key) for key in file_keys(page.form)}
    uploads = collect(page.actor, page.runtime.app_id, page.form, wt, keep, current)
    out.file_items = uploads.items
    if uploads.errors:
        out.problems, out.table_errors = place(page.form, wt, uploads.errors, rows_sent, page.locale)
        return None
    return uploads.data


def _version() -> int | None:
    raw = request.form.get("_version", "")
    return as_id(raw)


def _save(page: Page, record: dict | None, wt, data: dict, rows_sent: dict, out: Outcome):
    """Store uploads and save through the records service; the saved record, or None."""
    form = page.form
    current = record["fields"] if record else None
    if not wt.validate_on_submit() and not only_unparsed(wt):
        out.problems = wtforms_problems(form, wt, page.locale)
        return None
    forget_wtforms_errors(wt)  # the service judges every value, each error in its words
    files = store_uploads(page, wt, current, rows_sent, out)
    if files is None:
        return None
    data.update(files)
    try:
        if record is None:
            return service.create(page.actor, page.runtime, form.key, data)
        return service.update(page.actor, page.runtime, form.key, record["id"], data, expected_version=_version())
    except ValidationFailed as exc:
        out.problems, out.table_errors = place(form, wt, exc.errors, rows_sent, page.locale)
    except Conflict as exc:
        out.conflict = exc
    except PermissionDenied as exc:
        if not form.owner_field or not exc.errors or any(e.get("field") != form.owner_field for e in exc.errors):
            raise
        out.problems, out.table_errors = place(form, wt, exc.errors, rows_sent, page.locale)
        out.denied = True
    return None


def local_next() -> str | None:
    """The `next` query parameter when it is a path on this site ("/a/crm/f/customer/r/5"),
    where saving or cancelling goes back to; None for anything else. An absolute URL, "//host",
    a backslash (browsers read one as a slash) or a space or control character (browsers drop
    tabs and newlines, so "/", a tab and "/host" would become "//host") could lead to another site."""
    raw = request.args.get("next", "")
    if not raw.startswith("/") or raw.startswith("//") or len(raw) > 2000:
        return None
    if "\\" in raw or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in raw):
        return None
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return None
    return raw


def _after_save(page: Page, record: dict | None, saved: dict):
    back = local_next()
    if record is None and not page.can("view"):  # "submit only": the record is not theirs to see
        flash(_("Your record was submitted."), "success")
        return redirect(back or page.url("web.record_new"))
    flash(_("The record was created.") if record is None else _("Your changes were saved."), "success")
    if request.form.get("_then") == "new":  # another one, still coming back to where they came from
        return redirect(page.url("web.record_new", **({"next": back} if back else {})))
    return redirect(back or page.url("web.record_detail", record_id=saved["id"]))


def prefilled(form, ctx) -> dict:
    """Links and dates a "new" URL fills in (?customer=12, as a related list's Add asks;
    ?close_date=2026-03-01, as a calendar's day asks): only fields the reader may set, and
    only records they may see, each through the field's own conversion; anything else is
    ignored, leaving the field as the defaults have it."""
    out = {}
    for key in entry_fields(form):
        f = form.fields[key]
        raw = request.args.getlist(key)
        if raw and type_of(f).result_kind(f) == "date" and len(raw[0]) == 10:
            try:
                out[key] = form.type_of(key).to_python(f, raw[0], ctx)
            except FieldValueError:
                pass
            continue
        # Not an id at all: ignored before a query would compare it with a 32-bit id column.
        if type_of(f).refers_to != "record" or not raw or not all(r.isdecimal() and int(r) <= listing.MAX_ID for r in raw):
            continue
        try:
            out[key] = form.type_of(key).to_python(f, raw if f.get("multiple") else raw[0], ctx)
        except FieldValueError:
            continue
    return out


def _form_page(page: Page, record: dict | None):
    """GET: the form filled from the record (or defaults); POST: save, or show why not."""
    form = page.form
    ctx = value_context(page.actor, page.runtime)
    current = record["fields"] if record else None
    form_class = build_form_class(form, page.locale, choices_for(form, current))
    out = Outcome()
    if request.method == "GET":
        values = current or {**default_values(form, ctx, page.actor.user_id),
                             **(prefilled(form, ctx) if record is None else {})}
        wt = form_class(formdata=None, data=initial_data(form, values, ctx.tz))
        out.file_items = items_of(form, values)
        rows = {k: v for k, v in values.items() if k in form.children}
        return _render(page, record, wt, values, out, rows, ctx, record["version"] if record else None, 200)
    # Field hooks only convert here; the service checks references when it saves.
    light = replace(ctx, user_exists=None, department_exists=None, record_exists=None, file_lookup=None)
    wt = form_class()
    data, rows_sent = submitted(form, wt, light, current)
    saved = _save(page, record, wt, data, rows_sent, out)
    if saved is not None:
        return _after_save(page, record, saved)
    out.file_items = out.file_items or items_of(form, current or {})
    values = {**(current or {}), **typed_values(form, data, light)}
    return _render(page, record, wt, values, out, {}, ctx, _version(),
                   409 if out.conflict else 403 if out.denied else 422)


def _render(page: Page, record, wt, values: dict, out: Outcome, row_values: dict, ctx, version, status):
    """The form page: fields in order, rules applied to `values`, errors where they belong."""
    form = page.form
    mark_required(wt, form)
    system = flat_values(record) if record else {"$owner": page.actor.user_id, "$created_by": page.actor.user_id}
    hidden = hidden_fields(form, {**system, **values}, condition_env(page.actor, page.runtime, ctx=ctx))
    display = Display(page)
    row_defaults = {k: initial_data(child, default_row(child, ctx), ctx.tz) for k, child in form.children.items()}
    layout = Layout(page, wt, display, record["fields"] if record else {}, row_defaults)
    layout.want_links(form, wt)
    display.want(form, [record["fields"] if record else {}])
    display.load()
    slots = layout.slots(hidden, out.file_items, out.table_errors, row_values)
    return render_template("web/form.html", page=page, wt=wt, record=record, slots=slots, version=version,
                           title=display.title(form, record) if record else None, back=local_next(),
                           problems=out.problems, conflict=out.conflict,
                           live=bool(form.formulas) or any(c.formulas for c in form.children.values())
                           or any(type_of(f).numbered for f in form.fields.values())), status


@bp.route(FORM + "/new", methods=["GET", "POST"])
@login_required
def record_new(app_key, form_key):
    """The form for a new record (fields the actor may not set are read-only or left out)."""
    page = load(app_key, form_key)
    page.access.require("add")
    hidden = page.access.hidden_when_adding()
    page.form = actor_form(page.runtime.form(form_key), hidden, page.access.locked() - hidden)
    return _form_page(page, None)


@bp.route(FORM + "/r/<int:record_id>/edit", methods=["GET", "POST"])
@login_required
def record_edit(app_key, form_key, record_id):
    """The form for changing a record (a stale version is refused, the input kept)."""
    page = load(app_key, form_key)
    record = service.get(page.actor, page.runtime, form_key, record_id)
    if "edit" not in record["allowed"]:
        raise PermissionDenied(access.DENIED["edit"].format(form=page.form_name))
    page.form = record_form(page, record)
    return _form_page(page, record)


def _wants_json() -> bool:
    if request.headers.get("HX-Request"):
        return False
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return request.args.get("format") == "json" or best == "application/json"


@bp.route(FORM + "/lookup")
@login_required
def lookup(app_key, form_key):
    """Records of this form whose title contains `q` (or whose number is `q`), as the actor sees them."""
    page = load(app_key, form_key)
    search = request.args.get("q", "")[:200]
    condition = listing.condition(page.form, search, []) if search.strip() else None
    title = page.form.title_field
    # By title, so "Deal 1" comes before "Deal 10": the closest match first.
    sort = title if title in listing.sortable(page.form, page.runtime.form_tables(form_key).columns) else None
    records, _cursor = query.list_records(page.actor, page.runtime, form_key, condition=condition,
                                          sort=sort, limit=LOOKUP_LIMIT)
    display = Display(page)
    display.want(page.form, [r["fields"] for r in records], keys=[title] if title in page.form.fields else [])
    display.load()
    items = [{"id": r["id"], "title": display.title(page.form, r)} for r in records]
    if _wants_json():
        return jsonify({"items": items})
    return render_template("web/_lookup.html", items=items, search=search, page=page)


@bp.route(FORM + "/compute", methods=["POST"])
@login_required
def compute(app_key, form_key):
    """The form's formulas and subtotals for what is typed now (the form's own fields, as it
    posts them; `?record=ID` when changing a record), as text for the page to show while
    someone types. The records service computes them as a save would; the save still decides."""
    page = load(app_key, form_key)
    record_id = as_id(request.args.get("record", ""))
    form = page.runtime.form(form_key)
    if record_id is None:
        page.access.require("add")
        hidden = page.access.hidden_when_adding()
        page.form, current = actor_form(form, hidden, page.access.locked() - hidden), None
    else:
        record = service.get(page.actor, page.runtime, form_key, record_id)
        page.form, current = record_form(page, record), record["fields"]
    ctx = value_context(page.actor, page.runtime)
    light = replace(ctx, user_exists=None, department_exists=None, record_exists=None, file_lookup=None)
    wt = build_form_class(page.form, page.locale, choices_for(page.form, current))()
    data, rows_sent = submitted(page.form, wt, light, current)
    computed = service.preview(page.actor, page.runtime, form_key, data, record_id)

    def text(f: dict, value) -> str:
        return "" if type_of(f).is_empty(value) else type_of(f).format(f, value, page.locale)

    fields = {k: text(form.fields[k], v) for k, v in computed["fields"].items()}
    rows = {key: {str(rows_sent.get(key, [])[i]): {c: text(form.children[key].fields[c], v) for c, v in row.items()}
                  for i, row in enumerate(found) if i < len(rows_sent.get(key, []))}
            for key, found in computed["rows"].items()}
    for key, number in computed["serials"].items():
        fields[key] = _("%(number)s (the next number; fixed when you save)", number=number)
    return jsonify({"fields": fields, "rows": rows})


@bp.route(FORM + "/linkage")
@login_required
def linkage_fill(app_key, form_key):
    """Without `field`: the form's linked fields and what each reads. With `field` (`price`,
    or `lines.unit_price` for a subform column) and the values it reads as query arguments:
    the value saving would fill in, as `{"value": ...}`."""
    page = load(app_key, form_key)
    task = as_id(request.args.get("_task"))
    if task is not None:  # the task page of an approver who may change some fields at this step
        open_to = _task_fields(page, task)
        links = [k for k in linkage.linkages(page.runtime, form_key) if (k.subform or k.key) in open_to]
    elif page.can("add") or page.can("edit"):
        hidden = page.access.hidden()
        links = [k for k in linkage.linkages(page.runtime, form_key) if (k.subform or k.key) not in hidden]
    else:
        raise NotFound(_("There is no such form."))
    name = request.args.get("field")
    if name is None:
        return jsonify({"fields": [{"field": k.name, "subform": k.subform, "key": k.key, "reads": list(k.reads),
                                    "overwrite": k.overwrite, "note": _linkage_note(page, k)} for k in links]})
    link = next((k for k in links if k.name == name), None)
    if link is None:
        raise NotFound(_("This form has no such linked field."))
    sent = {key: request.args.getlist(key) for key in link.reads}
    try:
        found = linkage.live(page.actor, page.runtime, form_key, link, sent)
    except FieldValueError:  # a value this field cannot take: saving will say so, by the field
        found = None
    return jsonify({"value": found})


def _task_fields(page: Page, task_id: int) -> set[str]:
    """The fields the reader may change on their open task of this form: the step's editable
    ones, or the whole form (less the step's hidden fields) when a returned record is theirs to
    submit again. NotFound for anyone else's task or one already done."""

    view = queries.task_view(page.actor, task_id, page.locale)
    if view.instance.form_key != page.form.key or view.runtime.app_id != page.runtime.app_id:
        raise NotFound(_("There is no such form."))
    if "submit" in view.actions:
        return set(page.runtime.form(page.form.key).fields) - view.hidden
    if "approve" in view.actions:
        return set(view.editable) - view.hidden
    raise NotFound(_("There is no such form."))


def _linkage_note(page: Page, link) -> str:
    """What the page says, over a linked input, about where its value comes from."""
    source = page.runtime.form(link.form).display_name(page.locale)
    if link.overwrite:
        return _("Filled in from %(form)s; you may change it.", form=source)
    return _("Filled in from %(form)s.", form=source)
