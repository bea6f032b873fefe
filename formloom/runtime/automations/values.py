"""The values an action writes, and the text a notification says.

A value is a literal, or one of:

- `{"var": "record.<key>"}`: a field (or `$id`, `$owner`, ...) of the record that triggered
  the automation; `{"var": "target.<key>"}`: of the record being updated;
- `{"formula": "amount * 0.1"}`: a formula over the triggering record (over the target when
  nothing triggered it, as in a schedule);
- `{"today": n}`: the app-zone date n days from today; `{"now": "PT2H"}`: now, shifted.

Templates ("{name}: no contact for 7 days") put a record's fields in braces.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from formloom.runtime import formulas
from formloom.runtime.automations.model import Err
from formloom.runtime.conditions.values import parse_duration
from formloom.runtime.definition import FORMULA_KIND, FormDef
from formloom.runtime.fields import FieldValueError, ValueContext, field_types, type_of
from formloom.runtime.schema.validate import SYSTEM_OPERANDS, escape

SPECIAL = ("var", "formula", "today", "now")
PLACEHOLDER = re.compile(r"\{(\$?[a-z][a-z0-9_]*)\}")
MAX_TODAY = 36_600


def is_special(spec: Any) -> bool:
    return isinstance(spec, dict) and len(spec) == 1 and next(iter(spec)) in SPECIAL


def check_value(spec: Any, ptr: str, target: FormDef, key: str, source: FormDef | None, types, err: Err,
                updating: bool = False) -> None:
    """Report what is wrong with the value `spec` written to field `key` of `target`.

    `types(form)` gives the formula kinds of a form's fields; `updating` allows `target.*`.
    """
    f = target.fields[key]
    if not is_special(spec):
        try:
            field_types.get(f["type"]).to_python(f, spec, ValueContext())
        except FieldValueError as exc:
            err(ptr, f'not a valid value for field "{key}": {exc}')
        return
    kind, arg = next(iter(spec.items()))
    if kind == "var":
        _check_var(arg, ptr + "/var", source, target if updating else None, err)
    elif kind == "formula":
        base = source or (target if updating else None)
        if base is None:
            err(ptr + "/formula", "a formula needs a record to read: this trigger has none")
            return
        if not isinstance(arg, str):
            err(ptr + "/formula", "must be text")
            return
        try:
            kind = formulas.typecheck(formulas.parse(arg), types(base))
        except formulas.FormulaError as exc:
            err(ptr + "/formula", str(exc))
            return
        wanted = FORMULA_KIND.get(field_types.get(f["type"]).result_kind(f), "text")
        if kind != wanted and wanted != "text":
            err(ptr + "/formula", f'gives {kind} values; field "{key}" takes {wanted} values')
    elif kind == "today":
        if isinstance(arg, bool) or not isinstance(arg, int) or abs(arg) > MAX_TODAY:
            err(ptr + "/today", '"today" takes a whole number of days, such as -7 or 3')
    elif parse_duration(arg) is None:
        err(ptr + "/now", '"now" takes an ISO 8601 duration such as "PT2H" or "-P1D"')


def _check_var(name: Any, ptr: str, source: FormDef | None, target: FormDef | None, err: Err) -> None:
    if not isinstance(name, str) or "." not in name:
        err(ptr, 'must be "record.<field>" or "target.<field>"')
        return
    scope, key = name.split(".", 1)
    form = {"record": source, "target": target}.get(scope)
    if scope not in ("record", "target"):
        err(ptr, f'unknown variable "{name}": use "record.<field>" (the triggering record) or '
                 f'"target.<field>" (the record being changed)')
    elif form is None:
        what = "this trigger has no record" if scope == "record" else '"target" exists only in update actions'
        err(ptr, f'"{name}" cannot be used here: {what}')
    elif key not in form.fields and key not in SYSTEM_OPERANDS:
        err(ptr, f'"{key}" is not a field of form "{form.key}"')


def check_set(values: Any, ptr: str, target: FormDef, source: FormDef | None, types, err: Err,
              updating: bool = False) -> None:
    """Check a {field: value} map written to `target`."""
    if not isinstance(values, dict):
        return
    for key, spec in values.items():
        vptr = f"{ptr}/{escape(key)}"
        f = target.fields.get(key)
        if f is None:
            err(vptr, f'"{key}" is not a field of form "{target.key}"')
        elif field_types.get(f["type"]).computed:
            err(vptr, f'"{key}" is a {f["type"]} field: the system fills it')
        elif type_of(f).holds_rows:
            err(vptr, f'"{key}" is a subform: automations cannot write its rows')
        else:
            check_value(spec, vptr, target, key, source, types, err, updating)


def check_template(text: Any, ptr: str, form: FormDef | None, err: Err) -> None:
    if not isinstance(text, str):
        return
    for name in PLACEHOLDER.findall(text):
        if form is None:
            err(ptr, f'"{{{name}}}" names a field, but there is no record here to read it from')
        elif name not in form.fields and name not in SYSTEM_OPERANDS:
            err(ptr, f'"{{{name}}}" is not a field of form "{form.key}"')


# -- at run time -----------------------------------------------------------------------------
def evaluate(spec: Any, run, record: dict | None = None, target: dict | None = None) -> Any:
    """The value of `spec`, as JSON the records service takes. `record` and `target` are flat
    values (`store.flat_values`)."""
    if not is_special(spec):
        return spec
    kind, arg = next(iter(spec.items()))
    if kind == "var":
        scope, key = arg.split(".", 1)
        source = record if scope == "record" else target
        return as_input((source or {}).get(key))
    if kind == "formula":
        base = record if record is not None else target
        return as_input(formulas.evaluate(run.formula(arg), base or {}, today=run.today, now=run.now))
    if kind == "today":
        return (run.today + timedelta(days=arg)).isoformat()
    return as_input(run.now + parse_duration(arg))


def as_input(value: Any) -> Any:
    """A stored value as the records service takes it back."""
    if isinstance(value, datetime):
        return value.isoformat() + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return [as_input(v) for v in value]
    return value


def render(text: str, values: dict, show) -> str:
    """`text` with each `{key}` replaced by `show(key, value)`."""
    return PLACEHOLDER.sub(lambda m: show(m.group(1), values.get(m.group(1))), text or "")
