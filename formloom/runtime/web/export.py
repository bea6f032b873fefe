"""Taking records out of the app: the list's records as CSV or Excel, and one record printed.

An export holds what the list page shows (its search, filters and sort), every page of it,
with the fields the actor may see in every row it shows: one header has to fit every row,
so a field hidden by any of the actor's viewing grants is left out (`FormAccess.hidden()`).
Values read as on the pages: titles for linked records, names for users, option labels.
"""
from __future__ import annotations

import csv
import io
import itertools
import re
import unicodedata
from collections.abc import Iterator
from datetime import date, datetime
from urllib.parse import quote

import sqlalchemy as sa
from flask import Response, render_template, request, stream_with_context
from flask_babel import gettext as _
from flask_login import login_required
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from formloom.platform import audit
from formloom.platform.extensions import db, write_transaction
from formloom.platform.i18n import MOMENT
from formloom.runtime import access
from formloom.runtime.definition import FormDef
from formloom.runtime.exceptions import PermissionDenied, ValidationFailed
from formloom.runtime.fields import field_types, type_of
from formloom.runtime.fields.datetime_ import to_local
from formloom.runtime.fields.select import option_label
from formloom.runtime.records import query, service
from formloom.runtime.records.context import app_timezone, now_utc
from formloom.runtime.web import listing
from formloom.runtime.web.blueprint import bp
from formloom.runtime.web.common import Page, load, record_form
from formloom.runtime.web.display import Display, ids_of, shown_as
from formloom.runtime.web.fields import widget_for
from formloom.runtime.web.records import RECORD, detail_fields

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
BATCH = query.MAX_LIMIT
XLSX_MAX_ROWS = 1_048_575  # a sheet's rows, less the header
XLSX_MAX_TEXT = 32_767  # characters Excel keeps in one cell
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what makes a spreadsheet read text as a formula


# -- the export's rows -------------------------------------------------------------------
def _columns(form: FormDef) -> list[str]:
    """The fields every exported row may show, in the form's order."""
    return [k for k, f in form.fields.items() if not f.get("hidden")]


def _headers(page: Page, keys: list[str]) -> list[str]:
    return [_("ID"), *(page.form.label(k, page.locale) for k in keys), _("Created at"), _("Updated at")]


def _export_scope_is_wide(fa: access.FormAccess) -> bool:
    """Whether every record the actor sees may be exported (no grant narrows export's rows)."""
    return fa.admin or any(g.allows("export") and g.rows is None for g in fa.grants)


def _exportable(page: Page, records: list[dict]) -> list[dict]:
    """The records of a page the actor may export: grants give export on their own rows."""
    if not records or _export_scope_is_wide(page.access):
        return records
    t = page.runtime.form_tables(page.form.key).table
    ids = {r["id"] for r in records}
    allowed = set(db.session.execute(sa.select(t.c.id).where(
        t.c.id.in_(ids), page.access.scope(t, "export"))).scalars())
    return [r for r in records if r["id"] in allowed]


def _batches(page: Page, condition, sort: str | None) -> Iterator[list[dict]]:
    """Every matching record, a page of 500 at a time, in the list's order."""
    cursor = None
    while True:
        records, cursor = query.list_records(page.actor, page.runtime, page.form.key, condition=condition,
                                             sort=sort, limit=BATCH, cursor=cursor)
        yield _exportable(page, records)
        if not cursor:
            return


def _number(value):
    """A number as a spreadsheet wants it: 12 rather than 12.0."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def plain_value(display: Display, form: FormDef, key: str, value):
    """One field value for a spreadsheet: text, a number, a date or a local date-time (a
    lookup's as its source field's)."""
    f = shown_as(form.fields[key])
    ftype = field_types.get(f["type"])
    if value is None or value == [] or value == "":
        return None
    if ftype.has_options:
        values = value if isinstance(value, list) else [value]
        return "; ".join(option_label(f, v, display.locale) for v in values)
    if ftype.refers_to:  # titles of linked records, names of users and departments
        return "; ".join(widget_for(f["type"]).names(display, f, ids_of(value)))
    if ftype.holds_files:
        return "; ".join(str(m.get("name") or m.get("id")) for m in value if isinstance(m, dict))
    if isinstance(value, datetime):
        return to_local(value, display.tz)
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number(value)
    return form.type_of(key).format(form.fields[key], value, display.locale)


def _rows(page: Page, keys: list[str], batches) -> Iterator[list]:
    """One list per record: id, the field values, created and updated (local time)."""
    form = page.form
    for records in batches:
        display = Display(page)  # one per batch: what it remembers stays a batch's worth
        display.want(form, [r["fields"] for r in records], keys=[k for k in keys if not type_of(form.fields[k]).holds_rows])
        display.load()
        for r in records:
            yield [r["id"], *(plain_value(display, form, k, r["fields"].get(k)) for k in keys),
                   to_local(r["created_at"], display.tz), to_local(r["updated_at"], display.tz)]


# -- writing the files ---------------------------------------------------------------------
def _csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(MOMENT)  # a local time already: the format every page uses
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value  # Excel must not run a value as a formula
    return str(value)


def _csv_stream(header: list[str], rows: Iterator[list]) -> Iterator[str]:
    """The CSV, a few hundred rows per chunk, starting with the BOM Excel needs for UTF-8."""
    buffer = io.StringIO()
    # Every cell quoted: where ";" separates a spreadsheet's list, an unquoted "safe;=1+1"
    # would be two cells, the second a formula; the header is text like any value.
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow([_csv_text(text) for text in header])
    yield "\ufeff" + buffer.getvalue()
    while True:
        chunk = list(itertools.islice(rows, BATCH))
        if not chunk:
            return
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([_csv_text(v) for v in row] for row in chunk)
        yield buffer.getvalue()


def _xlsx_cell(ws, value):
    if isinstance(value, str):
        cell = WriteOnlyCell(ws, ILLEGAL_CHARACTERS_RE.sub("", value)[:XLSX_MAX_TEXT])
        cell.data_type = "s"  # text that starts with "=" stays text
        return cell
    if isinstance(value, datetime):
        cell = WriteOnlyCell(ws, value)
        cell.number_format = "yyyy-mm-dd hh:mm"
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(ws, value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    return value


def _sheet_title(name: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", " ", name).strip()[:31] or "Sheet1"


def _xlsx(title: str, header: list[str], rows: Iterator[list]) -> tuple[bytes, int]:
    """The workbook's bytes and its number of records. Raises ValidationFailed past a sheet's size."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_sheet_title(title))
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    cells = []
    for text in header:  # a label is text as a value is: "=..." must not become a formula
        cell = _xlsx_cell(ws, text)
        cell.font = bold
        cells.append(cell)
    ws.append(cells)
    count = 0
    for row in rows:
        count += 1
        if count > XLSX_MAX_ROWS:
            raise ValidationFailed(f"An Excel sheet holds at most {XLSX_MAX_ROWS:,} records; filter the list, "
                                   "or export it as CSV", [{"field": "format", "message": "too many rows for Excel"}])
        ws.append([_xlsx_cell(ws, v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), count


def _disposition(name: str, ascii_name: str) -> str:
    """`attachment` with the file's name; a non-ASCII name also goes in filename* (RFC 5987)."""
    if name == ascii_name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _file_names(page: Page, fmt: str) -> tuple[str, str]:
    """("<form name>-<YYYYMMDD-HHMM>.<fmt>" in the reader's language, the same in ASCII letters)."""
    stamp = to_local(now_utc(), app_timezone(page.runtime)).strftime("%Y%m%d-%H%M")
    stem = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", page.form_name).strip() or page.form.key
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode().strip()
    if not re.search(r"[A-Za-z0-9]", ascii_stem):
        ascii_stem = page.form.key  # nothing readable is left of a Chinese name: the form's key
    return f"{stem}-{stamp}.{fmt}", f"{ascii_stem}-{stamp}.{fmt}"


def _audit(page: Page, fmt: str, condition, sort: str | None, rows: int | None) -> None:
    """The export's audit line, committed now: a streamed file is sent after the request's work."""
    after = {"format": fmt, "filter": condition, "sort": sort}
    detail = f"{fmt.upper()}, {'filtered' if condition else 'all records'}"
    if rows is not None:
        after["rows"] = rows
        detail += f", {rows} records"
    with write_transaction():
        audit.record("export", page.actor, app_id=page.runtime.app_id, object_type="form", object_id=page.form.key,
                     label=page.runtime.form(page.form.key).name, after=after, detail=detail)


# -- the pages -----------------------------------------------------------------------------
@bp.route("/a/<app_key>/f/<form_key>/export")
@login_required
def record_export(app_key, form_key):
    """The list's records (its search, filters and sort) as a CSV or Excel file."""
    page = load(app_key, form_key)
    page.access.require("export")
    fmt = request.args.get("format", "csv")
    if fmt not in FORMATS:
        raise ValidationFailed(f'Cannot export as "{fmt[:20]}": choose csv or xlsx',
                               [{"field": "format", "message": "must be csv or xlsx"}])
    search = request.args.get("q", "")[:200]
    condition = listing.condition(page.form, search, listing.filter_fields(page.form, request.args, page.locale))
    sort = request.args.get("sort") or None
    batches = _batches(page, condition, sort)
    first = next(batches)  # a bad sort or filter fails here, as an error page, not inside the file
    keys = _columns(page.form)
    header = _headers(page, keys)
    rows = _rows(page, keys, itertools.chain([first], batches))
    headers = {"Content-Disposition": _disposition(*_file_names(page, fmt)), "Cache-Control": "no-store"}
    if fmt == "xlsx":
        body, count = _xlsx(page.form_name, header, rows)
        _audit(page, fmt, condition, sort, count)
        return Response(body, mimetype=FORMATS[fmt], headers=headers)
    _audit(page, fmt, condition, sort, None)
    return Response(stream_with_context(_csv_stream(header, rows)), content_type=FORMATS[fmt], headers=headers)


@bp.app_template_global("export_url")
def export_url(page: Page, fmt: str, sort: str | None) -> str:
    """The export of what the list shows now: its search, filters and sort (not its page)."""
    args = {k: v for k, v in request.args.items() if v and (k == "q" or k.startswith(listing.FILTER))}
    if sort:
        args["sort"] = sort
    return page.url("web.record_export", format=fmt, **args)


def _require_print(page: Page, record_id: int) -> None:
    """PermissionDenied unless a grant lets the actor print this record (grants print their rows)."""
    fa = page.access
    fa.require("print")
    if fa.admin or any(g.allows("print") and g.rows is None for g in fa.grants):
        return
    t = page.runtime.form_tables(page.form.key).table
    if db.session.execute(sa.select(t.c.id).where(t.c.id == record_id, fa.scope(t, "print"))).first() is None:
        raise PermissionDenied(access.DENIED["print"].format(form=fa.form.name))


@bp.route(RECORD + "/print")
@login_required
def record_print(app_key, form_key, record_id):
    """One record on a clean page for paper: its fields, its subforms, who made and changed it."""
    page = load(app_key, form_key)
    record = service.get(page.actor, page.runtime, form_key, record_id)  # NotFound first: no hint it exists
    _require_print(page, record_id)
    page.form = record_form(page, record)
    display = Display(page)
    display.want(page.form, [record["fields"]])
    display.want_users([record["created_by"], record["updated_by"], record["owner"]])
    display.load()
    return render_template("web/print.html", page=page, record=record, title=display.title(page.form, record),
                           fields=detail_fields(page, record, display), display=display,
                           printed_at=display.local_time(now_utc()), printed_by=page.actor.name)
