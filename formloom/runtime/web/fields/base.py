"""The `FieldWidget` base class: how the pages show and edit one kind of field.

The runtime registry (`runtime/fields/`) knows what a type's values are; this one knows
how people see them (a list cell, the record page) and type them (the WTForms field), and
keeps a slot for the builder's settings panel. A type without a widget of its own is shown
and edited by `FieldWidget` itself: formatted text, numbers and date-times by value kind.
"""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from decimal import Decimal
from typing import Any

from wtforms import StringField, validators

try:
    from wtforms.fields.choices import SelectChoice
except ImportError:  # WTForms < 3.3 takes the (value, label) tuples as they are
    SelectChoice = None

from formloom.runtime.fields import FieldType, type_of
from formloom.runtime.registry import Instance

# JSON Schema limits of a value (`FieldType.value_schema`) and the HTML attribute for each.
SCHEMA_LIMITS = {"maxLength": "maxlength", "minLength": "minlength", "minimum": "min", "maximum": "max"}

PALETTE = ["#2563eb", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#475569", "#dc2626"]


@dataclass
class Cell:
    """One formatted value. `kind` picks the markup: text, num, long, badges, links, files,
    bool, url, email, phone, or empty."""

    kind: str = "empty"
    text: str = ""
    items: list = dc_field(default_factory=list)  # badges: (label, colour); links/files: dicts
    href: str = ""


def ids_of(value: Any) -> list[int]:
    if value in (None, [], ""):
        return []
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, int)]


def human_size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


def choices(pairs) -> list:
    """(value, label) pairs as WTForms choices (tuples are deprecated from WTForms 3.3)."""
    if SelectChoice is None:
        return [tuple(p) for p in pairs]
    return [p if isinstance(p, SelectChoice) else SelectChoice(*p) for p in pairs]


def html_number(value) -> str:
    """A limit as an HTML attribute value: 0, 0.5, 100 (never "100.0")."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)
    return str(value)


def step_of(places: int | None) -> str:
    """The `step` of a number input for a precision: 2 -> "0.01", 0 -> "1", none -> "any"."""
    return "any" if places is None else str(Decimal(1).scaleb(-int(places)))


def form_kwargs(field: dict, ctx: dict) -> dict:
    """Label, description and render hints shared by every WTForms field."""
    label = ctx.get("label") or field.get("label") or field["key"]
    kw: dict = {"label": label, "description": field.get("help", "")}
    kw["validators"] = [validators.Optional()]
    render = {}
    if field.get("placeholder"):
        render["placeholder"] = field["placeholder"]
    if field.get("required"):
        render["data-required"] = "1"
    if render:
        kw["render_kw"] = render
    return kw


class FieldWidget(Instance):
    """How one field type is shown and edited. Subclasses set `type` (the field type's name)."""

    in_list = True  # a record list shows it in a column
    # The limits of the value schema its input honours (a text box: lengths; a number: min, max).
    limits: tuple[str, ...] = ("maxlength", "minlength")
    checkbox = False  # typed with a checkbox, which cannot say "not answered"
    settings_panel: str | None = None  # the builder's settings panel for the type (to come)

    def numeric(self, field: dict, ftype: FieldType) -> bool:
        """Whether a list shows it as a number (aligned right)."""
        return ftype.result_kind(field) == "number"

    # -- showing ----------------------------------------------------------------
    def cell(self, display, field: dict, ftype: FieldType, value: Any) -> Cell:
        """The value in a list cell; `display` has loaded the names and titles it needs."""
        if ftype.is_empty(value):
            return Cell()
        return self.filled_cell(display, field, ftype, value)

    def filled_cell(self, display, field: dict, ftype: FieldType, value: Any) -> Cell:
        kind = ftype.result_kind(field)
        if kind == "datetime":
            return Cell("text", display.local_time(value))
        text = ftype.format(field, value, display.locale)
        if kind == "number":
            return Cell("num", text)
        return Cell("text", text)

    def detail(self, display, field: dict, ftype: FieldType, value: Any) -> Cell:
        """The value on the record page; the same as in a list unless a widget says more."""
        return self.cell(display, field, ftype, value)

    # -- editing ----------------------------------------------------------------
    def form_field(self, field: dict, ctx: dict):
        """The WTForms field (unbound) for the HTML form."""
        return StringField(**form_kwargs(field, ctx))

    def input_limits(self, field: dict, ftype: FieldType) -> dict[str, str]:
        """HTML attributes with the field's limits (`maxlength`, `min`, `max`, `step`), so the
        browser helps before the server refuses: those of its value schema that the input honours."""
        schema = ftype.value_schema(field)
        return {html: html_number(schema[key]) for key, html in SCHEMA_LIMITS.items()
                if html in self.limits and key in schema}

    def unbound_field(self, field: dict, ctx: dict):
        """`form_field` with the field's limits on its input (what the form builder asks)."""
        unbound = self.form_field(field, ctx)
        limits = self.input_limits(field, type_of(field))
        if limits:
            unbound.kwargs["render_kw"] = {**limits, **(unbound.kwargs.get("render_kw") or {})}
        return unbound
