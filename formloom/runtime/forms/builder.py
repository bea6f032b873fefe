"""WTForms classes built from a form definition, by subclassing inside a function.

Each field type's widget supplies its unbound WTForms field (`FieldWidget.form_field`); a subform
becomes a `FieldList` of `FormField` rows, so its inputs are named `<subform>-<n>-<field>`.
Fields live on the class as `f_<key>` (so a field called `data` or `meta` cannot shadow the
form's own attributes) while the HTML name stays the plain key.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import FieldList, FormField
from wtforms import Form as PlainForm

from formloom.runtime.definition import FormDef
from formloom.runtime.fields import field_types, type_of
from formloom.runtime.web.fields import widget_for

PREFIX = "f_"


def attr(key: str) -> str:
    """The Python attribute that holds field `key` on a built form."""
    return PREFIX + key


def entry_fields(form: FormDef) -> list[str]:
    """Keys a person fills in: not computed by the system, not hidden, not read-only."""
    keys = []
    for key, f in form.fields.items():
        if f.get("hidden") or f.get("readonly") or field_types.get(f["type"]).computed:
            continue
        keys.append(key)
    return keys


def rule_required(form: FormDef) -> set[str]:
    """Fields some show/require rule can make required."""
    return {k for r in form.rules for k in r.get("require", [])}


def _unbound(form: FormDef, key: str, locale: str, choices: dict, row_class=None):
    f = form.fields[key]
    if type_of(f).holds_rows:
        unbound = FieldList(FormField(row_class), label=form.label(key, locale), min_entries=0)
    else:
        ctx = {"label": form.label(key, locale), "locale": locale, "choices": choices}
        unbound = widget_for(f["type"]).unbound_field(f, ctx)
    unbound.name = key
    return unbound


def build_form_class(form: FormDef, locale: str, choices: dict | None = None) -> type[FlaskForm]:
    """A FlaskForm subclass (CSRF included) with one field per entry field of `form`.

    `row_classes` on the class maps each subform to its row form, for the page's empty row.
    """

    class RecordForm(FlaskForm):
        pass

    rows = {}
    for key in entry_fields(form):
        if type_of(form.fields[key]).holds_rows:
            rows[key] = build_row_class(form.children[key], locale, choices)
        setattr(RecordForm, attr(key), _unbound(form, key, locale, choices or {}, rows.get(key)))
    RecordForm.row_classes = rows  # not a field: FormMeta only collects `_formfield` attributes
    return RecordForm


def build_row_class(child: FormDef, locale: str, choices: dict | None = None) -> type[PlainForm]:
    """A plain Form (no CSRF of its own) for one row of a subform."""

    class RowForm(PlainForm):
        pass

    for key in entry_fields(child):
        setattr(RowForm, attr(key), _unbound(child, key, locale, choices or {}))
    return RowForm


def mark_required(wt, form: FormDef) -> None:
    """Flag required fields so labels get their asterisk (the server checks, not the browser)."""
    required = {k for k, f in form.fields.items() if f.get("required")} | rule_required(form)
    for key in entry_fields(form):
        field = wt._fields[attr(key)]
        if key in required:
            field.flags.required = True
        if type_of(form.fields[key]).holds_rows:
            for entry in field.entries:
                mark_required(entry.form, form.children[key])

