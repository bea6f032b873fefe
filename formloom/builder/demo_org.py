"""A template's demo organisation: departments with their heads, users with roles.

Idempotent: people are found by email and departments by name, so running the demo twice
changes nothing but the passwords.
"""
from __future__ import annotations

import sqlalchemy as sa

from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import Department, Role, User


def ensure_people(spec: dict, password: str) -> dict[str, int]:
    """Create (or find) `spec`'s departments and users; person and department keys -> ids.

    `spec` is `{"departments": [{"key", "name", "parent", "head"}], "users": [{"key", "name",
    "email", "department", "roles"}]}`, parents before children; the roles must exist (the
    template's publish creates them).
    """
    ids: dict[str, int] = {}
    with write_transaction():
        depts = {}
        for d in spec["departments"]:
            parent = depts[d["parent"]].id if d.get("parent") else None
            dept = db.session.execute(sa.select(Department).where(Department.name == d["name"],
                                                                  Department.parent_id.is_(parent)
                                                                  if parent is None else
                                                                  Department.parent_id == parent)).scalar()
            if dept is None:
                dept = Department(name=d["name"], parent_id=parent)
                db.session.add(dept)
                db.session.flush()
            depts[d["key"]] = dept
            ids[d["key"]] = dept.id
        roles = {r.key: r for r in db.session.execute(sa.select(Role)).scalars()}
        for u in spec["users"]:
            user = db.session.execute(sa.select(User).where(User.email == u["email"].lower())).scalar()
            if user is None:
                user = User(email=u["email"].lower(), name=u["name"], active=True, is_admin=False)
                db.session.add(user)
            user.department_id = depts[u["department"]].id
            user.roles = sorted({*user.roles, *(roles[k] for k in u["roles"])}, key=lambda r: r.key)
            user.set_password(password)
            db.session.flush()
            ids[u["key"]] = user.id
        for d in spec["departments"]:
            if d.get("head"):
                depts[d["key"]].head_id = ids[d["head"]]
    return ids
