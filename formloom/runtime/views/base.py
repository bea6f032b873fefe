"""The `ViewType` base class and the compiled `View`: what every kind of view knows.

A view is a saved way to read one form's records (DESIGN.md section 9): its filter (the
condition language), its sort, its columns, a grouping and totals, plus settings of its
kind (`options`). Each kind validates its own settings with a JSON Schema (`config_schema`)
and says, in `check`, what the schema cannot: which fields it may group or place records by.
Only the field types' capabilities are asked, never a type's name.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from formloom.platform.i18n import localized
from formloom.runtime import conditions
from formloom.runtime.fields import type_of
from formloom.runtime.registry import Instance

# The `options` that name fields (of any kind).
FIELD_OPTIONS = ("card_fields", "start", "end", "cover")
BUCKETS = ("day", "week", "month", "quarter", "year")
AGGREGATES = ("sum", "avg", "min", "max", "count", "empty")
# System values a view may show, sort and (the user ones) group by.
SYSTEM_VALUES = ("$id", "$created_at", "$updated_at", "$created_by", "$owner", "$flow_status")
SYSTEM_KINDS = {"$id": "ref", "$created_at": "datetime", "$updated_at": "datetime",
                "$created_by": "user", "$owner": "user", "$flow_status": "text"}

KEY = {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,29}$",
       "x-message": "is not a valid key: use lower-case ASCII letters, digits and _, starting with a letter, at most 30 characters"}
FIELD_NAME = {"type": "string", "pattern": r"^\$?[a-z][a-z0-9_]{0,29}$",
              "x-message": "is not a field key or a $ system value"}
FIELD_LIST = {"type": "array", "uniqueItems": True, "maxItems": 100, "items": FIELD_NAME}
GROUP_BY = {"anyOf": [FIELD_NAME, {
    "type": "object", "required": ["field"], "additionalProperties": False,
    "properties": {"field": FIELD_NAME, "bucket": {"enum": list(BUCKETS)}}}],
    "x-message": 'must be a field key or {"field": key, "bucket": "day"|"week"|"month"|"quarter"|"year"}'}

# The settings every kind shares.
COMMON = {
    "key": KEY,
    "type": {"type": "string"},
    "form": KEY,
    "name": {"type": "string", "maxLength": 200},
    "name_en": {"type": "string", "maxLength": 200},
    "description": {"type": "string", "maxLength": 2000},
    "default": {"type": "boolean", "description": "the form opens on this view (one per form)"},
    "filter": {"type": "object"},
    "sort": {"anyOf": [{"type": "string", "maxLength": 1000},
                       {"type": "array", "maxItems": 10, "items": {"type": "string", "pattern": r"^[-+]?\$?[a-z][a-z0-9_]{0,29}$"}}],
             "x-message": 'must be a list like ["-amount", "title"] (or the text "-amount,title")'},
    "columns": FIELD_LIST,
    "totals": {"type": "object", "maxProperties": 50,
               "propertyNames": FIELD_NAME,
               "additionalProperties": {"enum": list(AGGREGATES)}},
}


def schema(required: tuple[str, ...] = (), options: dict | None = None, **extra: dict) -> dict:
    """A kind's whole JSON Schema: the common settings, its own, and its `options`."""
    props = {**COMMON, **extra}
    if options is not None:
        props["options"] = {"type": "object", "additionalProperties": False, "properties": options}
    return {"type": "object", "required": ["key", "form", *required], "additionalProperties": False,
            "properties": props}


@dataclass(frozen=True)
class Grouping:
    """What a view groups by: a field (or user system value), and a date bucket for dates."""

    field: str
    bucket: str | None = None


@dataclass
class View:
    """One compiled view."""

    key: str
    type: str
    form: str
    raw: dict
    filter: Any = None
    sort: list[str] = dc_field(default_factory=list)
    columns: list[str] = dc_field(default_factory=list)
    group_by: Grouping | None = None
    totals: dict[str, str] = dc_field(default_factory=dict)
    options: dict = dc_field(default_factory=dict)

    @property
    def sort_text(self) -> str | None:
        return ",".join(self.sort) or None

    def label(self, locale: str | None = None) -> str:
        return localized(self.raw, "name", locale, self.key)

    def placed_by(self) -> set[str]:
        """Fields the view reads records by ranges of (a calendar's dates): storage indexes them."""
        keys = {self.options[o] for o in ("start", "end") if isinstance(self.options.get(o), str)}
        return {k for k in keys if not k.startswith("$")}

    def fields_named(self) -> set[str]:
        """Every field or system value the view names anywhere."""
        named = set(self.columns) | set(self.options.get("widths") or {}) | {s.lstrip("-+") for s in self.sort} | set(self.totals)
        if self.group_by:
            named.add(self.group_by.field)
        named |= conditions.fields_used(self.filter) if self.filter else set()
        for name in FIELD_OPTIONS:
            value = self.options.get(name)
            if isinstance(value, str):
                named.add(value)
            elif isinstance(value, list):
                named |= {v for v in value if isinstance(v, str)}
        return named


def sort_list(sort) -> list[str]:
    """The `sort` setting as a list, whether written as a list or as "-amount,title"."""
    if isinstance(sort, str):
        return [p.strip() for p in sort.split(",") if p.strip()]
    return list(sort or [])


def grouping(raw) -> Grouping | None:
    if isinstance(raw, str):
        return Grouping(raw)
    if isinstance(raw, dict):
        return Grouping(raw["field"], raw.get("bucket"))
    return None


# -- what a field can do in a view (capabilities, never names) ------------------------

def value_kind(form, key: str) -> str | None:
    """The value kind of a field or system value; None when the form has no such thing."""
    if key in SYSTEM_KINDS:
        return SYSTEM_KINDS[key]
    f = form.fields.get(key)
    if f is None:
        return None
    kind = type_of(f).result_kind(f)
    return "user" if type_of(f).refers_to == "user" and kind == "ref" else kind


def single_column(form, key: str) -> bool:
    """A field stored as one value per record (or a system value)."""
    if key in SYSTEM_KINDS:
        return True
    f = form.fields.get(key)
    return f is not None and type_of(f).storage_for(f) == "column" and not type_of(f).holds_files


def groupable(form, key: str) -> str | None:
    """How records can be grouped by this field: "options", "reference", "date", or None."""
    if not single_column(form, key):
        return None
    if key in SYSTEM_KINDS:
        kind = SYSTEM_KINDS[key]
        return "reference" if kind == "user" else "date" if kind == "datetime" else None
    f = form.fields[key]
    ftype = type_of(f)
    if ftype.has_options:
        return "options"
    if ftype.refers_to:
        return "reference"
    if ftype.result_kind(f) in ("date", "datetime"):
        return "date"
    return None


def aggregable(form, key: str, agg: str) -> bool:
    """Whether `agg` applies to this field: sums and averages of numbers, the least and the
    greatest of numbers and dates, counts of any field holding one value."""
    if not single_column(form, key):
        return False
    kind = value_kind(form, key)
    if agg in ("sum", "avg"):
        return kind == "number" and not key.startswith("$")
    if agg in ("min", "max"):
        return kind in ("number", "date", "datetime") and not key.startswith("$")
    return True


class ViewType(Instance):
    """One kind of view. Subclasses set `type` and `config_schema`, and may add checks."""

    config_schema: dict = schema()
    # Settings (in `options`) that name one field whose loss the view cannot survive.
    essential_options: tuple[str, ...] = ()
    group_required = False  # the kind is its grouping (kanban)

    def check(self, view: View, form, err: Callable[[str, str], None]) -> None:
        """Errors `config_schema` cannot express, as err(pointer within the view, message)."""

    def check_group(self, view: View, form, err: Callable[[str, str], None]) -> None:
        g = view.group_by
        ptr = "/group_by" if isinstance(view.raw.get("group_by"), str) else "/group_by/field"
        how = groupable(form, g.field)
        if how is None:
            err(ptr, f'cannot group by "{g.field}": group by a select, user, department, link, '
                     'date or date-and-time field holding one value')
            return
        if how == "date" and g.bucket is None:
            err("/group_by", f'"{g.field}" holds dates: say how to group them, e.g. '
                             f'{{"field": "{g.field}", "bucket": "month"}} (day, week, month, quarter or year)')
        if how != "date" and g.bucket is not None:
            err("/group_by/bucket", f'"{g.field}" does not hold dates; a bucket groups dates only')

    def droppable(self, view: dict) -> list[tuple[str, ...]]:
        """Where this kind names fields it can do without: paths of lists and keys of maps."""
        return [("columns",), ("sort",), ("totals",), ("options", "card_fields"), ("options", "widths")]
