"""Counts a page can afford: exact up to a threshold, past it PostgreSQL's own estimate of
the rows (the planner's, from EXPLAIN: no scan), shown as such ("about 1.2 million"), so no
page over millions of records waits on COUNT(*). Where there is no estimate (SQLite) the
count stops at the threshold ("10,000+")."""
from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa

from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.runtime import access
from formloom.runtime.records import query

THRESHOLD = 10_000


@dataclass(frozen=True)
class Count:
    n: int
    exact: bool  # False: at least `n` (no estimate), or about `n` (estimated)
    estimated: bool = False


def count(actor: Actor, runtime, form_key: str, condition=None, within=None, cap: int = THRESHOLD) -> Count:
    """The records the actor may see that match: exact up to `cap`, else estimated."""
    n, more = query.count_records(actor, runtime, form_key, condition, cap=cap, within=within)
    if not more:
        return Count(n, True)
    guess = estimate(actor, runtime, form_key, condition, within)
    if guess is None or guess <= cap:
        return Count(cap, False)
    return Count(guess, False, estimated=True)


def estimate(actor: Actor, runtime, form_key: str, condition=None, within=None) -> int | None:
    """The planner's estimate of the matching rows on PostgreSQL; None elsewhere."""
    if db.engine.dialect.name != "postgresql":
        return None
    t = runtime.form_tables(form_key).table
    fa = access.form_access(actor, runtime, form_key)
    stmt = sa.select(t.c.id).where(fa.scope(t), t.c.deleted_at.is_(None),
                                   query.filter_clause(actor, runtime, form_key, condition, hidden=fa.hidden()),
                                   sa.true() if within is None else within)
    compiled = stmt.compile(dialect=db.engine.dialect)
    try:
        with db.session.begin_nested():
            plan = db.session.connection().exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled),
                                                           compiled.params).scalar()
    except sa.exc.DBAPIError:
        return None
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])
