"""Where a user sits in the organisation, as access rules and conditions read it."""
from __future__ import annotations

import sqlalchemy as sa

from formloom.platform.extensions import db
from formloom.platform.models import Department, User


def department_members(department_id: int | None) -> tuple[int, ...]:
    """The users of one department (not of those below it)."""
    if department_id is None:
        return ()
    return tuple(sorted(db.session.execute(
        sa.select(User.id).where(User.department_id == department_id)).scalars()))


def department_ancestors(department_id: int | None) -> list[int]:
    """The department and every department above it, nearest first."""
    if department_id is None:
        return []
    parents = dict(db.session.execute(sa.select(Department.id, Department.parent_id)).all())
    out: list[int] = []
    current = department_id
    while current is not None and current not in out:
        out.append(current)
        current = parents.get(current)
    return out
