"""What a field can be in a widget (capabilities, never type names): a dimension, a measure,
the field a dashboard filter filters by."""
from __future__ import annotations

from formloom.runtime.fields import type_of
from formloom.runtime.views.base import aggregable, groupable, single_column, value_kind


def resolve(forms: dict, form, path: str):
    """(the form holding the field, its key, the link field followed or None) for "stage" or
    "company.tier"; None when there is no such field."""
    if "." not in path:
        return (form, path, None) if value_kind(form, path) is not None else None
    link, key = path.split(".", 1)
    f = form.fields.get(link)
    if f is None or type_of(f).refers_to != "record" or not single_column(form, link):
        return None
    target = forms.get(f.get("form"))
    if target is None or value_kind(target, key) is None:
        return None
    return target, key, link


def dimension_kind(forms: dict, form, path: str) -> str | None:
    """How records group by this field: "options", "reference", "date", "boolean", None (they
    cannot) or "missing" (no such field)."""
    found = resolve(forms, form, path)
    if found is None:
        return "missing"
    target, key, _link = found
    how = groupable(target, key)
    if how is None and single_column(target, key) and value_kind(target, key) == "boolean":
        return "boolean"
    return how


def measurable(form, key: str, agg: str) -> str | None:
    """Why `agg` cannot take this field (None: it can)."""
    if value_kind(form, key) is None:
        return f'"{key}" is not a field of form "{form.key}"' + (" (measures read the form's own fields)" if "." in key else "")
    if agg == "distinct":
        return None if single_column(form, key) else f'cannot count the distinct values of "{key}": it holds several values'
    if not aggregable(form, key, agg):
        return (f'cannot take the {agg} of "{key}": sum and avg take number fields, min and max number and '
                'date fields, count and distinct any field holding one value')
    return None


def filter_fits(form, key: str, kind: str) -> bool:
    """Whether a dashboard filter of `kind` applies to the form's field `key`."""
    vk = value_kind(form, key)
    if vk is None or not single_column(form, key):
        return False
    if kind == "date_range":
        return vk in ("date", "datetime")
    if kind == "user":
        return vk == "user"
    f = form.fields.get(key)
    if kind == "department":
        return f is not None and type_of(f).refers_to == "department"
    return f is not None and type_of(f).has_options  # select
