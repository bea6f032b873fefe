"""A throwaway Formloom instance for one benchmark: database, app, user, the example app."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from formloom import create_app
from formloom.builder.apps import create_app as install_app
from formloom.platform.actor import Actor
from formloom.platform.auth import create_token
from formloom.platform.cli import ensure_user, upgrade_database
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import Role, User
from formloom.runtime.apps import forget, get_runtime

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
APP_KEY = "sales_mini"


@dataclass
class BenchEnv:
    """What a benchmark gets: the Flask app, its kind of database, the user and the app runtime."""

    app: Flask
    db: str  # "sqlite" | "postgres"
    user_id: int
    token: str
    folder: Path
    rep_id: int = 0  # a sales rep: the grant REP_GRANT shows them their own deals only

    def actor(self):
        return Actor.from_user(db.session.get(User, self.user_id))

    def rep(self):
        return Actor.from_user(db.session.get(User, self.rep_id))

    def runtime(self):
        return get_runtime(APP_KEY)


def pg_server_url() -> str:
    """The server to create benchmark databases on (FORMLOOM_BENCH_DATABASE_URL overrides)."""
    url = os.environ.get("FORMLOOM_BENCH_DATABASE_URL") or DEFAULT_PG
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


REP_ROLE = "bench_rep"
# Reps manage their own deals and do not see the probability: row and field rules to pay for.
REP_GRANT = {"form": "deal", "to": {"role": REP_ROLE}, "preset": "manage_own", "fields": {"hidden": ["probability"]}}


def definition() -> dict:
    """The reference example app (a copy of tests/data/sales-mini.json shipped in the package),
    with a grant for reps on deals."""
    text = resources.files("formloom.app_templates.sales_mini").joinpath("definition.json").read_text("utf-8")
    defn = json.loads(text)
    defn["roles"] = [*defn.get("roles", []), {"key": REP_ROLE, "name": "Rep"}]
    defn["permissions"] = [*defn.get("permissions", []), REP_GRANT]
    return defn


@contextmanager
def database(kind: str, folder: Path):
    """Yield the URL of a fresh, empty database of `kind`; drop it afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'formloom.db'}"
        return
    server = pg_server_url()
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def bench_env(kind: str):
    """A migrated instance with a user who owns the installed example app."""
    folder = Path(tempfile.mkdtemp(prefix="formloom-bench-"))
    try:
        with database(kind, folder) as url:
            app = create_app({"FORMLOOM_INSTANCE": str(folder), "SQLALCHEMY_DATABASE_URI": url,
                              "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False})
            with app.app_context():
                upgrade_database()
                # An app owner, not an organisation admin: the common case, and the one
                # whose access checks read the database.
                user = ensure_user("bench@example.com", "Bench", "bench-pass-1")
                install_app(Actor.from_user(user), definition())
                token = create_token(user, name="bench")
                rep = ensure_user("rep@example.com", "Rep", "bench-pass-1")
                with write_transaction():
                    db.session.get(User, rep.id).roles = list(db.session.execute(
                        sa.select(Role).where(Role.key == REP_ROLE)).scalars())
                env = BenchEnv(app=app, db=kind, user_id=user.id, token=token, folder=folder, rep_id=rep.id)
            try:
                yield env
            finally:
                with app.app_context():
                    db.session.remove()
                    db.engine.dispose()
                forget()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def server_version() -> str:
    """The database engine and version, inside an app context."""
    if db.engine.dialect.name == "sqlite":
        return "SQLite " + db.session.execute(sa.text("select sqlite_version()")).scalar()
    return "PostgreSQL " + db.session.execute(sa.text("show server_version")).scalar()
