"""Turning submitted values into a record's values: conversion, defaults, formulas, rules.

One validation path for the API, the pages, imports and automations: errors come back as
`{field, message}` (plus `row` and `column` inside a subform), all at once.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from formloom.platform.inputs import text_problem
from formloom.runtime import conditions, formulas
from formloom.runtime.definition import FormDef
from formloom.runtime.exceptions import ValidationFailed
from formloom.runtime.fields import FieldValueError, ValueContext, field_types, type_of
from formloom.runtime.schema.validate import operand_resolver


def convert(form: FormDef, data: dict, ctx: ValueContext, current: dict | None, errors: list[dict],
            prefix: dict | None = None) -> dict:
    """Convert the submitted `data` of `form` to canonical values, collecting errors."""
    out: dict = {}
    if not isinstance(data, dict):
        errors.append({**(prefix or {}), "field": None, "message": "fields must be an object"})
        return out
    for key, value in data.items():
        where = {**(prefix or {}), "field": key} if not prefix else {**prefix, "column": key}
        f = form.fields.get(key)
        if f is None:
            errors.append({**where, "message": f'"{key}" is not a field of this form'})
            continue
        ftype = field_types.get(f["type"])
        if ftype.computed:
            # Clients often send back what they read; an unchanged computed value is fine.
            if current is not None and _same(ftype.to_json(f, current.get(key)), value):
                continue
            if value is None and current is None:
                continue
            errors.append({**where, "message": "is computed by the system and cannot be set"})
            continue
        try:
            converted = ftype.to_python(f, value, _keeping(ctx, f, current.get(key)) if current else ctx)
        except FieldValueError as exc:
            errors.append({**where, "message": str(exc)})
            continue
        if type_of(f).holds_rows:
            converted = _convert_rows(form.children[key], key, converted, ctx, errors)
        out[key] = converted
    return out


def _keeping(ctx: ValueContext, f: dict, stored: Any) -> ValueContext:
    """For a link: the ids it holds already stay valid (a linked record may be in the recycle
    bin now, or out of the writer's sight); only new ids are checked."""
    if type_of(f).refers_to != "record" or ctx.record_exists is None or stored in (None, []):
        return ctx
    kept = set(stored if isinstance(stored, list) else [stored])
    check = ctx.record_exists

    def exists(form_key: str, ids: list[int]) -> set[int]:
        return (set(ids) & kept) | set(check(form_key, [i for i in ids if i not in kept]))

    return dataclasses.replace(ctx, record_exists=exists)


def _same(a: Any, b: Any) -> bool:
    return a == b or (isinstance(a, (int, float)) and isinstance(b, (int, float)) and float(a) == float(b))


def _convert_rows(child: FormDef, key: str, rows: list, ctx: ValueContext, errors: list[dict]) -> list[dict]:
    result = []
    for i, row in enumerate(rows):
        data = {k: v for k, v in row.items() if k not in ("_id", "id")}
        values = convert(child, data, ctx, None, errors, prefix={"field": key, "row": i})
        result.append(with_defaults(child, values, ctx, ctx.extra.get("actor_id")))
    return result


def with_defaults(form: FormDef, values: dict, ctx: ValueContext, actor_id: int | None = None) -> dict:
    """`values` completed with each missing field's default (or empty value)."""
    out = dict(values)
    for key, f in form.fields.items():
        if key in out:
            continue
        ftype = field_types.get(f["type"])
        default = f.get("default")
        if default == "$me":
            out[key] = ([actor_id] if f.get("multiple") else actor_id) if actor_id else ftype.empty(f)
        elif ftype.computed or "default" not in f:
            out[key] = ftype.empty(f)
        else:
            out[key] = ftype.default(f, ctx)
    return out


class FormulaFailed(ValidationFailed):
    """A formula exceeded its limits on these values, or made text no database stores.

    `errors` name the formula field (with `row` and `column` inside a subform)."""

    code = "formula_failed"


def compute_formulas(form: FormDef, values: dict, ctx: ValueContext, system: dict | None = None,
                     prefix: dict | None = None) -> None:
    """Evaluate the form's formulas in dependency order, rows first, into `values`.
    Raises FormulaFailed."""
    for key, child in form.children.items():
        for i, row in enumerate(values.get(key) or []):
            compute_formulas(child, row, ctx, prefix={"field": key, "row": i})
    if not form.formulas:
        return
    env = {**(system or {}), **values}
    for key in form.file_fields:  # formulas read files as their names (text)
        f = form.fields[key]
        env[key] = field_types.get(f["type"]).format(f, values.get(key)) or None
    for key, parsed in form.formulas:
        f = form.fields[key]
        try:
            result = formulas.evaluate(parsed, env, today=ctx.today, now=ctx.now)
        except formulas.FormulaLimitError as exc:
            raise _failed(key, prefix, f"its formula exceeds its limits on these values: {exc}") from None
        result = field_types.get("formula").coerce_result(f, result)
        if isinstance(result, str) and (why := text_problem(result)):
            raise _failed(key, prefix, f"its formula's result {why}")
        values[key] = env[key] = result


def _failed(key: str, prefix: dict | None, message: str) -> FormulaFailed:
    where = {**prefix, "column": key} if prefix else {"field": key}
    return FormulaFailed(f'Formula "{key}": {message}', [{**where, "message": message}])


def rule_predicates(form: FormDef, env: conditions.Env) -> list[tuple[dict, object]]:
    """The form's rules with their conditions compiled once, for checking many records."""
    resolver = operand_resolver(form)
    return [(rule, conditions.to_python(rule["when"], resolver, env)) for rule in form.rules]


def rule_state(form: FormDef, values: dict, env: conditions.Env,
               predicates: list | None = None) -> tuple[set[str], set[str]]:
    """(hidden, required) field keys under the form's show/require rules for `values`."""
    hidden = set(form.rule_shown)
    required = {k for k, f in form.fields.items() if f.get("required")}
    for rule, holds in predicates if predicates is not None else rule_predicates(form, env):
        if holds(values):
            hidden -= set(rule.get("show", []))
            hidden -= set(rule.get("require", []))
            required |= set(rule.get("require", []))
    return hidden, required - hidden


def check_required(form: FormDef, values: dict, required: set[str], errors: list[dict],
                   prefix: dict | None = None) -> None:
    for key in sorted(required, key=list(form.fields).index):
        f = form.fields[key]
        if field_types.get(f["type"]).computed:
            continue
        if field_types.get(f["type"]).is_empty(values.get(key)):
            where = {**prefix, "column": key} if prefix else {"field": key}
            errors.append({**where, "message": "is required"})
    for key, child in form.children.items():
        child_required = {k for k, f in child.fields.items() if f.get("required")}
        for i, row in enumerate(values.get(key) or []):
            check_required(child, row, child_required, errors, prefix={"field": key, "row": i})
        f = form.fields[key]
        if f.get("min_rows") and len(values.get(key) or []) < f["min_rows"]:
            errors.append({"field": key, "message": f"needs at least {f['min_rows']} rows"})
