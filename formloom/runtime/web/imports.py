"""Import pages: upload a spreadsheet, map its columns, preview the whole file's check, run
the import with a progress bar, read the result and download the failed rows. The pages
drive the import service (runtime/imports), as the API does."""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask import abort, flash, make_response, redirect, render_template, request, send_file
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from formloom.platform.exceptions import FormloomError
from formloom.platform.extensions import db
from formloom.platform.models import User
from formloom.runtime.exceptions import NotFound
from formloom.runtime.fields import type_of
from formloom.runtime.fields.select import option_label, options
from formloom.runtime.forms.errors import translate
from formloom.runtime.imports import mapping, service
from formloom.runtime.records.context import app_timezone
from formloom.runtime.web.blueprint import bp
from formloom.runtime.web.common import Page, load

BASE = "/a/<app_key>/f/<form_key>/import"
ONE = BASE + "/<int:import_id>"
ENCODINGS = (("", _l("Detect")), ("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8 BOM"), ("gb18030", "GB18030 / GBK"),
             ("big5", "Big5"), ("shift_jis", "Shift-JIS"), ("latin-1", "Latin-1"))
MESSAGES = [
    (re.compile(r'"(?P<v>.*)" matches no (?P<form>.+?) records? \(by (?P<by>.+)\)'),
     _l('"%(v)s" matches no %(form)s record by %(by)s')),
    (re.compile(r'"(?P<v>.*)" matches (?P<n>\d+) .*'), _l('"%(v)s" matches %(n)s records; map the column by a unique field')),
    (re.compile(r"repeats the value of row (?P<n>\d+) in this file"), _l("repeats the value of row %(n)s in this file")),
    (re.compile(r"has (?P<n>\d+) cells; the header names (?P<m>\d+) columns"),
     _l("has %(n)s cells; the header names %(m)s columns")),
    (re.compile(r"matches no record of .*"), _l("matches no record to update")),
    (re.compile(r"is empty; it must name the record to change"), _l("is empty; it must name the record to change")),
    (re.compile(r"is empty"), _l("is empty")),
    (re.compile(r"has no rows"), _l("has no rows")),
    (re.compile(r"is an old Excel \(\.xls\) file.*"), _l("is an old Excel (.xls) file; save it as .xlsx or .csv")),
    (re.compile(r"is not (?P<enc>\S+) text .*"), _l("is not %(enc)s text; choose its encoding, or save it as “CSV UTF-8”")),
    (re.compile(r"is not a readable (Excel workbook|CSV file).*"), _l("is not a readable CSV or Excel file")),
]


def message(text: str) -> str:
    """A row error in the reader's language, where we know it."""
    return translate(text or "", MESSAGES)


def _file_problem(exc: FormloomError) -> str:
    first = exc.errors[0] if exc.errors else {}
    return message(first.get("message", exc.message)) if first.get("field") == "file" else exc.message


def _page(app_key: str, form_key: str) -> Page:
    return load(app_key, form_key)


def _mine(page: Page, import_id: int):
    try:
        row = service.get(page.actor, import_id)
    except NotFound:
        abort(404)
    if row.app_id != page.runtime.app_id or row.form_key != page.form.key:
        abort(404)
    return row


def _may_import(page: Page) -> bool:
    return page.can("add") and page.can("import")


@bp.route(BASE, methods=["GET", "POST"])
@login_required
def import_page(app_key, form_key):
    """Step 1: upload a file; the form's earlier imports below."""
    page = _page(app_key, form_key)
    status = 200
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash(_("Choose a CSV or Excel (.xlsx) file first."), "danger")
            status = 422
        elif not _may_import(page):
            abort(403)
        else:
            try:
                row = service.stage(page.actor, page.runtime, form_key, upload.stream, upload.filename,
                                    {"encoding": request.form.get("encoding") or None})
            except FormloomError as exc:
                flash(_("The file cannot be read: %(problem)s", problem=_file_problem(exc)), "danger")
                status = 422
            else:
                return redirect(page.url("web.import_run", import_id=row.id))
    past = [r for r in service.history(page.runtime, form_key) if r.status != "draft"
            and (r.created_by_id == page.actor.user_id or page.is_admin)]
    people = dict(db.session.execute(sa.select(User.id, User.name).where(
        User.id.in_({r.created_by_id for r in past if r.created_by_id}))).all()) if past else {}
    return render_template("web/import.html", page=page, past=past, may=_may_import(page), people=people,
                           encodings=ENCODINGS, app_tz=app_timezone(page.runtime)), status


def _options_from_form(draft) -> dict:
    """The options the mapping step's form says (columns, values, mode, key, on error)."""
    form = request.form
    headers = form.getlist("header")
    mapping_opts = {}
    for i, h in enumerate(headers):
        chosen = form.get(f"map_{i}", "")
        if "@" in chosen:
            key, match = chosen.split("@", 1)
            mapping_opts[h] = {"field": key, "match": match}
        else:
            mapping_opts[h] = chosen or None
    values: dict = {}
    for name, cell in form.items():
        m = re.fullmatch(r"cell_(\w+?)_(\d+)", name)
        if m and form.get(f"val_{m.group(1)}_{m.group(2)}"):
            values.setdefault(m.group(1), {})[cell] = form[f"val_{m.group(1)}_{m.group(2)}"]
    header_row = form.get("header_row", "")
    options = {"mapping": mapping_opts, "values": values, "mode": form.get("mode", "create"),
               "on_error": form.get("on_error", "stop"), "encoding": form.get("encoding") or None,
               "sheet": form.get("sheet") or None,
               "header_row": int(header_row) if header_row.isdigit() and 1 <= int(header_row) <= 1000 else None}
    if options["mode"] != "create":
        options["key"] = form.get("key") or ""
    if draft is not None and headers != _headers_of(draft):
        options.pop("mapping")
    return options


def _headers_of(row) -> list[str]:
    return list((row.options or {}).get("mapping") or {})


def _mapping_view(page: Page, row, lay: dict) -> dict:
    """What the mapping step shows: each column with its choice and first cells, the
    fields it may map to, the select columns' cells that name no option."""
    form = page.form
    runtime_form = page.runtime.form(form.key)
    fields = mapping.importable(runtime_form)
    chosen = row.options.get("mapping") or lay["auto"]
    choices = [("", _("Do not import"))]
    for key, f in fields.items():
        label = runtime_form.label(key, page.locale)
        choices.append((key, label))
        if type_of(f).refers_to == "record":
            linked = page.runtime.form(f["form"])
            for k, lf in linked.fields.items():
                if lf.get("unique") and k != linked.title_field:
                    choices.append((f"{key}@{k}", _("%(field)s, matched by %(other)s", field=label,
                                                    other=linked.label(k, page.locale))))
    columns = []
    for i, h in enumerate(lay["headers"]):
        target = chosen.get(h) if h in chosen else lay["auto"].get(h)
        value = f"{target['field']}@{target['match']}" if isinstance(target, dict) else (target or "")
        cells = [r[i] for r in lay["sample"] if i < len(r) and r[i].strip()][:3]
        columns.append({"index": i, "name": h, "value": value, "cells": cells})
    try:
        planned = mapping.plan_columns(page.runtime, runtime_form, lay["headers"], row.options)
        problem = None
    except FormloomError as exc:
        planned, problem = [], [message(e.get("message", "")) + (f" ({e['column']})" if e.get("column") else "")
                                for e in exc.errors] or [exc.message]
    unmatched = service.distinct_cells(service.file_path(row), row.file_name, lay, planned, runtime_form)
    values = row.options.get("values") or {}
    tables = []
    for key, cells in unmatched.items():
        f = runtime_form.fields[key]
        if cells:
            tables.append({"key": key, "label": runtime_form.label(key, page.locale),
                           "options": [(o["value"], option_label(f, o["value"], page.locale)) for o in options(f)],
                           "cells": [(c, values.get(key, {}).get(c, "")) for c in cells]})
    unique = [(k, runtime_form.label(k, page.locale)) for k, f in fields.items() if f.get("unique")]
    return {"columns": columns, "choices": choices, "tables": tables, "unique": unique, "problem": problem}


@bp.route(ONE, methods=["GET", "POST"])
@login_required
def import_run(app_key, form_key, import_id):
    """Step 2 (a draft: map the columns), 3 (a dry run: the preview) or 4 (the import: its
    progress, then its result)."""
    page = _page(app_key, form_key)
    row = _mine(page, import_id)
    status = 200
    if request.method == "POST":
        action = request.form.get("action", "")
        options = _options_from_form(row if row.status == "draft" else None)
        try:
            if action in ("preview", "run"):
                if row.status == "draft":
                    service.restage(page.actor, page.runtime, row, options)
                    options = dict(row.options)
                elif row.dry_run:
                    options = dict(row.options)
                else:
                    abort(409)
                launched = service.launch(page.actor, page.runtime, row, {**options, "dry_run": action == "preview"})
                return redirect(page.url("web.import_run", import_id=launched.id))
            if action == "cancel":
                service.cancel(page.actor, row.id)
                return redirect(page.url("web.import_run", import_id=row.id))
            if row.status == "draft":
                service.restage(page.actor, page.runtime, row, options)
                return redirect(page.url("web.import_run", import_id=row.id))
        except FormloomError as exc:
            details = "; ".join(message(e.get("message", "")) for e in exc.errors if e.get("message"))
            flash(_("Not started: %(problem)s", problem=details or exc.message), "danger")
            status = 422
    lay, view, preview = None, None, None
    if row.status == "draft" or (row.dry_run and row.status not in ("queued", "running")):
        try:
            lay = service.layout(page.runtime, page.runtime.form(form_key), service.file_path(row), row.file_name,
                                 row.options)
        except FormloomError as exc:
            flash(_("The file cannot be read: %(problem)s", problem=_file_problem(exc)), "danger")
    if row.status == "draft" and lay is not None:
        view = _mapping_view(page, row, lay)
    if row.dry_run and lay is not None and row.status in ("finished", "failed"):
        preview = service.sample(page.actor, page.runtime, row, page.locale)
    errors = [{**e, "message": message(e.get("message", ""))} for e in row.errors or []]
    return render_template("web/import_run.html", page=page, row=row, lay=lay, view=view, preview=preview,
                           errors=errors, encodings=ENCODINGS, state=service.status_json(row),
                           form_fields=page.runtime.form(form_key).fields), status


@bp.get(ONE + "/progress")
@login_required
def import_progress(app_key, form_key, import_id):
    """The progress fragment htmx polls; once the import has ended the page reloads."""
    page = _page(app_key, form_key)
    row = _mine(page, import_id)
    response = make_response(render_template("web/_import_progress.html", page=page, row=row,
                                             state=service.status_json(row)))
    if row.status not in ("queued", "running"):
        response.headers["HX-Refresh"] = "true"
    return response


@bp.get(ONE + "/failed.csv")
@login_required
def import_failed(app_key, form_key, import_id):
    page = _page(app_key, form_key)
    row = _mine(page, import_id)
    path = service.failed_path(row)
    if not path.exists():
        abort(404)
    stem = row.file_name.rsplit(".", 1)[0] or "import"
    return send_file(path, mimetype="text/csv", as_attachment=True, download_name=f"{stem}-failed.csv", max_age=0)

