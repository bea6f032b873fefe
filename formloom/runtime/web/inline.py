"""Inline edit of a table view's cell: which cells a reader may edit in place (plain values of
fields they may change), and the route that saves one through the records service with the
row's version (If-Match): grants, flow locks, validation and a stale version all refuse it,
and the answer says why in the reader's words."""
from __future__ import annotations

from flask import abort, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import login_required

from formloom.platform.inputs import as_id
from formloom.runtime.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from formloom.runtime.fields import type_of
from formloom.runtime.fields.select import option_label, options
from formloom.runtime.records import service
from formloom.runtime.views import query
from formloom.runtime.web.blueprint import bp
from formloom.runtime.web.common import load
from formloom.runtime.web.display import Display
from formloom.runtime.web.viewparts import refusal

KINDS = ("text", "number", "date")


def _plain(f: dict) -> bool:
    """A value a person types or picks in one input: no formula, link, file, rows or counter."""
    ftype = type_of(f)
    if (ftype.computed or ftype.derived or ftype.has_expression or ftype.copies_linked_value or ftype.numbered
            or ftype.aggregates_linking_records or ftype.holds_rows or ftype.holds_files or ftype.refers_to):
        return False
    return ftype.result_kind(f) in KINDS and ftype.storage_for(f) == "column"


def editable_keys(page, keys) -> set[str]:
    """The columns the reader may edit in place (the service still judges each record)."""
    if not page.can("edit"):
        return set()
    locked = page.access.locked()
    return {k for k in keys if k in page.form.fields and k not in locked and not page.form.fields[k].get("hidden")
            and not page.form.fields[k].get("readonly") and _plain(page.form.fields[k])}


def raw_value(form, key: str, value) -> str:
    """The value as the cell's input holds it."""
    if value is None:
        return ""
    value = type_of(form.fields[key]).to_json(form.fields[key], value)
    return str(value)


def input_of(form, key: str, locale: str) -> dict:
    """How a column's cells are edited: the input's type and, for a select, its options."""
    f = form.fields[key]
    if type_of(f).has_options:
        return {"type": "select", "options": [["", ""]] + [[o["value"], option_label(f, o["value"], locale)]
                                                           for o in options(f)]}
    kind = type_of(f).result_kind(f)
    return {"type": {"number": "number", "date": "date"}.get(kind, "text")}


@bp.route("/a/<app_key>/v/<view_key>/cell", methods=["POST"])
@login_required
def view_cell(app_key, view_key):
    """Save one cell: `record`, `version`, `field`, `value` (as typed; empty clears it).
    JSON back: the cell's new HTML, its raw value and the record's version; or `{"message"}`
    with 409, 422, 403 or 404."""
    runtime = load(app_key).runtime
    view = runtime.definition.views.get(view_key)
    if view is None:
        abort(404)
    page = load(app_key, view.form)
    try:
        ov = query.OpenView(page.actor, runtime, view_key)
    except NotFound:
        abort(404)
    form, key = page.form, request.form.get("field", "")
    record_id, version = as_id(request.form.get("record", "")), as_id(request.form.get("version", ""))
    if key not in editable_keys(page, ov.columns or list(form.fields)) or record_id is None or version is None:
        return jsonify({"message": _("This cell cannot be changed here.")}), 400
    value = request.form.get("value", "").strip()
    try:
        saved = service.update(page.actor, runtime, form.key, record_id, {key: value if value != "" else None},
                               expected_version=version)
    except (Conflict, ValidationFailed, PermissionDenied, NotFound) as exc:
        status, why = refusal(form, page.locale, exc)
        return jsonify({"message": _("Not saved: %(reason)s", reason=why)}), status
    display = Display(page)
    cell = display.cell(form, key, saved["fields"].get(key))
    return jsonify({"html": render_template("web/_cell.html", c=cell), "raw": raw_value(form, key, saved["fields"].get(key)),
                    "version": saved["version"]})
