"""A user's small settings, one JSON value per scope (a string naming the place, e.g.
"app:3:form:deals:columns"). Read on every page that honours one; written when the user
chooses; dropped for "reset"."""
from __future__ import annotations

from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import UserPreference


def get(user_id: int | None, scope: str):
    """The user's value for the scope, or None when they have not chosen (or no user)."""
    if user_id is None:
        return None
    row = db.session.execute(db.select(UserPreference.value).filter_by(user_id=user_id, scope=scope)).first()
    return row[0] if row else None


def put(user_id: int, scope: str, value) -> None:
    """Keep the user's value for the scope (replacing an earlier one)."""
    with write_transaction() as session:
        row = session.execute(db.select(UserPreference).filter_by(user_id=user_id, scope=scope)).scalar_one_or_none()
        if row is None:
            session.add(UserPreference(user_id=user_id, scope=scope, value=value))
        else:
            row.value = value


def drop(user_id: int, scope: str) -> None:
    """Forget the user's value for the scope: the place shows its default again."""
    with write_transaction() as session:
        session.execute(db.delete(UserPreference).filter_by(user_id=user_id, scope=scope))
