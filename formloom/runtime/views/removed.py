"""Views over fields a publish removes: the view drops the column instead of breaking.

Where a view names a removed field in a place it can do without (a column, a sort key, a
total, a card field, a width, a table's grouping, a calendar's end, a gallery's cover), the
published view leaves it out and the publish plan says so, one step per view and field.
A field the view cannot do without (in its filter, a kanban's columns, a calendar's start)
stays named, and validation refuses the definition at that pointer.
"""
from __future__ import annotations

import copy

from formloom.runtime.views import DEFAULT_TYPE, view_types
from formloom.runtime.views.base import sort_list


def _field_keys(defn) -> dict[str, set[str]]:
    forms = defn.get("forms") if isinstance(defn, dict) else None
    return {f["key"]: {x.get("key") for x in f.get("fields") or [] if isinstance(x, dict)}
            for f in forms or [] if isinstance(f, dict) and isinstance(f.get("key"), str)}


def adapt(old, new) -> tuple:
    """(`new` with its views adapted to the fields removed since `old`, the plan steps)."""
    if not isinstance(old, dict) or not isinstance(new, dict) or not isinstance(new.get("views"), list):
        return new, []
    before, after = _field_keys(old), _field_keys(new)
    out = copy.deepcopy(new)
    steps: list[dict] = []
    for view in out["views"]:
        if not isinstance(view, dict) or view.get("form") not in before or view.get("form") not in after:
            continue
        removed = before[view["form"]] - after[view["form"]]
        kind = view.get("type", DEFAULT_TYPE)
        if not removed or kind not in view_types:
            continue
        dropped: list[str] = []
        for path in view_types.get(kind).droppable(view):
            dropped += drop(view, path, removed)
        for key in dict.fromkeys(dropped):
            steps.append({"op": "view_drop_field", "view": view.get("key"), "form": view["form"], "field": key})
    return out, steps


def drop(view: dict, path: tuple[str, ...], removed: set[str]) -> list[str]:
    parent = view
    for part in path[:-1]:
        parent = parent.get(part)
        if not isinstance(parent, dict):
            return []
    name = path[-1]
    value = parent.get(name)
    if name == "sort" and value is not None:
        kept = [s for s in sort_list(value) if s.lstrip("-+") not in removed]
        gone = [s.lstrip("-+") for s in sort_list(value) if s.lstrip("-+") in removed]
        if gone:
            parent[name] = kept
        return gone
    if isinstance(value, list):
        gone = [k for k in value if k in removed]
        parent[name] = [k for k in value if k not in removed]
        return gone
    if isinstance(value, dict) and name != "group_by":
        gone = [k for k in value if k in removed]
        for k in gone:
            del parent[name][k]
        return gone
    key = value.get("field") if isinstance(value, dict) else value
    if isinstance(key, str) and key in removed:
        del parent[name]
        return [key]
    return []
