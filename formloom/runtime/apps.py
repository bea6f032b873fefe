"""Published apps as the runtime uses them: compiled definition plus tables, cached.

Each process keeps one compiled runtime per (app, version). A request finds the app's
current version with one indexed read, so a publish in another process is seen at once.
"""
from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field

import sqlalchemy as sa

from formloom.platform import epoch
from formloom.platform.extensions import db
from formloom.platform.models import App, AppVersion
from formloom.runtime.definition import AppDef, FormDef
from formloom.runtime.exceptions import NotFound
from formloom.runtime.schema import compile_app
from formloom.runtime.storage.tables import FormTables, build_app_tables


@dataclass
class AppRuntime:
    app_id: int
    key: str
    name: str
    version: int
    definition: AppDef
    storage: dict
    metadata: sa.MetaData
    tables: dict[str, FormTables]
    source: dict = field(default_factory=dict)  # the definition as published, untouched

    def form(self, key: str) -> FormDef:
        try:
            return self.definition.forms[key]
        except KeyError:
            raise NotFound(f'App "{self.key}" has no form "{key}"') from None

    def form_tables(self, key: str) -> FormTables:
        self.form(key)
        return self.tables[key]

    @property
    def raw(self) -> dict:
        """The published definition as the admin wrote it (compiling annotates its own copy); read-only."""
        return self.source


# Keyed by database too: one process may serve several databases (tests, CLI tools).
_cache: dict[tuple[str, int, int], AppRuntime] = {}
_lock = threading.Lock()


def build_runtime(app_id: int, key: str, name: str, number: int, definition: dict, storage: dict) -> AppRuntime:
    appdef = compile_app(definition, stored=True)  # checked in full when it was published
    metadata, tables = build_app_tables(appdef, storage)
    return AppRuntime(app_id, key, name, number, appdef, storage, metadata, tables, copy.deepcopy(definition))


def get_runtime(app_key: str) -> AppRuntime:
    """The published runtime of the app `app_key`. Raises NotFound."""
    row = epoch.cached("app", app_key, lambda: _published(app_key))
    if row is None or not row[1]:
        raise NotFound(f'No published app "{app_key}"')
    return runtime_for(*row)


def _published(app_key: str) -> tuple[int, int] | None:
    """The app's id and published version (0: never published)."""
    row = db.session.execute(sa.select(App.id, App.published_version)
                             .where(App.key == app_key, App.deleted_at.is_(None))).first()
    return None if row is None else (row.id, row.published_version)


def _db_key() -> str:
    return str(db.engine.url)


def runtime_for(app_id: int, version: int) -> AppRuntime:
    key = (_db_key(), app_id, version)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    ver = db.session.execute(
        sa.select(AppVersion).where(AppVersion.app_id == app_id, AppVersion.number == version)
    ).scalar_one()
    app = db.session.get(App, app_id)
    return keep(build_runtime(app_id, app.key, app.name, version, ver.definition, ver.storage))


def keep(runtime: AppRuntime) -> AppRuntime:
    """Cache a runtime of a committed version (a publish hands over the one it built)."""
    key = (_db_key(), runtime.app_id, runtime.version)
    with _lock:
        # Keep only the newest version of each app.
        for stale in [k for k in _cache if k[:2] == key[:2] and k[2] != runtime.version]:
            _cache.pop(stale, None)
        _cache[key] = runtime
    return runtime


def forget(app_id: int | None = None) -> None:
    """Drop cached runtimes (all, or one app's): after a purge or in tests."""
    with _lock:
        for key in [k for k in _cache if app_id is None or k[1] == app_id]:
            _cache.pop(key, None)
