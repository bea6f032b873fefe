"""What the form page template walks: one slot per field, in the definition's order.

A slot says how to draw its field: a plain WTForms input, a link picker, a subform table
(with the empty row for its <template>), an upload list, or a read-only value for computed
fields. Titles of linked records already chosen are looked up once for the whole form.
"""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from flask import url_for

from formloom.platform.inputs import as_id
from formloom.runtime.definition import FormDef
from formloom.runtime.fields import type_of
from formloom.runtime.forms.builder import attr, entry_fields, mark_required, rule_required
from formloom.runtime.forms.rules import client_rules
from formloom.runtime.web.display import Cell, Display, human_size

WIDTH = {"half": "col-md-6", "third": "col-md-4", "quarter": "col-md-3"}


@dataclass
class Picker:
    name: str
    url: str
    multiple: bool
    chosen: list[tuple[str, str]]  # (id, title)
    target_name: str


@dataclass
class Column:
    key: str
    label: str
    kind: str  # "field" | "picker" | "readonly"
    required: bool = False
    numeric: bool = False


@dataclass
class Table:
    columns: list[Column]
    rows: list[list[Any]]  # per row: per column a bound field, a Picker or a Cell
    template: list[Any]
    errors: list[str]
    min_rows: int = 0
    max_rows: int = 0


@dataclass
class Slot:
    key: str
    label: str
    kind: str  # "field" | "picker" | "subform" | "files" | "readonly"
    width: str = ""
    field: Any = None
    picker: Picker | None = None
    table: Table | None = None
    files: list = dc_field(default_factory=list)
    cell: Cell | None = None
    hidden: bool = False
    rule: dict | None = None
    required: bool = False
    help: str = ""


def _ids(data: Any) -> list[int]:
    items = data if isinstance(data, list) else [data]
    return [n for n in map(as_id, items) if n is not None]


class Layout:
    """Builds the slots of one form page."""

    def __init__(self, page, wt, display: Display, readonly_values: dict, row_defaults: dict):
        self.page = page
        self.wt = wt
        self.display = display
        self.readonly_values = readonly_values
        self.row_defaults = row_defaults  # per subform: WTForms data of a new, empty row

    def want_links(self, form: FormDef, wt) -> None:
        """Ask the display for the titles of every record chosen in a picker (rows too)."""
        for key in entry_fields(form):
            f = form.fields[key]
            field = wt._fields[attr(key)]
            if type_of(f).refers_to == "record":
                self.display.want(form, [{key: _ids(field.data)}])
            elif type_of(f).holds_rows:
                for entry in field.entries:
                    self.want_links(form.children[key], entry.form)

    def picker(self, form: FormDef, key: str, field) -> Picker:
        """A link field's picker, with the records the field holds now."""
        f = form.fields[key]
        target = self.page.runtime.form(f["form"])
        titles = self.display.titles.get(f["form"], {})
        chosen = [(str(i), titles.get(i, f"#{i}")) for i in _ids(field.data)]
        url = url_for("web.lookup", app_key=self.page.runtime.key, form_key=f["form"])
        return Picker(field.name, url, bool(f.get("multiple")), chosen, target.display_name(self.page.locale))

    def cell_for(self, form: FormDef, key: str, field, value=None):
        """What a subform cell draws: a picker, a WTForms field, or a read-only value."""
        if field is None:
            return self.display.cell(form, key, value)
        return self.picker(form, key, field) if type_of(form.fields[key]).refers_to == "record" else field

    def table(self, form: FormDef, key: str, field, errors: list[str], row_values: list[dict]) -> Table:
        """A subform as a table of rows, plus the empty row its <template> copies."""
        child = form.children[key]
        f = form.fields[key]
        editable = entry_fields(child)
        shown = [k for k, cf in child.fields.items() if not cf.get("hidden")]
        cols = [Column(k, child.label(k, self.page.locale),
                       "readonly" if k not in editable else "picker" if type_of(child.fields[k]).refers_to == "record" else "field",
                       bool(child.fields[k].get("required")),
                       child.type_of(k).result_kind(child.fields[k]) == "number") for k in shown]
        rows = []
        for i, entry in enumerate(field.entries):
            values = row_values[i] if i < len(row_values) else {}
            rows.append([self.cell_for(child, c.key, entry.form._fields.get(attr(c.key)), values.get(c.key))
                         for c in cols])
        template_form = self.wt.row_classes[key](prefix=f"{key}-__index__-", data=self.row_defaults.get(key))
        mark_required(template_form, child)
        template = [self.cell_for(child, c.key, template_form._fields.get(attr(c.key))) for c in cols]
        return Table(cols, rows, template, errors, int(f.get("min_rows") or 0), int(f.get("max_rows") or 0))

    def slots(self, hidden: set[str], file_items: dict, table_errors: dict, row_values: dict) -> list[Slot]:
        """Every field of the form but hidden ones, in order; `hidden` start out hidden by rules."""
        form = self.page.form
        rules = client_rules(form)
        required = {k for k, f in form.fields.items() if f.get("required")} | rule_required(form)
        editable = set(entry_fields(form))
        out = []
        for key, f in form.fields.items():
            if f.get("hidden"):
                continue
            slot = Slot(key, form.label(key, self.page.locale), "readonly", WIDTH.get(f.get("width"), ""),
                        hidden=key in hidden, rule=rules.get(key), required=key in required,
                        help=f.get("help", ""))
            field = self.wt._fields.get(attr(key)) if key in editable else None
            if field is None:
                slot.cell = self.display.cell(form, key, self.readonly_values.get(key))
            elif type_of(f).holds_rows:
                slot.kind, slot.field = "subform", field
                slot.table = self.table(form, key, field, table_errors.get(key, []), row_values.get(key, []))
            elif type_of(f).refers_to == "record":
                slot.kind, slot.field, slot.picker = "picker", field, self.picker(form, key, field)
            elif type_of(f).holds_files:
                slot.kind, slot.field = "files", field
                slot.files = [{**m, "size_label": human_size(m.get("size") or 0)} for m in file_items.get(key, [])]
            else:
                slot.kind, slot.field = "field", field
            out.append(slot)
        return out
