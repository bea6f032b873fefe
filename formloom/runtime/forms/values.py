"""Between a record's values and a built form: initial data in, submitted values out.

Submitted values go to the records service in the shape the API takes, so pages, the API
and imports share one validation path (`records.values.convert`). Each field type's
`from_form` hook reads the WTForms data; its result is turned back into JSON with `to_json`
(which keeps a date-time in UTC, not re-read as local time). A value the hook refuses is
passed on as typed, so the service reports it together with every other error.
"""
from __future__ import annotations

from typing import Any

from formloom.runtime.definition import FormDef
from formloom.runtime.fields import FieldValueError, ValueContext, field_types, type_of
from formloom.runtime.forms.builder import attr, entry_fields
from formloom.runtime.records.values import with_defaults
from formloom.runtime.web.fields import widget_for


def form_value(f: dict, value: Any, tz: str) -> Any:
    """A canonical value as its WTForms field's data (date-times in the app's time zone)."""
    ftype = field_types.get(f["type"])
    if ftype.zoned:
        return ftype.to_form(f, value, tz)
    return ftype.to_form(f, value)


def initial_data(form: FormDef, values: dict, tz: str) -> dict:
    """WTForms `data` for a form showing `values` (subform rows included)."""
    data = {}
    for key in entry_fields(form):
        f = form.fields[key]
        if type_of(f).holds_rows:
            child = form.children[key]
            data[attr(key)] = [initial_data(child, row, tz) for row in values.get(key) or []]
        elif not type_of(f).holds_files:
            data[attr(key)] = form_value(f, values.get(key), tz)
    return data


def default_values(form: FormDef, ctx: ValueContext, user_id: int | None) -> dict:
    """A new record's values before anyone types: defaults, `$me` as the user."""
    values = with_defaults(form, {}, ctx, user_id)
    for key, child in form.children.items():
        rows = max(int(form.fields[key].get("min_rows") or 0), 1)
        values[key] = [default_row(child, ctx) for _ in range(rows)]
    return values


def default_row(child: FormDef, ctx: ValueContext) -> dict:
    return with_defaults(child, {}, ctx)


def api_value(f: dict, raw: Any, ctx: ValueContext) -> Any:
    ftype = field_types.get(f["type"])
    try:
        return ftype.to_json(f, ftype.from_form(f, raw, ctx))
    except FieldValueError:
        return raw


def sent_value(f: dict, field, ctx: ValueContext) -> Any:
    """What a WTForms field was sent, for the service: its parsed data, or, when WTForms could
    not parse it (a date "2026-02-31"), the text as typed, so the service refuses it in its
    own words together with every other field's error."""
    if field.process_errors:
        raw = [r for r in (field.raw_data or []) if r != ""]
        return (raw[0] if len(raw) == 1 else raw) if raw else None
    return api_value(f, field.data, ctx)


def _blank(value: Any) -> bool:
    return value in (None, "", [], False)


def _is_untouched(child: FormDef, row: dict, ctx: ValueContext) -> bool:
    """A row nobody typed in: every value still its default (an added row left empty)."""
    defaults = default_row(child, ctx)
    for key, value in row.items():
        default = api_value(child.fields[key], defaults.get(key), ctx)
        if value != default and not (_blank(value) and _blank(default)):
            return False
    return True


def submitted(form: FormDef, wt, ctx: ValueContext, current: dict | None = None
              ) -> tuple[dict, dict[str, list[int]]]:
    """The values typed into `wt` for the service, and per subform the entry of each row sent.

    Rows left untouched are dropped, so the service's row numbers map back through the
    second result. File fields are left to `uploads.collect`.
    """
    data: dict = {}
    rows_sent: dict[str, list[int]] = {}
    for key in entry_fields(form):
        f = form.fields[key]
        field = wt._fields[attr(key)]
        if type_of(f).holds_files:
            continue
        if not type_of(f).holds_rows:
            data[key] = sent_value(f, field, ctx)
            if widget_for(f["type"]).checkbox and data[key] is False and current is not None and current.get(key) is None:
                # A checkbox cannot say "not answered": left unticked, a blank stays blank.
                del data[key]
            continue
        child = form.children[key]
        rows, sent = [], []
        for index, entry in enumerate(field.entries):
            row = {k: sent_value(child.fields[k], entry.form._fields[attr(k)], ctx)
                   for k in entry_fields(child)}
            if not _is_untouched(child, row, ctx):
                rows.append(row)
                sent.append(index)
        data[key] = rows
        rows_sent[key] = sent
    return data, rows_sent


def typed_values(form: FormDef, data: dict, ctx: ValueContext) -> dict:
    """Best-effort canonical values of submitted data, for showing rules before saving."""
    out = {}
    for key, value in data.items():
        f = form.fields[key]
        if type_of(f).holds_rows:
            continue
        try:
            out[key] = field_types.get(f["type"]).to_python(f, value, ctx)
        except (FieldValueError, TypeError, ValueError):
            out[key] = None
    return out
