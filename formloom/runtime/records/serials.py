"""Serial numbers: a counter row incremented with UPDATE ... RETURNING in the record's
transaction, never SELECT max()+1, so concurrent creates never share a number."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from formloom.platform.extensions import db
from formloom.platform.models import SerialCounter


def reserve(app_id: int, form_key: str, field_key: str, period: str, count: int = 1) -> int:
    """Reserve `count` numbers; return the first."""
    t = SerialCounter.__table__
    where = (t.c.app_id == app_id, t.c.form_key == form_key, t.c.field_key == field_key, t.c.period == period)
    bump = sa.update(t).where(*where).values(seq=t.c.seq + count).returning(t.c.seq)
    last = db.session.execute(bump).scalar()
    if last is None:
        dialect = db.session.get_bind().dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(t)
        db.session.execute(insert.values(app_id=app_id, form_key=form_key, field_key=field_key,
                                         period=period, seq=0).on_conflict_do_nothing())
        last = db.session.execute(bump).scalar()
    return last - count + 1


def peek(app_id: int, form_key: str, field_key: str, period: str) -> int:
    """The number the next `reserve` would give, reserving nothing (a preview: another save
    may take it first)."""
    t = SerialCounter.__table__
    seq = db.session.execute(sa.select(t.c.seq).where(
        t.c.app_id == app_id, t.c.form_key == form_key, t.c.field_key == field_key, t.c.period == period)).scalar()
    return (seq or 0) + 1
