"""The filter builder's side on the server: what it may offer (each field the reader sees,
its value kind, the operators its field type supports, its options) and what it sends back
(`?filter=` as the one condition language, `?q=` a quick search), ANDed into one condition.
The page draws the rows with `static/filters.js`; the records query judges the condition."""
from __future__ import annotations

import json

from flask import request
from flask_babel import lazy_gettext

from formloom.runtime.exceptions import ValidationFailed
from formloom.runtime.fields import type_of
from formloom.runtime.fields.select import option_label, options
from formloom.runtime.records import query as records_query
from formloom.runtime.schema.validate import operand_resolver
from formloom.runtime.web import listing

# The order the builder offers operators in, and how each reads.
OPERATORS = {
    "eq": lazy_gettext("is"), "ne": lazy_gettext("is not"), "contains": lazy_gettext("contains"),
    "not_contains": lazy_gettext("does not contain"), "starts_with": lazy_gettext("starts with"),
    "ends_with": lazy_gettext("ends with"), "gt": lazy_gettext("greater than"), "gte": lazy_gettext("at least"),
    "lt": lazy_gettext("less than"), "lte": lazy_gettext("at most"), "before": lazy_gettext("before"),
    "after": lazy_gettext("after"), "in": lazy_gettext("is any of"), "not_in": lazy_gettext("is none of"),
    "has_any": lazy_gettext("has any of"), "has_all": lazy_gettext("has all of"),
    "is_empty": lazy_gettext("is empty"), "is_not_empty": lazy_gettext("is not empty"),
}
LIST_OPS = {"in", "not_in", "has_any", "has_all"}


def spec(form, hidden, locale: str) -> list[dict]:
    """The fields a reader may filter by, for the builder: key, label, kind, operators, options."""
    resolve = operand_resolver(form)
    out = []
    for key, f in form.fields.items():
        if key in hidden or f.get("hidden"):
            continue
        try:
            operand = resolve(key)
        except KeyError:
            continue
        ftype = type_of(f)
        kind = "user" if ftype.refers_to == "user" else operand.kind
        allowed = operand.allowed_operators()
        if ftype.refers_to and ftype.refers_to != "user":  # ids no one types: filled or not
            allowed = allowed & {"is_empty", "is_not_empty"}
        if ftype.refers_to == "user":
            allowed = allowed & {"eq", "ne", "is_empty", "is_not_empty"}
        ops = [op for op in OPERATORS if op in allowed and (op not in LIST_OPS or ftype.has_options)]
        if not ops:
            continue
        item = {"key": key, "label": form.label(key, locale), "kind": kind, "ops": ops}
        if ftype.has_options:
            item["options"] = [[o["value"], option_label(f, o["value"], locale)] for o in options(f)]
        out.append(item)
    return out


def operator_labels() -> dict[str, str]:
    return {k: str(v) for k, v in OPERATORS.items()}


def parse(raw_filter: str) -> tuple[dict | None, str | None]:
    """(the builder's condition from `?filter=`, or why it is not one)."""
    if not raw_filter:
        return None, None
    try:
        built = json.loads(raw_filter)
    except ValueError:
        return None, "not JSON"
    return (built, None) if isinstance(built, dict) else (None, "not a condition")


def with_built(page, condition: dict | None, raw_filter: str) -> tuple[dict | None, dict | None, str | None]:
    """`condition` ANDed with the builder's `raw_filter` when the reader may use it: (the
    condition, the builder's part, why the builder's part was left out)."""
    built, problem = parse(raw_filter)
    if built is not None:
        try:
            records_query.filter_clause(page.actor, page.runtime, page.form.key, built, hidden=page.access.hidden())
        except ValidationFailed as exc:
            built, problem = None, str(exc)
    parts = [c for c in (condition, built) if c]
    return (None if not parts else parts[0] if len(parts) == 1 else {"all": parts}), built, problem


def reader_condition(page) -> tuple[dict | None, dict | None, str | None]:
    """The reader's quick search (`q`) and own filter (`filter`) from the request: (the
    condition to AND with a view's, the builder's part, why the builder's part was left out)."""
    search = request.values.get("q", "")[:200]
    return with_built(page, listing.condition(page.form, search, []) if search.strip() else None,
                      request.values.get("filter", "")[:20000])


def reader_args() -> dict:
    """`q` and `filter` as the request has them, for links that keep them."""
    return {k: request.values[k] for k in ("q", "filter") if request.values.get(k)}
