"""The record list's columns, filter bar and sort links, read from the query string."""
from __future__ import annotations

from dataclasses import dataclass

from formloom.runtime.definition import FormDef
from formloom.runtime.fields import field_types, type_of
from formloom.runtime.fields.reference import MAX_ID
from formloom.runtime.fields.select import option_label, options
from formloom.runtime.web.fields import widget_for

FILTER = "f_"  # query-string prefix of the per-field filters: ?f_stage=won


@dataclass
class Column:
    key: str
    label: str
    sortable: bool
    numeric: bool = False


def columns(form: FormDef, sortable_keys: set[str], locale: str) -> list[Column]:
    """The title field first, then the other fields a table can show in one cell."""
    keys = [k for k, f in form.fields.items() if widget_for(f["type"]).in_list and not f.get("hidden")]
    if form.title_field in keys:
        keys.remove(form.title_field)
        keys.insert(0, form.title_field)
    return [column(form, key, sortable_keys, locale) for key in keys]


def column(form: FormDef, key: str, sortable_keys: set[str], locale: str) -> Column:
    """One field as a column: its label in the reader's language, sortable or not, numeric or not."""
    f = form.fields[key]
    return Column(key, form.label(key, locale), key in sortable_keys,
                  widget_for(f["type"]).numeric(f, field_types.get(f["type"])))


def sortable(form: FormDef, stored_columns) -> set[str]:
    """Fields the list can sort by: one stored column each (as `query.parse_sort` allows)."""
    return {k for k in stored_columns if k in form.fields and field_types.get(form.fields[k]["type"]).kind != "file"}


def sort_link(current: str | None, key: str) -> tuple[str, str | None]:
    """(the sort= value a header links to, the current direction "asc"/"desc"/None)."""
    if current == key:
        return f"-{key}", "asc"
    if current == f"-{key}":
        return key, "desc"
    return key, None


@dataclass
class FilterChoice:
    key: str
    label: str
    options: list[tuple[str, str]]
    selected: str

    @property
    def unknown(self) -> bool:
        """The URL asks for a value that is none of the options (?f_tier=ZZZ): nothing matches,
        and the page says why rather than showing every record."""
        return bool(self.selected) and self.selected not in dict(self.options)


def filter_fields(form: FormDef, args, locale: str) -> list[FilterChoice]:
    """One dropdown per select field (what a filter bar can offer without typing), and one
    per link filter the URL asks for (?f_customer=12, as a related list's "View all" links):
    its single option is labelled "#12" until the page puts the record's title there."""
    out = []
    for key, f in form.fields.items():
        if f.get("hidden"):
            continue
        if type_of(f).has_options:
            opts = [(o["value"], option_label(f, o["value"], locale)) for o in options(f)]
            out.append(FilterChoice(key, form.label(key, locale), opts, args.get(FILTER + key, "")))
        elif type_of(f).refers_to == "record":
            raw = args.get(FILTER + key, "").strip()
            if raw.isdecimal() and int(raw) <= MAX_ID:  # an id; anything else filters nothing
                out.append(FilterChoice(key, form.label(key, locale), [(raw, f"#{raw}")], raw))
    return out


def condition(form: FormDef, search: str, filters: list[FilterChoice]) -> dict | None:
    """The condition for the filter bar: title contains the search text, and each chosen option."""
    parts = []
    search = search.strip()
    if search:
        anyof = []
        title = form.fields.get(form.title_field or "")
        if title and field_types.get(title["type"]).result_kind(title) == "text":
            anyof.append({"field": form.title_field, "op": "contains", "value": search})
        if search.lstrip("#").isdecimal() and int(search.lstrip("#")) <= MAX_ID:  # an id some record may have
            anyof.append({"field": "$id", "op": "eq", "value": int(search.lstrip("#"))})
        # A search no field can match finds nothing (ids start at 1); it must not show all.
        anyof = anyof or [{"field": "$id", "op": "eq", "value": 0}]
        parts.append({"any": anyof} if len(anyof) > 1 else anyof[0])
    for choice in filters:
        if choice.unknown:
            parts.append({"field": "$id", "op": "eq", "value": 0})  # ids start at 1: nothing
            continue
        if not choice.selected:
            continue
        f = form.fields[choice.key]
        value = int(choice.selected) if type_of(f).refers_to == "record" else choice.selected
        op = "has_any" if field_types.get(f["type"]).result_kind(f).startswith("multi") else "eq"
        value = [value] if op == "has_any" else value
        parts.append({"field": choice.key, "op": op, "value": value})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"all": parts}
