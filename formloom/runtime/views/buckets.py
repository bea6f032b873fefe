"""A date bucket as an SQL expression, the same text on SQLite and PostgreSQL.

SQLite calls `formloom_date_bucket` (formloom/platform/sqlfunctions.py, which also says
what the keys look like); PostgreSQL converts a stored UTC moment to the app's time zone
with `timezone()` and formats it with `to_char`.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement

PG_FORMATS = {"day": "YYYY-MM-DD", "week": "YYYY-MM-DD", "month": "YYYY-MM", "quarter": 'YYYY-"Q"Q', "year": "YYYY"}


class DateBucket(ColumnElement):
    """`column`'s bucket; `tz` the app's time zone for moments, None for dates."""

    inherit_cache = False
    type = sa.String()

    def __init__(self, column, bucket: str, tz: str | None):
        self.column = column
        self.bucket = bucket
        self.tz = tz


@compiles(DateBucket)
def _sqlite(element, compiler, **kw):
    call = sa.func.formloom_date_bucket(element.column, sa.literal(element.bucket), sa.literal(element.tz))
    return compiler.process(call, **kw)


@compiles(DateBucket, "postgresql")
def _postgresql(element, compiler, **kw):
    local = element.column
    if element.tz:
        local = sa.func.timezone(sa.literal(element.tz), sa.func.timezone(sa.literal("UTC"), local))
    if element.bucket == "week":
        local = sa.func.date_trunc("week", local)
    return compiler.process(sa.func.to_char(local, sa.literal(PG_FORMATS[element.bucket])), **kw)
