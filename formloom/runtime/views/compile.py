"""Validate and compile a definition's `views`, with JSON-pointer errors."""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from jsonschema import Draft202012Validator

from formloom.runtime import conditions
from formloom.runtime.schema.validate import escape, operand_resolver, schema_errors
from formloom.runtime.views import DEFAULT_TYPE, view_types
from formloom.runtime.views.base import (
    FIELD_OPTIONS,
    SYSTEM_VALUES,
    View,
    aggregable,
    grouping,
    single_column,
    sort_list,
)


@lru_cache(maxsize=16)
def config_validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(view_types.get(kind).config_schema)


def compile_views(raw_views, forms: dict, err: Callable[[str, str], None]) -> dict[str, View]:
    """The valid views by key; every problem reported through `err(pointer, message)`."""
    views: dict[str, View] = {}
    seen: set[str] = set()
    defaults: dict[str, str] = {}  # form -> the view it opens on
    for i, raw in enumerate(raw_views if isinstance(raw_views, list) else []):
        ptr = f"/views/{i}"
        if not isinstance(raw, dict) or not isinstance(raw.get("key"), str):
            continue  # the meta-schema has said what is wrong with it
        errors: list[tuple[str, str]] = []
        view = _compile(raw, forms, errors)
        if raw["key"] in seen:
            errors.append(("/key", f'view key "{raw["key"]}" is used twice'))
        seen.add(raw["key"])
        if raw.get("default") is True and view is not None:
            if view.form in defaults:
                errors.append(("/default", f'form "{view.form}" opens on view "{defaults[view.form]}" already: '
                                           'one default view per form'))
            defaults.setdefault(view.form, view.key)
        for p, m in errors:
            err(ptr + p, m)
        if view is not None and not errors:
            views[view.key] = view
    return views


def _compile(raw: dict, forms: dict, errors: list[tuple[str, str]]) -> View | None:
    def err(pointer: str, message: str) -> None:
        errors.append((pointer, message))

    kind = raw.get("type", DEFAULT_TYPE)
    if not isinstance(kind, str) or kind not in view_types:
        err("/type", f'unknown view type "{kind}"; known types: {", ".join(view_types.types())}')
        return None
    problems = schema_errors(config_validator(kind), raw)
    for e in problems:
        err(e["pointer"], e["message"])
    if problems:
        return None
    form = forms.get(raw["form"])
    if form is None or form.parent:
        err("/form", f'"{raw["form"]}" is not a form of this app')
        return None
    view = View(key=raw["key"], type=kind, form=raw["form"], raw=raw, filter=raw.get("filter"),
                sort=sort_list(raw.get("sort")), columns=list(raw.get("columns") or []),
                group_by=grouping(raw.get("group_by")), totals=dict(raw.get("totals") or {}),
                options=dict(raw.get("options") or {}))
    found: list[tuple[str, str]] = []
    _check_names(view, form, lambda p, m: found.append((p, m)))
    if view.filter:
        for pointer, message in conditions.validate(view.filter, operand_resolver(form)):
            found.append(("/filter" + pointer, message))
    if not found:  # the kind's checks read fields that exist
        view_types.get(kind).check(view, form, lambda p, m: found.append((p, m)))
    for p, m in found:
        err(p, m)
    return view


def _check_names(view: View, form, err) -> None:
    def known(key: str) -> bool:
        return key in form.fields or key in SYSTEM_VALUES

    def missing(where: str, key: str) -> None:
        err(where, f'"{key}" is not a field of form "{form.key}"')

    for j, key in enumerate(view.columns):
        if not known(key):
            missing(f"/columns/{j}", key)
    sort_ptr = "/sort" if isinstance(view.raw.get("sort"), str) else None
    for j, part in enumerate(view.sort):
        key = part.lstrip("-+")
        where = sort_ptr or f"/sort/{j}"
        if not known(key):
            missing(where, key)
        elif not single_column(form, key):
            err(where, f'cannot sort by "{key}": it holds several values')
    for key, agg in view.totals.items():
        where = f"/totals/{escape(key)}"
        if not known(key):
            missing(where, key)
        elif not aggregable(form, key, agg):
            err(where, f'cannot take the {agg} of "{key}": sum and avg take number fields, min and max '
                       'number and date fields, count and empty any field holding one value')
    if view.group_by:
        where = "/group_by" if isinstance(view.raw.get("group_by"), str) else "/group_by/field"
        if not known(view.group_by.field):
            missing(where, view.group_by.field)
    for name in FIELD_OPTIONS:
        value = view.options.get(name)
        names = value if isinstance(value, list) else [value] if isinstance(value, str) else []
        for j, key in enumerate(names):
            if not known(key):
                missing(f"/options/{name}" + (f"/{j}" if isinstance(value, list) else ""), key)
    for key in (view.options.get("widths") or {}):
        if not known(key):
            missing(f"/options/widths/{escape(key)}", key)
