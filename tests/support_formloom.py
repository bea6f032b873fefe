"""Test helpers shared by every test package: factories and clients.

A module with a unique name (not `conftest`), so tests import it unambiguously:
`from support_formloom import Factory`.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

from formloom.platform.actor import Actor

PG_URL = os.environ.get("FORMLOOM_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("FORMLOOM_TEST_REDIS_URL")
DATA = Path(__file__).parent / "data"


@contextmanager
def statements():
    """The SQL statements (and COMMITs) the database is sent inside the block, in order."""
    import sqlalchemy as sa

    from formloom.platform.extensions import db

    seen: list[str] = []

    def note(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    def commit(conn):
        seen.append("COMMIT")

    sa.event.listen(db.engine, "before_cursor_execute", note)
    sa.event.listen(db.engine, "commit", commit)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)
        sa.event.remove(db.engine, "commit", commit)


class Factory:
    """Makes users, tokens and apps for tests."""

    def __init__(self, app):
        self.app = app
        self.n = 0

    def user(self, name: str | None = None, admin: bool = False, password: str = "secret-pass-1", **extra):
        from formloom.platform.cli import ensure_user

        self.n += 1
        name = name or f"User {self.n}"
        email = extra.pop("email", None) or f"{name.lower().replace(' ', '.')}.{self.n}@example.com"
        return ensure_user(email, name, password, admin=admin, **extra)

    def actor(self, user) -> Actor:
        return Actor.from_user(user)

    def token(self, user, **kw) -> str:
        from formloom.platform.auth import create_token

        return create_token(user, **kw)

    def install(self, definition: dict | str = "sales-mini", owner=None, members=()):
        """Create and publish an app; returns its runtime."""
        from formloom.builder.apps import add_member, create_app
        from formloom.runtime.apps import get_runtime

        if isinstance(definition, str):
            definition = json.loads((DATA / f"{definition}.json").read_text("utf-8"))
        owner = owner or self.user("Owner", admin=False)
        create_app(Actor.from_user(owner), definition)
        for member in members:
            add_member(Actor.from_user(owner), definition["key"], member.id)
        return get_runtime(definition["key"])


class Api:
    """A JSON client that sends a Bearer token."""

    def __init__(self, client, token: str):
        self.client = client
        self.token = token

    def _headers(self, headers):
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def get(self, url, headers=None, **kw):
        return self.client.get(url, headers=self._headers(headers), **kw)

    def post(self, url, json=None, headers=None, **kw):
        return self.client.post(url, json=json, headers=self._headers(headers), **kw)

    def patch(self, url, json=None, headers=None, **kw):
        return self.client.patch(url, json=json, headers=self._headers(headers), **kw)

    def put(self, url, json=None, headers=None, **kw):
        return self.client.put(url, json=json, headers=self._headers(headers), **kw)

    def delete(self, url, headers=None, **kw):
        return self.client.delete(url, headers=self._headers(headers), **kw)


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email: str, password: str = "secret-pass-1"):
        return self.client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self.client.post("/logout")


def conforms(schema: dict, value) -> bool:
    """Whether a JSON value validates against `schema`, formats (date, date-time) included."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).is_valid(value)


def assert_round_trips(field: dict, sent, ctx=None) -> None:
    """A value the field accepts comes out as JSON its value schema allows, and reads back equal."""
    from formloom.runtime.fields import FieldValueError, ValueContext, field_types

    ftype, ctx = field_types.get(field["type"]), ctx or ValueContext()
    try:
        value = ftype.to_python(field, sent, ctx)
    except FieldValueError:
        return
    as_json = ftype.to_json(field, value)
    assert conforms(ftype.value_schema(field), as_json)
    assert ftype.to_python(field, as_json, ctx) == value


def assert_schema_accepts(field: dict, sent) -> None:
    """What the field's value schema allows, the field accepts (no FieldValueError)."""
    from formloom.runtime.fields import ValueContext, field_types

    ftype = field_types.get(field["type"])
    if conforms(ftype.value_schema(field), sent):
        ftype.to_python(field, sent, ValueContext())


def problem(resp, status: int) -> dict:
    """The problem+json body of a response that must have `status`."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def browser(app, user):
    """A test client signed in as `user`, reading English."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert client.post("/login", data={"email": user.email, "password": "secret-pass-1"}).status_code == 302
    return client
