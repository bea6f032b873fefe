"""Listing records: filter (the condition language), sort, keyset pagination, in SQL.

Nothing loads a whole form: a page is one indexed query plus one query per multi-valued
field or subform for the ids on the page. The cursor is the last row's sort values and
id, so page 1,000 costs what page 1 costs.
"""
from __future__ import annotations

import base64
import json
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from formloom.platform import inputs
from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.runtime import access, conditions
from formloom.runtime.exceptions import ValidationFailed
from formloom.runtime.fields import field_types
from formloom.runtime.records.context import condition_env
from formloom.runtime.schema.validate import operand_resolver
from formloom.runtime.storage import store

MAX_LIMIT = 500
SORTABLE_SYSTEM = {"$id", "$created_at", "$updated_at", "$created_by", "$owner", "$flow_status"}


def sql_resolver(runtime, form_key: str):
    """A condition resolver that names the form's real columns."""
    ft = runtime.form_tables(form_key)
    form = runtime.form(form_key)

    def columns(key: str):
        if key in store.SYSTEM_COLUMNS:
            return ft.table.c[store.SYSTEM_COLUMNS[key]], None, ft.table.c.id
        if key in ft.values:
            vt = ft.values[key]
            return None, (vt.c.record_id, vt.c.value), ft.table.c.id
        return ft.columns.get(key), None, ft.table.c.id

    return operand_resolver(form, columns)


def _unhidden(resolver, hidden: frozenset[str]):
    """The resolver, for which fields hidden from the reader do not exist: filtering on one
    would tell its values one question at a time, and an error of its own would tell it is there."""
    if not hidden:
        return resolver

    def resolve(key: str):
        if key in hidden:
            raise KeyError(key)
        return resolver(key)

    return resolve


def filter_clause(actor: Actor, runtime, form_key: str, condition, record: dict | None = None,
                  hidden: frozenset[str] = frozenset()):
    """The SQL for a condition on this form, where the `hidden` fields are unknown. Raises
    ValidationFailed with pointers."""
    if condition in (None, {}):
        return sa.true()
    resolver = _unhidden(sql_resolver(runtime, form_key), hidden)
    problems = conditions.validate(condition, resolver)
    if problems:
        raise ValidationFailed("The filter is not valid",
                               [{"pointer": p, "field": None, "message": m} for p, m in problems])
    return conditions.to_sql(condition, resolver, condition_env(actor, runtime, record))


def parse_sort(runtime, form_key: str, sort: str | None, hidden: frozenset[str] = frozenset()) -> list[tuple[str, bool]]:
    """'-amount,title' -> [("amount", True), ("title", False)], where the `hidden` fields are
    unknown. Raises ValidationFailed."""
    form = runtime.form(form_key)
    ft = runtime.form_tables(form_key)
    keys = []
    for part in [p.strip() for p in (sort or "").split(",") if p.strip()]:
        desc = part.startswith("-")
        key = part.lstrip("-+")
        if key not in hidden and (key in SORTABLE_SYSTEM or key in ft.columns
                                  and field_types.get(form.fields[key]["type"]).kind != "file"):
            keys.append((key, desc))
        else:
            raise ValidationFailed(f'Cannot sort by "{key}": sort by fields and $ system values, e.g. -amount,title',
                                   [{"field": "sort", "message": f'"{key}" is not a sortable field'}])
    return keys or [("$id", True)]


def _column(ft, key: str):
    return ft.table.c[store.SYSTEM_COLUMNS[key]] if key in store.SYSTEM_COLUMNS else ft.columns[key]


def _signature(keys: list[tuple[str, bool]]) -> list[str]:
    """The sort a cursor belongs to, as the `sort` parameter spells it."""
    return [("-" if desc else "") + key for key, desc in keys]


def _encode(keys: list[tuple[str, bool]], values: list) -> str:
    def enc(v):
        if isinstance(v, datetime):
            return {"dt": v.isoformat()}
        if isinstance(v, date):
            return {"d": v.isoformat()}
        return v

    # The cursor names its sort, so a cursor from another sort is refused, not misread.
    body = {"s": _signature(keys), "v": [enc(v) for v in values]}
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _fits(col, value) -> bool:
    """Whether a cursor value can be compared with `col` (a forged cursor must not reach SQL)."""
    if value is None:
        return True
    try:
        kind = col.type.python_type
    except NotImplementedError:
        return False
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:  # ids are INTEGER, a rating SMALLINT: a bind is cast to the column's type
        limit = inputs.int_limit(col.type)
        return isinstance(value, int) and not isinstance(value, bool) and -limit <= value < limit
    if kind in (float, Decimal):
        return not inputs.json_problems(value) and isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is datetime:
        return isinstance(value, datetime)
    if kind is date:
        return isinstance(value, date) and not isinstance(value, datetime)
    if kind is str:
        return isinstance(value, str) and inputs.text_problem(value) is None
    return isinstance(value, kind)


def _decode(cursor: str, keys: list[tuple[str, bool]], cols: list) -> list:
    def dec(v):
        if isinstance(v, dict) and "dt" in v:
            return datetime.fromisoformat(v["dt"])
        if isinstance(v, dict) and "d" in v:
            return date.fromisoformat(v["d"])
        return v

    invalid = ValidationFailed("The cursor is not valid for this sort; start again from the first page",
                               [{"field": "cursor", "message": "is not valid"}])
    try:
        body = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        values = [dec(v) for v in body["v"]]
        signature = body["s"]
    except Exception:
        raise invalid from None
    if signature != _signature(keys) or len(values) != len(cols) or not all(map(_fits, cols, values)):
        raise invalid
    return values


def _order(col, desc: bool):
    return col.desc() if desc else col.asc()


def _after(cols: list, descs: list[bool], values: list):
    """Rows strictly after `values` in (cols, descs) order with NULLs last, id last."""
    if not cols:
        return sa.false()
    col, desc, value = cols[0], descs[0], values[0]
    rest = _after(cols[1:], descs[1:], values[1:])
    if value is None:  # NULLs come last: only later NULLs follow
        return sa.and_(col.is_(None), rest)
    beyond = col < value if desc else col > value
    if not col.nullable:
        return sa.or_(beyond, sa.and_(col == value, rest))
    return sa.or_(beyond, sa.and_(col == value, rest), col.is_(None))


def _segments(cols: list, descs: list[bool], after: list | None) -> list[tuple]:
    """(where, order by) of each part of the page order, read one after the other.

    Blanks of the first sort column come last. Asking the database for exactly that
    (`NULLS LAST` on a descending sort) stops PostgreSQL from reading an index in order, so
    the non-blank and the blank rows are two queries, each with a plain ORDER BY and, after
    a cursor, a plain range bound (`amount <= 120`) that an index can serve.
    """
    col, desc = cols[0], descs[0]
    rest_order = [_order(c, d).nulls_last() for c, d in zip(cols[1:], descs[1:], strict=True)]
    first_order = [_order(col, desc), *rest_order]
    if after is None:
        if not col.nullable:
            return [(sa.true(), first_order)]
        return [(col.is_not(None), first_order), (col.is_(None), rest_order)]
    value, rest = after[0], _after(cols[1:], descs[1:], after[1:])
    if value is None:  # the cursor is among the blanks: only blanks follow
        return [(sa.and_(col.is_(None), rest), rest_order)]
    bound = col <= value if desc else col >= value
    beyond = col < value if desc else col > value
    ranged = (sa.and_(bound, sa.or_(beyond, sa.and_(col == value, rest))), first_order)
    return [ranged] if not col.nullable else [ranged, (col.is_(None), rest_order)]


def list_records(actor: Actor, runtime, form_key: str, *, condition=None, sort: str | None = None,
                 limit: int = 50, cursor: str | None = None, deleted: bool = False,
                 within=None) -> tuple[list[dict], str | None]:
    """A page of records the actor may see, and the cursor of the next page (or None).

    `within`: SQL the rows must also meet (a view's own filter, compiled by the caller)."""
    ft = runtime.form_tables(form_key)
    t = ft.table
    fa = access.form_access(actor, runtime, form_key)
    limit = max(1, min(int(limit), MAX_LIMIT))
    hidden = fa.hidden()
    keys = parse_sort(runtime, form_key, sort, hidden)
    if ("$id" not in [k for k, _ in keys]):
        keys.append(("$id", False))
    cols = [_column(ft, k) for k, _ in keys]
    descs = [d for _, d in keys]
    base = sa.select(t.c.id, *cols).where(
        fa.scope(t, "delete" if deleted else "view"),
        t.c.deleted_at.is_not(None) if deleted else t.c.deleted_at.is_(None),
        filter_clause(actor, runtime, form_key, condition, hidden=hidden),
        sa.true() if within is None else within,
    )
    after = _decode(cursor, keys, cols) if cursor else None
    rows: list = []
    for where, order in _segments(cols, descs, after):
        if len(rows) > limit:
            break
        stmt = base.where(where).order_by(*order).limit(limit + 1 - len(rows))
        rows.extend(db.session.execute(stmt).all())
    page = rows[:limit]
    records = store.load_records(ft, [r[0] for r in page], include_deleted=deleted)
    next_cursor = _encode(keys, list(page[-1][1:])) if len(rows) > limit else None
    return [fa.redact(records[r[0]]) for r in page if r[0] in records], next_cursor


def count_records(actor: Actor, runtime, form_key: str, condition=None, cap: int = 10_000,
                  within=None) -> tuple[int, bool]:
    """How many records match, counting at most `cap` (a full count is a full scan)."""
    ft = runtime.form_tables(form_key)
    t = ft.table
    fa = access.form_access(actor, runtime, form_key)
    inner = sa.select(t.c.id).where(fa.scope(t), t.c.deleted_at.is_(None),
                                    filter_clause(actor, runtime, form_key, condition, hidden=fa.hidden()),
                                    sa.true() if within is None else within).limit(cap + 1)
    n = db.session.execute(sa.select(sa.func.count()).select_from(inner.subquery())).scalar()
    return min(n, cap), n > cap
