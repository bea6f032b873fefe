"""Reading a view: its records (the form's record list with the view's filter and sort) and
its groups (counts and totals per group, one SQL GROUP BY), always within the reader's rows.

A view names fields; a reader may not see some of them. A view whose filter, sort or
grouping reads a field hidden from the reader is not open to them (it would show rows or
an order that tell what the field holds): NotFound, as for a view that does not exist. Its
columns and totals over hidden fields are left out for them. What the request adds (a
filter, a sort, another grouping or totals) may name only fields the reader sees: any other
is refused as "no such field", as the form's record list does.
"""
from __future__ import annotations

import copy

import sqlalchemy as sa

from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.runtime import access, conditions
from formloom.runtime.exceptions import NotFound, ValidationFailed
from formloom.runtime.fields.select import options
from formloom.runtime.records import query
from formloom.runtime.records.context import app_timezone
from formloom.runtime.views import view_types
from formloom.runtime.views.base import (
    AGGREGATES,
    BUCKETS,
    Grouping,
    View,
    aggregable,
    groupable,
    value_kind,
)
from formloom.runtime.views.grouping import bucket_key, column, grouped, total_json
from formloom.runtime.views.removed import drop

MAX_GROUPS = 1000


def _reads(view: View) -> set[str]:
    """The fields the view's rows and order depend on (not what it merely shows): its sort,
    its filter, its grouping and the settings its kind cannot do without (a calendar's start)."""
    named = {s.lstrip("-+") for s in view.sort}
    named |= conditions.fields_used(view.filter) if view.filter else set()
    if view.group_by:
        named.add(view.group_by.field)
    kind = view_types.get(view.type)
    named |= {view.options[o] for o in kind.essential_options if isinstance(view.options.get(o), str)}
    return named


class OpenView:
    """A view as one reader may use it."""

    def __init__(self, actor: Actor, runtime, view_key: str):
        view = runtime.definition.views.get(view_key)
        if view is None:
            raise NotFound(f'App "{runtime.key}" has no view "{view_key}"')
        self.fa = access.form_access(actor, runtime, view.form)
        self.hidden = self.fa.hidden()
        if _reads(view) & self.hidden or not self.fa.can("view"):
            raise NotFound(f'App "{runtime.key}" has no view "{view_key}"')
        self.actor, self.runtime, self.view = actor, runtime, view
        self.form = runtime.form(view.form)

    @property
    def columns(self) -> list[str]:
        return [c for c in self.view.columns if c not in self.hidden]

    @property
    def totals(self) -> dict[str, str]:
        return {k: v for k, v in self.view.totals.items() if k not in self.hidden}

    def reader_raw(self) -> dict:
        """The view's definition as this reader reads it: fields hidden from them left out."""
        raw = copy.deepcopy(self.view.raw)
        if self.hidden:
            for path in view_types.get(self.view.type).droppable(raw):
                drop(raw, path, set(self.hidden))
        return raw

    def within(self):
        """The view's own filter as SQL."""
        return query.filter_clause(self.actor, self.runtime, self.view.form, self.view.filter, hidden=self.hidden)


def open_views(actor: Actor, runtime) -> list[View]:
    """The views this reader may open, in the definition's order."""
    out = []
    for key, view in runtime.definition.views.items():
        try:
            OpenView(actor, runtime, key)
        except NotFound:
            continue
        out.append(view)
    return out


NO_GROUP = object()  # view_records without `group`: every group


def view_records(actor: Actor, runtime, view_key: str, *, condition=None, sort: str | None = None,
                 limit: int = 50, cursor: str | None = None, group=NO_GROUP, group_by: str | None = None,
                 bucket: str | None = None) -> tuple[OpenView, list[dict], str | None]:
    """A page of the view's records: the form's record list within the view's filter,
    in the request's sort or else the view's. `group`: only the records of one group (a
    value `view_groups` gave, None for the empty group) of the view's grouping or of
    `group_by`/`bucket`: a kanban column pages on its own."""
    ov = OpenView(actor, runtime, view_key)
    within = ov.within()
    if group is not NO_GROUP:
        within = sa.and_(within, group_clause(ov, parse_grouping(ov, group_by, bucket), group))
    records, next_cursor = query.list_records(actor, runtime, ov.view.form, condition=condition,
                                              sort=sort or ov.view.sort_text, limit=limit, cursor=cursor,
                                              within=within)
    return ov, records, next_cursor


def _key_expr(ov: OpenView, grouping: Grouping):
    ft = ov.runtime.form_tables(ov.view.form)
    col = column(ft, grouping.field)
    bucket = grouping.bucket if groupable(ov.form, grouping.field) == "date" else None
    return col, bucket_key(col, value_kind(ov.form, grouping.field), bucket, app_timezone(ov.runtime))


def group_clause(ov: OpenView, grouping: Grouping, value):
    """SQL for the records of one group: `value` as `view_groups` gives it (None: no value)."""
    col, key_expr = _key_expr(ov, grouping)
    if value is None:
        return col.is_(None)
    how = groupable(ov.form, grouping.field)
    if how == "reference" and isinstance(value, str) and value.isdecimal() and len(value) < 12:
        value = int(value)
    fits = isinstance(value, int) and not isinstance(value, bool) if how == "reference" else isinstance(value, str)
    if not fits:
        raise ValidationFailed(f'"{value}" is not a group of "{grouping.field}"',
                               [{"field": "group", "message": "is not a value of this grouping"}])
    return key_expr == value


# -- groups ---------------------------------------------------------------------------

def _unknown(name: str, key: str) -> ValidationFailed:
    return ValidationFailed(f'No field "{key}" to {name}', [{"field": name, "message": f'"{key}" is not a field'}])


def parse_grouping(ov: OpenView, key: str | None, bucket: str | None) -> Grouping:
    """The grouping a request asks for (`group_by`, `bucket`), else the view's."""
    if not key:
        if ov.view.group_by is None:
            raise ValidationFailed("This view has no grouping: say which field to group by (group_by=...)",
                                   [{"field": "group_by", "message": "is required for this view"}])
        if bucket and ov.view.group_by.bucket:
            return Grouping(ov.view.group_by.field, bucket) if bucket in BUCKETS else _bad_bucket(bucket)
        return ov.view.group_by
    if key in ov.hidden or value_kind(ov.form, key) is None:
        raise _unknown("group_by", key)
    how = groupable(ov.form, key)
    if how is None:
        raise ValidationFailed(f'Cannot group by "{key}": group by a select, user, department, link or date field '
                               'holding one value', [{"field": "group_by", "message": "cannot be grouped by"}])
    if how == "date":
        bucket = bucket or "day"
        if bucket not in BUCKETS:
            _bad_bucket(bucket)
    elif bucket:
        raise ValidationFailed(f'"{key}" does not hold dates; a bucket groups dates only',
                               [{"field": "bucket", "message": "groups dates only"}])
    return Grouping(key, bucket if how == "date" else None)


def _bad_bucket(bucket: str):
    raise ValidationFailed(f'bucket must be one of {", ".join(BUCKETS)}', [{"field": "bucket", "message": "is not a bucket"}])


def parse_totals(ov: OpenView, text: str | None) -> dict[str, str]:
    """`amount:sum,probability:avg` -> {"amount": "sum", ...}; else the view's totals."""
    if text is None:
        return ov.totals
    out: dict[str, str] = {}
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        key, _, agg = part.partition(":")
        agg = agg or "sum"
        if key in ov.hidden or value_kind(ov.form, key) is None:
            raise _unknown("totals", key)
        if agg not in AGGREGATES or not aggregable(ov.form, key, agg):
            raise ValidationFailed(f'Cannot take the {agg} of "{key}": sum and avg take number fields, min and max '
                                   'number and date fields, count and empty any field holding one value',
                                   [{"field": "totals", "message": f'"{part}" is not a total this field has'}])
        out[key] = agg
    return out


def _group_value(ov: OpenView, how: str, value):
    if value is None or how == "date":
        return value
    if how == "reference":
        return int(value)
    return value


def _rows_of(ov: OpenView, condition):
    """The reader's rows of the view (and of the request's filter), as WHERE clauses."""
    t = ov.runtime.form_tables(ov.view.form).table
    return (ov.fa.scope(t), t.c.deleted_at.is_(None), ov.within(),
            query.filter_clause(ov.actor, ov.runtime, ov.view.form, condition, hidden=ov.hidden))


def _totals_of(form, wanted: dict[str, str], values) -> dict:
    return {k: total_json(form, k, agg, values[i]) for i, (k, agg) in enumerate(wanted.items())}


def view_groups(actor: Actor, runtime, view_key: str, *, condition=None, group_by: str | None = None,
                bucket: str | None = None, totals: str | None = None) -> dict:
    """`{"groups": [{"value", "count", "totals"}], "group_by": {...}}` for the reader's rows
    of the view (and the request's filter), in the order the view shows them."""
    ov = OpenView(actor, runtime, view_key)
    grouping = parse_grouping(ov, group_by, bucket)
    wanted = parse_totals(ov, totals)
    form, ft = ov.form, runtime.form_tables(ov.view.form)
    how = groupable(form, grouping.field)
    _col, key_expr = _key_expr(ov, grouping)
    g = grouped([key_expr], [("count", None)] + [(agg, column(ft, k)) for k, agg in wanted.items()],
                _rows_of(ov, condition))
    key = g.group_keys[0]
    rows = db.session.execute(g.stmt.order_by(key.is_(None), key).limit(MAX_GROUPS + 1)).all()
    more = len(rows) > MAX_GROUPS
    groups = [{"value": _group_value(ov, how, row[0]), "count": int(row[1]), "totals": _totals_of(form, wanted, row[2:])}
              for row in rows[:MAX_GROUPS]]
    if how == "options":
        groups = _in_option_order(form.fields[grouping.field], groups, wanted,
                                  blank=not ov.view.options.get("hide_empty"))
    body = {"groups": groups, "group_by": {"field": grouping.field, **({"bucket": grouping.bucket} if grouping.bucket else {})}}
    if more:
        body["more"] = True
    return body


def view_totals(ov: OpenView, *, condition=None, totals: dict[str, str] | None = None) -> dict:
    """`{"count", "totals"}` over all the reader's rows of the view: a table's totals row."""
    wanted = ov.totals if totals is None else totals
    ft = ov.runtime.form_tables(ov.view.form)
    g = grouped([], [("count", None)] + [(agg, column(ft, k)) for k, agg in wanted.items()], _rows_of(ov, condition))
    row = db.session.execute(g.stmt).one()
    return {"count": int(row[0]), "totals": _totals_of(ov.form, wanted, row[1:])}


def _in_option_order(f: dict, groups: list[dict], wanted: dict, blank: bool) -> list[dict]:
    """Every option in the field's order (an option no record has counts 0), then values no
    longer among the options, then the empty group (there even with no record, unless the
    view hides it)."""
    by_value = {g["value"]: g for g in groups}
    empty_totals = {k: (0 if agg in ("count", "empty") else None) for k, agg in wanted.items()}
    out = [by_value.pop(o["value"], {"value": o["value"], "count": 0, "totals": dict(empty_totals)}) for o in options(f)]
    empty = by_value.pop(None, None)
    if empty is None and blank:
        empty = {"value": None, "count": 0, "totals": dict(empty_totals)}
    out += list(by_value.values())
    return out + ([empty] if empty else [])

