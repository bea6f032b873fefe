"""A date bucket as an SQL expression, the same text on SQLite and PostgreSQL.

SQLite calls `formloom_date_bucket` (formloom/platform/sqlfunctions.py, which also says
what the keys look like); PostgreSQL converts a stored UTC moment to the app's time zone
with `timezone()` and formats it with `to_char`.

For a GROUP BY over many rows, `DateBucket.start()` is the bucket's first moment
(PostgreSQL's `date_trunc` of a plain timestamp, cheaper per row than formatting text) and
`BucketText` formats it once per group; on SQLite both are the text key.
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


class BucketStart(ColumnElement):
    """The first moment of `column`'s bucket (PostgreSQL), or its text key (SQLite)."""

    inherit_cache = False
    type = sa.DateTime()

    def __init__(self, column, bucket: str, tz: str | None):
        self.column = column
        self.bucket = bucket
        self.tz = tz


class BucketText(ColumnElement):
    """A bucket's text key from its `BucketStart` (as `DateBucket` writes it)."""

    inherit_cache = False
    type = sa.String()

    def __init__(self, start, bucket: str):
        self.start = start
        self.bucket = bucket


def _start(element: DateBucket):
    return BucketStart(element.column, element.bucket, element.tz)


DateBucket.start = _start


@compiles(BucketStart)
def _sqlite_start(element, compiler, **kw):
    return compiler.process(DateBucket(element.column, element.bucket, element.tz), **kw)


@compiles(BucketStart, "postgresql")
def _postgresql_start(element, compiler, **kw):
    if element.tz:
        local = sa.func.timezone(sa.literal(element.tz), sa.func.timezone(sa.literal("UTC"), element.column))
    else:
        local = sa.cast(element.column, sa.DateTime())
    return compiler.process(sa.func.date_trunc(sa.literal(element.bucket), local), **kw)


@compiles(BucketText)
def _sqlite_text(element, compiler, **kw):
    return compiler.process(element.start, **kw)


@compiles(BucketText, "postgresql")
def _postgresql_text(element, compiler, **kw):
    return compiler.process(sa.func.to_char(element.start, sa.literal(PG_FORMATS[element.bucket])), **kw)
