"""Organisation queries the runtime needs: the department tree and who reports to whom."""
from __future__ import annotations

import sqlalchemy as sa

from formloom.platform.extensions import db
from formloom.platform.models import Department, User


def department_subtree(root_ids: list[int]) -> set[int]:
    """The departments `root_ids` and every department below them."""
    rows = db.session.execute(sa.select(Department.id, Department.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for did, parent in rows:
        children.setdefault(parent, []).append(did)
    seen: set[int] = set()
    stack = list(root_ids)
    while stack:
        did = stack.pop()
        if did in seen:
            continue
        seen.add(did)
        stack.extend(children.get(did, []))
    return seen


def subordinates(user_id: int | None) -> tuple[int, ...]:
    """Everyone in the departments the user heads, down the tree (the user excluded)."""
    if user_id is None:
        return ()
    headed = db.session.execute(sa.select(Department.id).where(Department.head_id == user_id)).scalars().all()
    if not headed:
        return ()
    depts = department_subtree(list(headed))
    ids = db.session.execute(
        sa.select(User.id).where(User.department_id.in_(depts), User.id != user_id)
    ).scalars().all()
    return tuple(sorted(ids))


def existing_users(ids: list[int]) -> set[int]:
    return set(db.session.execute(sa.select(User.id).where(User.id.in_(ids))).scalars())


def existing_departments(ids: list[int]) -> set[int]:
    return set(db.session.execute(sa.select(Department.id).where(Department.id.in_(ids))).scalars())
