"""One SQL GROUP BY builder, for the views' groups and the dashboards' widgets.

`grouped` selects the group keys and the measured values from the reader's rows (a
subquery), then groups by the keys and aggregates the values: one statement, on SQLite and
PostgreSQL alike. `bucket_key` is a date field's bucket in the app's time zone; the other
helpers read what an aggregate gives back the same way on both databases.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from formloom.runtime.fields import field_types
from formloom.runtime.storage import store
from formloom.runtime.views.base import SYSTEM_KINDS, value_kind
from formloom.runtime.views.buckets import BucketText, DateBucket


def column(ft, key: str):
    """A field's or system value's column in the form's table."""
    return ft.table.c[store.SYSTEM_COLUMNS[key]] if key in SYSTEM_KINDS else ft.columns[key]


def bucket_key(col, kind: str | None, bucket: str | None, tz: str):
    """What records group by: a date column's bucket (moments in the app's time zone `tz`,
    dates as they are), any other column itself."""
    if bucket and kind in ("date", "datetime"):
        return DateBucket(col, bucket, tz if kind == "datetime" else None)
    return col


def aggregate(col, agg: str):
    """`agg` of the values of `col` (None values left out, as SQL does)."""
    if agg == "sum":
        return sa.func.sum(col)
    if agg == "avg":
        return sa.func.avg(col)
    if agg == "min":
        return sa.func.min(col)
    if agg == "max":
        return sa.func.max(col)
    if agg == "count":
        return sa.func.count(col)
    if agg == "distinct":
        return sa.func.count(sa.distinct(col))
    return sa.func.count() - sa.func.count(col)  # empty


@dataclass
class Grouped:
    """A GROUP BY statement: `keys` and `values` are its outer columns (a date bucket's key
    formatted once per group), `group_keys` what it groups by, `stmt` the SELECT (the caller
    adds ORDER BY and LIMIT, or builds another from these)."""

    keys: list
    values: list
    stmt: sa.Select
    group_keys: list


def grouped(keys: list, measured: list[tuple[str, object]], where, select_from=None) -> Grouped:
    """Group the rows meeting `where` by `keys` (SQL expressions) and take each (agg, value
    expression) of `measured`; a value of None counts rows (`count`)."""
    # A date bucket is grouped by its first moment and written as text once per group.
    inner_cols = [(k.start() if isinstance(k, DateBucket) else k).label(f"g{i}") for i, k in enumerate(keys)]
    inner_cols += [(sa.literal(1) if v is None else v).label(f"m{i}") for i, (_agg, v) in enumerate(measured)]
    inner = sa.select(*inner_cols)
    if select_from is not None:
        inner = inner.select_from(select_from)
    inner = inner.where(*where).subquery()
    group_keys = [inner.c[f"g{i}"] for i in range(len(keys))]
    outer_keys = [BucketText(g, k.bucket).label(f"k{i}") if isinstance(k, DateBucket) else g
                  for i, (g, k) in enumerate(zip(group_keys, keys, strict=True))]
    values = [aggregate(inner.c[f"m{i}"], agg) for i, (agg, _v) in enumerate(measured)]
    stmt = sa.select(*outer_keys, *values)
    if group_keys:
        stmt = stmt.group_by(*group_keys)
    else:
        stmt = stmt.select_from(inner)
    return Grouped(outer_keys, values, stmt, group_keys)


def number(value):
    """A number as JSON gives it: Decimal and whole floats made plain."""
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def as_moment(value, kind: str):
    """SQLite gives dates and moments back as text from an aggregate."""
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed.date() if kind == "date" else parsed
    if kind == "date" and isinstance(value, datetime):
        return value.date()
    return value


def total_json(form, key: str | None, agg: str, value):
    """An aggregate's value as JSON: counts whole, a date's least or greatest as the field writes it."""
    if value is None:
        return None
    if agg in ("count", "empty", "distinct"):
        return int(value)
    if agg in ("min", "max") and key in form.fields and value_kind(form, key) in ("date", "datetime"):
        f = form.fields[key]
        return field_types.get(f["type"]).to_json(f, as_moment(value, value_kind(form, key)))
    return number(value)
