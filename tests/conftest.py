"""Shared fixtures: an app on a fresh database per test, clients, users, apps, tokens.

Each test gets a clean database: a copy of a migrated SQLite file, or, on the PostgreSQL
server named by FORMLOOM_TEST_DATABASE_URL, a database of this test process (created,
migrated and finally dropped by the session) emptied before the test. Record tables are
created at publish time by DDL and services commit for real, so a rolled-back outer
transaction would not isolate tests; a clean database does, in milliseconds.
"""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import has_app_context
from flask.testing import FlaskClient

from formloom import create_app
from formloom.platform.extensions import db

from support_formloom import PG_URL, REDIS_URL, Api, AuthActions, Factory

pytest_plugins = ["support_rq", "support_http"]  # the redis_server and receiver fixtures

REDIS_SKIP = "Redis tests need FORMLOOM_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0)"
PG_SKIP = "PostgreSQL tests need FORMLOOM_TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)"


def _require_services() -> None:
    """In CI (FORMLOOM_REQUIRE_SERVICES=1) a missing service fails the run instead of skipping."""
    problems = []
    if not PG_URL:
        problems.append("FORMLOOM_TEST_DATABASE_URL is not set")
    else:
        try:
            engine = sa.create_engine(_pg_admin_url())
            with engine.connect():
                pass
            engine.dispose()
        except Exception as exc:  # noqa: BLE001 - any failure to connect is the message
            problems.append(f"PostgreSQL at FORMLOOM_TEST_DATABASE_URL is not reachable: {exc}")
    if not REDIS_URL:
        problems.append("FORMLOOM_TEST_REDIS_URL is not set")
    else:
        import redis

        try:
            redis.Redis.from_url(REDIS_URL).ping()
        except Exception as exc:  # noqa: BLE001
            problems.append(f"Redis at FORMLOOM_TEST_REDIS_URL is not reachable: {exc}")
    if not Path("/usr/bin/chromium").exists():
        problems.append("Debian's chromium is not installed (/usr/bin/chromium)")
    if problems:
        pytest.exit("Required services are missing: " + "; ".join(problems), returncode=3)


def pytest_sessionstart(session):
    if os.environ.get("FORMLOOM_REQUIRE_SERVICES") == "1" and not hasattr(session.config, "workerinput"):
        _require_services()


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason=PG_SKIP)
    skip_redis = pytest.mark.skip(reason=REDIS_SKIP)
    for item in items:
        if "postgres" in item.keywords and not PG_URL:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not REDIS_URL:
            item.add_marker(skip_redis)


def _pg_admin_url() -> str:
    url = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1) if PG_URL.startswith("postgresql://") else PG_URL
    return url


def _migrate(app) -> None:
    from formloom.platform.cli import upgrade_database

    with app.app_context():
        upgrade_database()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite database file that each test copies."""
    folder = tmp_path_factory.mktemp("template")
    app = create_app({"TESTING": True, "FORMLOOM_INSTANCE": str(folder),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'formloom.db'}"})
    _migrate(app)
    return folder / "formloom.db"


@pytest.fixture(scope="session")
def pg_database(tmp_path_factory):
    """A migrated PostgreSQL database for this test process; dropped at the end.

    Tests reuse it and `_reset_pg` empties it before each one: creating a database per test
    costs 0.5-2 s on a server that syncs to disk, emptying one costs milliseconds.
    """
    if not PG_URL:
        pytest.skip(PG_SKIP)
    admin = sa.create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    name = f"fl_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    folder = tmp_path_factory.mktemp("pgdatabase")
    url = _pg_admin_url().rsplit("/", 1)[0] + f"/{name}"
    app = create_app({"TESTING": True, "FORMLOOM_INSTANCE": str(folder), "SQLALCHEMY_DATABASE_URI": url})
    _migrate(app)
    engine = sa.create_engine(url)
    yield url, engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _reset_pg(engine) -> None:
    """Drop the record tables and empty the platform tables, keeping the migrated schema.

    DELETE and a sequence reset, not TRUNCATE: TRUNCATE makes new files for every table,
    which a server that syncs to disk pays for in tenths of a second.
    """
    platform = set(db.metadata.tables) | {"alembic_version"}
    with engine.begin() as conn:
        tables = sa.inspect(conn).get_table_names()
        records = [t for t in tables if t not in platform]
        if records:
            conn.execute(sa.text("DROP TABLE " + ", ".join(f'"{t}"' for t in records) + " CASCADE"))
        conn.execute(sa.text("SET CONSTRAINTS ALL DEFERRED"))
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
        for (seq,) in conn.execute(sa.text("SELECT sequence_name FROM information_schema.sequences")):
            conn.execute(sa.text(f'ALTER SEQUENCE "{seq}" RESTART'))
        conn.execute(sa.text("INSERT INTO cache_epoch (id, value, statistics) VALUES (1, 0, 0)"))  # as the migration seeds it


def _sqlite_config(tmp_path, template) -> dict:
    shutil.copy(template, tmp_path / "formloom.db")
    return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'formloom.db'}"}


class FreshContextClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    The `app` fixture keeps an app context pushed for direct service calls; without this,
    requests would share its `g` (cached locale, API token) and its database session.
    """

    def open(self, *args, **kwargs):
        outer = has_app_context()
        if outer:
            db.session.commit()  # the request sees what the test wrote
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        if outer:
            db.session.commit()  # and the test sees what the request wrote
        return response


def _make_app(tmp_path, database: dict, **extra):
    config = {"TESTING": True, "FORMLOOM_INSTANCE": str(tmp_path), "WTF_CSRF_ENABLED": False,
              "RATELIMIT_ENABLED": False, "SECRET_KEY": "test",
              # scrypt costs a quarter second per user; tests make many users
              "FORMLOOM_PASSWORD_METHOD": "pbkdf2:sha256:1000", "FORMLOOM_TIMEZONE": "Asia/Shanghai",
              **database, **extra}
    flask_app = create_app(config)
    flask_app.test_client_class = FreshContextClient
    return flask_app


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db(request):
    """Run the test once on SQLite and once on PostgreSQL."""
    return request.param


@pytest.fixture
def database(request, tmp_path, sqlite_template):
    """The database config for this test: SQLite unless `any_db` asks for PostgreSQL."""
    kind = request.getfixturevalue("any_db") if "any_db" in request.fixturenames else "sqlite"
    if kind == "sqlite":
        yield _sqlite_config(tmp_path, sqlite_template)
        return
    url, engine = request.getfixturevalue("pg_database")
    _reset_pg(engine)
    yield {"SQLALCHEMY_DATABASE_URI": url}


@pytest.fixture
def app(tmp_path, database):
    from formloom.runtime import apps as runtime_apps

    flask_app = _make_app(tmp_path, database)
    ctx = flask_app.app_context()
    ctx.push()
    yield flask_app
    db.session.remove()
    db.engine.dispose()
    ctx.pop()
    runtime_apps.forget()


@pytest.fixture
def app_with(tmp_path, database):
    """`app_with(**config)` -> an app on this test's database with extra config (pushed)."""
    from formloom.runtime import apps as runtime_apps

    made = []

    def make_app(**config):
        flask_app = _make_app(tmp_path, database, **config)
        ctx = flask_app.app_context()
        ctx.push()
        made.append(ctx)
        return flask_app

    yield make_app
    for ctx in reversed(made):
        db.session.remove()
        db.engine.dispose()
        ctx.pop()
    runtime_apps.forget()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make(app):
    return Factory(app)


@pytest.fixture
def api_as(client, make):
    """`api_as(user)` -> an Api client acting as that user."""
    return lambda user, **kw: Api(client, make.token(user, **kw))


@pytest.fixture
def auth(client):
    return AuthActions(client)
