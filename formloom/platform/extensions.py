"""Flask extensions, created unbound and bound in `init_app`."""
from contextlib import contextmanager

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine

from formloom.platform import sqlfunctions

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()
login_manager = LoginManager()
babel = Babel()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, _record):
    # SQLite: WAL for concurrent readers, foreign keys on, a busy timeout, and we issue
    # BEGIN ourselves (pysqlite's implicit BEGIN is deferred; see `_sqlite_begin`).
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
    sqlfunctions.register(dbapi_connection)


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    # A deferred transaction that reads and then writes gets SQLITE_BUSY at once, ignoring
    # the busy timeout. Write transactions ask for BEGIN IMMEDIATE through `write_transaction`.
    if conn.dialect.name != "sqlite":
        return
    if conn.get_execution_options().get("formloom_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


_WRITING = "formloom_write_transaction"


def writing() -> bool:
    """Whether the current session is inside `write_transaction`."""
    return bool(db.session().info.get(_WRITING))


@contextmanager
def write_transaction():
    """Run the block as one write transaction: committed on success, rolled back on error.

    Ends any read transaction the request had open first, so on SQLite the write starts
    with BEGIN IMMEDIATE and waits for the lock (busy timeout) instead of failing. Inside
    another write transaction it joins that one: the outermost block commits or rolls back
    (an automation's actions are one transaction however many records they write).
    """
    session = db.session()  # the request's Session behind the scoped proxy
    if session.info.get(_WRITING):
        yield session
        return
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={"formloom_write": True})
    session.info[_WRITING] = True
    try:
        yield session
        session.info.pop(_WRITING, None)
        session.commit()
    except BaseException:
        session.info.pop(_WRITING, None)
        session.rollback()
        raise
