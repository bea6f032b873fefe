"""What of an app's definition a member who is not an app admin may read.

The same shape as the definition, holding what using the app needs: the app's and its
forms' labels; the forms the member may view or add to, each with only the fields their
schema lists (`FormAccess.unlisted` leaves out the rest, as `/schema` and the OpenAPI
document do) and the rules that read none of the others; the views they may open (as the
view API decides: none whose filter, sort or grouping reads a field hidden from them) with
hidden fields left out of their columns and totals; the dashboards of those forms that read
none of the fields left out. Grants, flows, automations (webhook URLs,
notification texts) and roles are for app admins only.
"""
from __future__ import annotations

import copy

from formloom.platform.actor import Actor
from formloom.runtime import access
from formloom.runtime.views.query import OpenView, open_views

APP_KEYS = ("key", "name", "name_en", "description", "icon", "timezone", "format_version")
FORM_KEYS = ("key", "name", "name_en", "description", "icon", "title_field", "owner_field", "members")


def reader_definition(actor: Actor, runtime) -> dict:
    """The published definition as this member may read it."""
    raw = runtime.raw
    out = {k: copy.deepcopy(raw[k]) for k in APP_KEYS if k in raw}
    forms, left_out = [], {}
    for form in raw.get("forms") or []:
        fa = access.form_access(actor, runtime, form["key"])
        if not (fa.can("view") or fa.can("add")):
            continue
        unlisted = fa.unlisted()
        left_out[form["key"]] = unlisted
        kept = {k: copy.deepcopy(form[k]) for k in FORM_KEYS if k in form}
        kept["fields"] = [copy.deepcopy(f) for f in form["fields"] if f.get("key") not in unlisted]
        rules = [r for r in form.get("rules") or [] if not _reads(r, unlisted)]
        if rules:
            kept["rules"] = copy.deepcopy(rules)
        forms.append(kept)
    out["forms"] = forms
    if "views" in raw:
        # The views the API lets them open, without the fields hidden from them.

        out["views"] = [OpenView(actor, runtime, v.key).reader_raw() for v in open_views(actor, runtime)]
    if "dashboards" in raw:
        out["dashboards"] = [copy.deepcopy(part) for part in raw["dashboards"] if _may_open(part, left_out)]
    return out


def _may_open(part, left_out: dict[str, frozenset[str]]) -> bool:
    """A view or dashboard whose every form (its own `form`, its widgets' ones) is readable
    and which names no field left out of those forms."""
    named = _forms_named(part)
    if not named or any(f not in left_out for f in named):
        return False
    return not any(_reads(part, left_out[f]) for f in named)


def _forms_named(part) -> set:
    found = set()
    if isinstance(part, dict):
        if isinstance(part.get("form"), str):
            found.add(part["form"])
        for value in part.values():
            if isinstance(value, (dict, list)):
                found |= _forms_named(value)
    elif isinstance(part, list):
        for value in part:
            found |= _forms_named(value)
    return found


def _reads(part, keys: frozenset[str]) -> bool:
    """Whether any text in `part` names one of `keys` (a field, a `-field` sort, a `$` form,
    the link of a `link.field`)."""
    if not keys:
        return False
    if isinstance(part, str):  # "company.tier" (a dashboard's linked field) reads "company"
        return part.lstrip("-") in keys or part.split(".", 1)[0] in keys
    if isinstance(part, dict):
        return any(_reads(v, keys) for v in part.values())
    if isinstance(part, list):
        return any(_reads(v, keys) for v in part)
    return False
