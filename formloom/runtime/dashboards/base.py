"""The `WidgetType` base class and the compiled dashboard: what every kind of widget knows.

A dashboard (DESIGN.md section 9) is a grid of widgets over the app's forms, with filters
that apply to every widget whose form has the filtered field. A widget reads one `source`:
a form, a `where` condition, `dimensions` (what to group by) and `measures` (what to
compute per group), a `sort` and a `limit` (the rest grouped as "others"). Each kind of
widget validates its own settings with a JSON Schema (`config_schema`) and says in `check`
what it needs of the source (a KPI has no dimension, a pivot has two or more).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from formloom.platform.i18n import localized
from formloom.runtime.registry import Instance
from formloom.runtime.views.base import BUCKETS, KEY

AGGS = ("count", "sum", "avg", "min", "max", "distinct")
FILTER_KINDS = ("date_range", "user", "department", "select")
# What a user or department filter, or a dimension of people, holds: ids that have names.
NAMED = FILTER_KINDS[1:3]
PERIODS = ("today", "yesterday", "this_week", "last_week", "this_month", "last_month", "this_quarter",
           "last_quarter", "this_year", "last_year", "last_7_days", "last_30_days", "last_90_days",
           "last_12_months", "all")
OTHERS = "$others"  # the value of the group that holds what a limit leaves out
MAX_LIMIT = 1000

# A dimension names a field, a $ system value, or a field of a linked record ("company.tier").
PATH = {"type": "string", "pattern": r"^(\$?[a-z][a-z0-9_]{0,29}|[a-z][a-z0-9_]{0,29}\.\$?[a-z][a-z0-9_]{0,29})$",
        "x-message": 'is not a field key, a $ system value or "link.field"'}
LABELS = {"label": {"type": "string", "maxLength": 200}, "label_en": {"type": "string", "maxLength": 200}}
DIMENSION = {"type": "object", "required": ["field"], "additionalProperties": False,
             "properties": {"field": PATH, "bucket": {"enum": list(BUCKETS)}, **LABELS}}
MEASURE = {"type": "object", "additionalProperties": False,
           "properties": {"agg": {"enum": list(AGGS)}, "field": PATH, "as": KEY, "where": {"type": "object"},
                          "ratio": {"type": "object", "required": ["of", "to"], "additionalProperties": False,
                                    "properties": {"of": KEY, "to": {"anyOf": [KEY, {"type": "array", "minItems": 1,
                                                                                      "maxItems": 10, "items": KEY}]}}},
                          "format": {"enum": ["number", "currency", "percent"]},
                          "precision": {"type": "integer", "minimum": 0, "maximum": 6}, **LABELS},
           "oneOf": [{"required": ["agg"], "not": {"required": ["ratio"]}}, {"required": ["ratio", "as"], "not": {"required": ["agg"]}}],
           "x-message": 'must be {"agg": "count"|"sum"|"avg"|"min"|"max"|"distinct", "field": key} or '
                        '{"ratio": {"of": measure, "to": measure or [measures]}, "as": key}'}
SOURCE = {"type": "object", "required": ["form"], "additionalProperties": False,
          "properties": {"form": KEY, "where": {"type": "object"},
                         "dimensions": {"type": "array", "maxItems": 4, "items": DIMENSION},
                         "measures": {"type": "array", "minItems": 1, "maxItems": 12, "items": MEASURE},
                         "sort": {"type": "string", "pattern": r"^[-+]?(\$?[a-z][a-z0-9_.$]{0,61})$",
                                  "x-message": 'must name a measure or a dimension, "-" first for largest first'},
                         "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                         "others": {"type": "boolean"}}}
PERIOD = {"type": "object", "required": ["field", "range"], "additionalProperties": False,
          "properties": {"field": PATH, "range": {"enum": list(PERIODS)}}}

COMMON = {
    "key": KEY,
    "type": {"type": "string"},
    "title": {"type": "string", "maxLength": 200},
    "title_en": {"type": "string", "maxLength": 200},
    "description": {"type": "string", "maxLength": 2000},
    "width": {"type": "integer", "minimum": 1, "maximum": 12},
    "height": {"enum": ["small", "medium", "large"]},
    "source": SOURCE,
}


def schema(**own: dict) -> dict:
    """A kind's whole JSON Schema: the common settings and its own."""
    return {"type": "object", "required": ["key", "type", "source"], "additionalProperties": False,
            "properties": {**COMMON, **own}}


@dataclass(frozen=True)
class Dimension:
    field: str  # "stage", "$owner", "company.tier"
    bucket: str | None = None
    raw: dict = dc_field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        return self.field + (f":{self.bucket}" if self.bucket else "")

    @property
    def link(self) -> str | None:
        return self.field.split(".", 1)[0] if "." in self.field else None


@dataclass(frozen=True)
class Measure:
    key: str  # its `as`
    agg: str | None = None
    field: str | None = None
    where: Any = None
    ratio: tuple[str, tuple[str, ...]] | None = None  # (numerator, denominators summed)
    raw: dict = dc_field(default_factory=dict, compare=False)


@dataclass
class Source:
    form: str
    where: Any = None
    dimensions: list[Dimension] = dc_field(default_factory=list)
    measures: list[Measure] = dc_field(default_factory=list)
    sort: str | None = None
    limit: int | None = None
    others: bool = False


@dataclass
class Widget:
    key: str
    type: str
    source: Source
    raw: dict

    def title(self, locale: str = "zh") -> str:
        if locale.startswith("en") and self.raw.get("title_en"):
            return self.raw["title_en"]
        return self.raw.get("title") or self.key

    def fields_named(self) -> set[str]:
        """Every field (or link.field) the widget reads, its `where`s' fields included."""
        from formloom.runtime import conditions

        named = {d.field for d in self.source.dimensions} | {m.field for m in self.source.measures if m.field}
        for cond in [self.source.where, *[m.where for m in self.source.measures]]:
            named |= conditions.fields_used(cond) if cond else set()
        period = self.raw.get("period")
        if isinstance(period, dict):
            named.add(period["field"])
        return named


@dataclass
class DashFilter:
    key: str
    field: str
    kind: str
    default: Any = None
    raw: dict = dc_field(default_factory=dict)

    def label(self, locale: str = "zh") -> str | None:
        return localized(self.raw, "label", locale) or None


@dataclass
class Dashboard:
    key: str
    raw: dict
    filters: list[DashFilter] = dc_field(default_factory=list)
    widgets: dict[str, Widget] = dc_field(default_factory=dict)

    def label(self, locale: str = "zh") -> str:
        return localized(self.raw, "name", locale, self.key)


class WidgetType(Instance):
    """One kind of widget. Subclasses set `type` and `config_schema`, and may add checks."""

    config_schema: dict = schema()
    min_dimensions = 0
    max_dimensions = 4
    # What the page draws it with: "chart" (ECharts), "kpi", "table" or "pivot".
    renders = "chart"

    def check(self, widget: Widget, err: Callable[[str, str], None]) -> None:
        """Errors `config_schema` cannot express, as err(pointer within the widget, message)."""
        n = len(widget.source.dimensions)
        if n < self.min_dimensions:
            err("/source/dimensions", f'a {self.type} widget needs at least {self.min_dimensions} '
                                      f'dimension{"s" if self.min_dimensions > 1 else ""}')
        if n > self.max_dimensions:
            err("/source/dimensions", f'a {self.type} widget takes at most {self.max_dimensions} '
                                      f'dimension{"s" if self.max_dimensions != 1 else ""}')

    def grouping_sets(self, widget: Widget) -> list[tuple[int, ...]]:
        """Further groupings (dimension indexes) whose totals the widget shows: a pivot's subtotals."""
        return []


def one_number(widget: Widget, err: Callable[[str, str], None]) -> None:
    """A KPI or gauge shows one number: its last measure; measures before it only feed a ratio."""
    ms = widget.source.measures
    last = ms[-1]
    fed = set() if last.ratio is None else {last.ratio[0], *last.ratio[1]}
    for j, m in enumerate(ms[:-1]):
        if m.key not in fed:
            err(f"/source/measures/{j}", f'a {widget.type} widget shows one number (its last measure); '
                                         f'"{m.key}" is neither that nor part of its ratio')
