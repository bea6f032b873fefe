"""Data linkage on save: fields filled from another form's first record (by id) that the
field's condition picks, so API writes get what the form page fills live.

`overwrite: false`: the field always holds the linked value. `overwrite: true`: it is filled
when empty, and, changing a record, when a field the condition reads changed and the same
write did not set the field itself. Subform rows have no identity across writes, so there
an `overwrite: true` column is filled only when empty.

The source record is read with the system's scope, as lookups read theirs: what a price
list says is reference data, even for someone who may not open the price list.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace

import sqlalchemy as sa

from formloom.platform.extensions import db
from formloom.runtime import conditions
from formloom.runtime.fields import FieldValueError, ValueContext, field_types
from formloom.runtime.records.context import condition_env, value_context
from formloom.runtime.records.query import sql_resolver
from formloom.runtime.schema.linkage import RECORD_ID
from formloom.runtime.schema.validate import operand_resolver

CACHE = "linkage"


@dataclass(frozen=True)
class Linkage:
    key: str  # the field filled
    subform: str | None  # the subform whose rows hold it, or None for a top-level field
    form: str  # the form read
    field: str  # its field copied
    where: dict
    overwrite: bool
    reads: tuple[str, ...]  # fields of this form (or row) the condition reads

    @property
    def name(self) -> str:
        return f"{self.subform}.{self.key}" if self.subform else self.key


def linkages(runtime, form_key: str) -> list[Linkage]:
    """The form's linked fields, top-level ones first (worked out once per compiled version)."""
    cached = runtime.__dict__.setdefault("_linkages", {})
    if form_key not in cached:
        form = runtime.form(form_key)
        out = [_linkage(key, None, f) for key, f in form.fields.items() if "linkage" in f]
        for sub, child in form.children.items():
            out += [_linkage(key, sub, f) for key, f in child.fields.items() if "linkage" in f]
        cached[form_key] = out
    return cached[form_key]


def _linkage(key: str, subform: str | None, f: dict) -> Linkage:
    spec = f["linkage"]
    return Linkage(key, subform, spec["form"], spec["field"], spec["where"], bool(spec.get("overwrite")),
                   tuple(sorted(k for k in conditions.record_fields_used(spec["where"]) if not k.startswith("$"))))


def fill(actor, runtime, form, values: dict, changes: dict, current: dict | None, ctx: ValueContext,
         errors: list[dict]) -> None:
    """Set the linked fields of `values` (a create when `current` is None), noting errors."""
    for link in linkages(runtime, form.key):
        if link.subform is None:
            if _due(link, form, values, changes, current):
                _set(actor, runtime, form, link, values, ctx, errors, {"field": link.key})
            continue
        child = form.children[link.subform]
        for i, row in enumerate(values.get(link.subform) or []):
            if not link.overwrite or _empty(child, link.key, row.get(link.key)):
                _set(actor, runtime, child, link, row, ctx, errors,
                     {"field": link.subform, "row": i, "column": link.key})


def _due(link: Linkage, form, values: dict, changes: dict, current: dict | None) -> bool:
    if not link.overwrite or _empty(form, link.key, values.get(link.key)):
        return True
    if current is None:
        return False
    moved = any(k in changes and changes[k] != current.get(k) for k in link.reads)
    typed = link.key in changes and changes[link.key] != current.get(link.key)
    return moved and not typed


def _empty(form, key: str, value) -> bool:
    return form.types_by_key[key].is_empty(value)


def _set(actor, runtime, form, link: Linkage, values: dict, ctx: ValueContext, errors: list[dict],
         where: dict) -> None:
    try:
        values[link.key] = value(actor, runtime, form, link, values, ctx)
    except FieldValueError as exc:
        errors.append({**where, "message": f'the linked value from "{link.form}" {exc}'})


def value(actor, runtime, form, link: Linkage, values: dict, ctx: ValueContext):
    """The linked value for a record (or row) with these `values`, as this field holds it.

    One query per distinct set of read values in a transaction (`ctx` remembers the answers).
    Raises FieldValueError when this field cannot take the value found.
    """
    reads = json.dumps([values.get(k) for k in link.reads], default=str)
    cache = ctx.extra.setdefault(CACHE, {})
    slot = (link.name, form.key, reads)
    if slot not in cache:
        cache[slot] = _lookup(actor, runtime, form, link, values, ctx)
    found = cache[slot]
    f = form.fields[link.key]
    ftype = field_types.get(f["type"])
    return ftype.empty(f) if found is None else ftype.to_python(f, found, ctx)


def _lookup(actor, runtime, form, link: Linkage, values: dict, ctx: ValueContext):
    """The source field of the first matching record, as JSON (None: no record matches)."""
    ft = runtime.form_tables(link.form)
    env = replace(condition_env(actor, runtime, ctx=ctx), record=values)
    match = conditions.to_sql(link.where, sql_resolver(runtime, link.form), env,
                              record_resolver=operand_resolver(form))
    column = ft.table.c.id if link.field == RECORD_ID else ft.columns[link.field]
    stmt = (sa.select(column).where(match, ft.table.c.deleted_at.is_(None))
            .order_by(ft.table.c.id).limit(1))
    row = db.session.execute(stmt).first()
    if row is None:
        return None
    if link.field == RECORD_ID:  # the matching record itself, for a link field
        return row[0]
    src = runtime.form(link.form).fields[link.field]
    src_type = field_types.get(src["type"])
    return src_type.to_json(src, src_type.from_db(src, row[0]))


def live(actor, runtime, form_key: str, link: Linkage, sent: dict[str, list[str]]):
    """The linked value, as JSON, for the values a form page has now (`sent`: input name ->
    the strings its inputs hold). A value that does not convert counts as empty, as typing
    has not finished."""
    form = runtime.form(form_key)
    target = form.children[link.subform] if link.subform else form
    ctx = value_context(actor, runtime)
    light = replace(ctx, record_exists=None, user_exists=None, department_exists=None, file_lookup=None)
    values = {}
    for key in link.reads:
        f = target.fields.get(key)
        if f is None:
            continue
        raw = sent.get(key) or []
        ftype = field_types.get(f["type"])
        try:
            values[key] = ftype.to_python(f, raw if f.get("multiple") else (raw[0] if raw else None), light)
        except FieldValueError:
            values[key] = ftype.empty(f)
    found = value(actor, runtime, target, link, values, ctx)
    f = target.fields[link.key]
    return field_types.get(f["type"]).to_json(f, found)
