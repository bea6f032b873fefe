"""Keeping lookups and rollups current: in the transaction of the change that moves them, or,
past `inline_limit()` dependents, by a background refresh (`refreshes.py`) with the records
marked "updating" until it reaches them.

A lookup is computed when its record is saved (from the linked record), and again in every
record linking to a record whose source field changes. A rollup is recomputed, with one
aggregate query per batch of parents, whenever a related record is created, changed in its
link, aggregated field or condition fields, deleted or restored. A record whose lookups or
rollups change is written like any change (version, revision, outbox event, its formulas
recomputed), and its own dependents follow in turn; publishing refuses cycles, and
`MAX_DEPTH` bounds the chain.
"""
from __future__ import annotations

import copy
import dataclasses
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC
from functools import cached_property
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, has_app_context

from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import OutboxEvent, RecordRevision
from formloom.runtime import conditions
from formloom.runtime.exceptions import Conflict
from formloom.runtime.fields import field_types, type_of
from formloom.runtime.fields.lookup import TARGET
from formloom.runtime.fields.rollup import RollupFieldType
from formloom.runtime.records import query, refreshes
from formloom.runtime.records.context import app_timezone, now_utc, value_context
from formloom.runtime.records.serialize import json_value, record_json
from formloom.runtime.records.values import compute_formulas
from formloom.runtime.storage import store

MAX_DEPTH = 8
SYSTEM = Actor.system()
# Set while a background refresh runs: what it reaches further is done there and then.
_BACKGROUND: ContextVar[bool] = ContextVar("formloom_relations_background", default=False)
# The time rollup conditions read (None: now); the daily pass sets its slot's time.
CLOCK: ContextVar = ContextVar("formloom_relations_clock", default=None)


@dataclass(frozen=True)
class Lookup:
    form: str
    key: str
    link: str
    source_form: str
    source: str


@dataclass(frozen=True)
class Rollup:
    form: str  # the form holding the rollup (the parents)
    key: str
    other: str  # the form aggregated
    link: str  # its link field pointing at `form`
    agg: str
    field: str | None
    where: dict | None
    multiple: bool

    @cached_property
    def watched(self) -> frozenset[str]:
        """The fields of `other` whose change can move the rollup."""
        keys = {self.link, *(conditions.fields_used(self.where) if self.where else ())}
        if self.field:
            keys.add(self.field)
        return frozenset(keys)


@dataclass
class Index:
    lookups: dict[str, list[Lookup]]  # form -> its lookup fields
    by_source: dict[str, list[Lookup]]  # source form -> lookups reading it
    rollups: dict[str, list[Rollup]]  # form -> its rollup fields
    by_other: dict[str, list[Rollup]]  # aggregated form -> rollups over it

    @property
    def empty(self) -> bool:
        return not self.lookups and not self.rollups


def index(runtime) -> Index:
    """Who depends on whom in this app (worked out once per compiled version)."""
    cached = runtime.__dict__.get("_relations")
    if cached is not None:
        return cached
    out = Index({}, {}, {}, {})
    for form in runtime.definition.forms.values():
        for key, f in form.fields.items():
            if type_of(f).copies_linked_value and TARGET in f:
                dep = Lookup(form.key, key, f["link"], form.fields[f["link"]]["form"], f["field"])
                out.lookups.setdefault(form.key, []).append(dep)
                out.by_source.setdefault(dep.source_form, []).append(dep)
            elif type_of(f).aggregates_linking_records:
                other = runtime.definition.forms[f["form"]]
                dep = Rollup(form.key, key, f["form"], f["link"], f["agg"], f.get("field"), f.get("where"),
                             bool(other.fields[f["link"]].get("multiple")))
                out.rollups.setdefault(form.key, []).append(dep)
                out.by_other.setdefault(dep.other, []).append(dep)
    runtime.__dict__["_relations"] = out
    return out


# -- a record's own values, on save ----------------------------------------------------------------
def compute_lookups(runtime, form, values: dict, creating: bool, cache: dict | None = None) -> None:
    """Fill the form's lookups from the linked records (and, creating, empty rollups).
    `cache` (one per transaction) keeps what was read: a bulk create reads each linked record once."""
    deps = index(runtime)
    for dep in deps.lookups.get(form.key, ()):
        link = values.get(dep.link)
        slot = (dep.source_form, dep.source, link)
        if cache is None or slot not in cache:
            value = _source_values(runtime, dep, [link]).get(link)
            if cache is None:
                values[dep.key] = value
                continue
            cache[slot] = value
        values[dep.key] = cache[slot]
    if creating:
        for dep in deps.rollups.get(form.key, ()):
            values[dep.key] = 0 if dep.agg in ("count", "sum") else None


# -- the records that depend on a change -------------------------------------------------------------
def after_write(runtime, form_key: str, before: dict | None, after: dict, action: str, depth: int = 0) -> None:
    """Bring up to date what depends on the record just created, changed, deleted or restored."""
    if index(runtime).empty:
        return
    _propagate(runtime, form_key, [(before, after)], action, depth)


def after_bulk(runtime, form_key: str, rows: list[dict]) -> None:
    """After a bulk create: each parent's rollups once, however many of its children came."""
    todo: dict[str, set[int]] = {}
    for dep in index(runtime).by_other.get(form_key, ()):
        parents = todo.setdefault(dep.form, set())
        for values in rows:
            parents |= _ids(values.get(dep.link))
    _bring_up_to_date(runtime, todo, {"kind": "source", "form": form_key, "records": len(rows)}, 0)


def _propagate(runtime, form_key: str, pairs: list[tuple[dict | None, dict]], action: str, depth: int) -> None:
    """The dependents of several changed records of one form, each refreshed once: in this
    transaction, or by a background job when they are more than the inline limit."""
    deps = index(runtime)
    changes = [(before, after, _changed(before, after) if action == "updated" else None) for before, after in pairs]
    todo: dict[str, set[int]] = {}
    fields: dict[str, set[str]] = {}
    for dep in deps.by_source.get(form_key, ()):
        moved = [after["id"] for _before, after, changed in changes if changed is not None and dep.source in changed]
        if moved:
            ft = runtime.form_tables(dep.form)
            ids = todo.setdefault(dep.form, set())
            for batch in store.chunks(moved):
                ids.update(db.session.execute(sa.select(ft.table.c.id).where(
                    ft.columns[dep.link].in_(batch))).scalars())  # those in the bin too
            fields.setdefault(dep.form, set()).add(dep.source)
    for dep in deps.by_other.get(form_key, ()):
        parents = todo.setdefault(dep.form, set())
        for before, after, changed in changes:
            if changed is None or dep.watched & changed:
                parents |= _ids((before or {}).get("fields", {}).get(dep.link)) | _ids(after["fields"].get(dep.link))
                fields.setdefault(dep.form, set()).update(dep.watched & changed if changed else {dep.link})
    cause = {"kind": "source", "form": form_key, "records": len(pairs)}
    if len(pairs) == 1:
        cause["record"] = pairs[0][1]["id"]
    _bring_up_to_date(runtime, todo, cause, depth, fields)


def _bring_up_to_date(runtime, todo: dict[str, set[int]], cause: dict, depth: int,
                      fields: dict[str, set[str]] | None = None) -> None:
    for target, ids in todo.items():
        if len(ids) > inline_limit() and not _BACKGROUND.get():
            refreshes.defer(runtime, target, sorted(ids), {**cause, "fields": sorted((fields or {}).get(target, ()))})
        else:
            refresh(runtime, target, sorted(ids), depth + 1, caused_by=revision_cause(cause))


def inline_limit() -> int:
    """How many dependent records one change brings up to date in its own transaction."""
    return int(current_app.config.get("FORMLOOM_RELATIONS_INLINE") or 500) if has_app_context() else 500


def _changed(before: dict | None, after: dict) -> set[str]:
    old = (before or {}).get("fields", {})
    return {k for k, v in after["fields"].items() if old.get(k) != v}


def _ids(value) -> set[int]:
    items = value if isinstance(value, list) else [value]
    return {v for v in items if isinstance(v, int) and not isinstance(v, bool)}


def revision_cause(cause: dict) -> str | None:
    """What a refresh's revisions name as their cause: "relate:<form>:<id>" for a change of one
    record (the history says which), "relate:<form>" for several."""
    if cause.get("kind") != "source":
        return None
    return f"relate:{cause['form']}:{cause['record']}" if cause.get("record") else f"relate:{cause['form']}"


def refresh(runtime, form_key: str, ids: list[int], depth: int = 1, quiet: bool = False,
            caused_by: str | None = None) -> int:
    """Recompute the lookups, rollups and formulas of these records and write those that
    moved, a batch at a time (one read of the sources, one versioned UPDATE per set of
    changed columns, revisions and events inserted together). How many moved.
    `quiet` (a publish filling new fields): versions move, but no revisions or events."""
    if not ids:
        return 0
    if depth > MAX_DEPTH:
        raise RuntimeError(f"lookups and rollups kept changing each other past {MAX_DEPTH} forms deep")

    form = runtime.form(form_key)
    ft = runtime.form_tables(form_key)
    deps = index(runtime)
    lookups = deps.lookups.get(form_key, ())
    derived = [d.key for d in lookups] + [d.key for d in deps.rollups.get(form_key, ())]
    derived += [k for k, _parsed in form.formulas]
    ctx = value_context(SYSTEM, runtime)
    clock = CLOCK.get()
    if clock:  # the daily pass: formulas see the day it was made for
        ctx = dataclasses.replace(ctx, now=clock, today=clock.replace(tzinfo=UTC).astimezone(
            ZoneInfo(ctx.tz)).date())
    moved = 0
    for batch in store.chunks(list(ids)):
        # Records in the recycle bin are kept current too: a live record's lookup may read one.
        found = store.load_records(ft, batch, include_deleted=True)
        rollups = {dep.key: (dep, aggregate(runtime, dep, list(found))) for dep in deps.rollups.get(form_key, ())}
        sources = {dep.key: _source_values(runtime, dep, [r["fields"].get(dep.link) for r in found.values()])
                   for dep in lookups}
        pairs = []
        for record in found.values():
            values = copy.deepcopy(record["fields"])
            for dep in lookups:
                values[dep.key] = sources[dep.key].get(values.get(dep.link))
            for key, (dep, by_parent) in rollups.items():
                values[key] = by_parent.get(record["id"], 0 if dep.agg in ("count", "sum") else None)
            compute_formulas(form, values, ctx, store.flat_values(record))
            changed = {k: values[k] for k in derived if values.get(k) != record["fields"].get(k)}
            if changed:
                pairs.append((record, {**record, "fields": {**record["fields"], **changed},
                                       "version": record["version"] + 1}))
        _write(runtime, form_key, pairs, quiet, caused_by)
        moved += len(pairs)
        if pairs:
            _propagate(runtime, form_key, pairs, "updated", depth)
    return moved


def _source_values(runtime, dep: Lookup, link_ids) -> dict:
    """The source field's value for each linked record (one query)."""
    wanted = sorted(_ids(list(link_ids)))
    if not wanted:
        return {}
    ft = runtime.form_tables(dep.source_form)
    src = runtime.form(dep.source_form).fields[dep.source]
    ftype = field_types.get(src["type"])
    out = {}
    for batch in store.chunks(wanted):
        for rid, raw in db.session.execute(sa.select(ft.table.c.id, ft.columns[dep.source]).where(
                ft.table.c.id.in_(batch))):
            out[rid] = ftype.from_db(src, raw)
    return out


def _write(runtime, form_key: str, pairs: list[tuple[dict, dict]], quiet: bool = False,
           caused_by: str | None = None) -> None:
    """Write the moved values (version-checked), with their revisions and events."""
    if not pairs:
        return

    form = runtime.form(form_key)
    ft = runtime.form_tables(form_key)
    groups: dict[tuple, list[dict]] = {}
    for before, after in pairs:
        changed = {k: v for k, v in after["fields"].items() if before["fields"].get(k) != v}
        cols = store.column_values(ft, changed)
        groups.setdefault(tuple(sorted(cols)), []).append(
            {"rid": before["id"], "old_version": before["version"], **{f"v_{c}": v for c, v in cols.items()}})
    t = ft.table
    for names, rows in groups.items():
        stmt = sa.update(t).where(t.c.id == sa.bindparam("rid"), t.c.version == sa.bindparam("old_version")).values(
            {**{name: sa.bindparam(f"v_{name}") for name in names}, "version": t.c.version + 1})
        if db.session.execute(stmt, rows).rowcount != len(rows):
            raise Conflict(f"A {form.name} record this change brings up to date was changed by someone else at "
                           "the same moment; nothing was saved, try again", reason="stale")
    if quiet:
        return
    now = now_utc()
    revisions, events = [], []
    for before, after in pairs:
        diff = {k: [json_value(form, k, before["fields"].get(k)), json_value(form, k, v)]
                for k, v in after["fields"].items() if before["fields"].get(k) != v}
        base = {"app_id": runtime.app_id, "form_key": form_key, "record_id": after["id"]}
        revisions.append({**base, "version": after["version"], "action": "updated", "changes": diff,
                          "actor_id": None, "at": now, "caused_by": caused_by})
        events.append({**base, "type": "record.updated", "actor_id": None, "created_at": now, "attempts": 0,
                       "payload": {"form": form_key, "record_id": after["id"], "version": after["version"],
                                   "changes": diff, "record": record_json(form, after)}})
    store.insert_rows(RecordRevision.__table__, revisions)
    store.insert_rows(OutboxEvent.__table__, events)


def aggregate(runtime, dep: Rollup, parent_ids: list[int]) -> dict[int, object]:
    """The rollup's value for each parent that has related records (one GROUP BY query)."""

    ft = runtime.form_tables(dep.other)
    t = ft.table
    if dep.multiple:
        vt = ft.values[dep.link]
        parent_col, source = vt.c.value, vt.join(t, t.c.id == vt.c.record_id)
    else:
        parent_col, source = ft.columns[dep.link], t
    measure = sa.func.count(t.c.id) if dep.agg == "count" else getattr(sa.func, dep.agg)(ft.columns[dep.field])
    stmt = sa.select(parent_col, measure).select_from(source).where(
        parent_col.in_(parent_ids), t.c.deleted_at.is_(None)).group_by(parent_col)
    if dep.where:
        clock = CLOCK.get()
        env = conditions.Env(tz=app_timezone(runtime), **({"now": clock} if clock else {}))
        stmt = stmt.where(conditions.to_sql(dep.where, query.sql_resolver(runtime, dep.other), env))
    f = runtime.form(dep.form).fields[dep.key]
    rollup = RollupFieldType()
    out = {}
    for parent, value in db.session.execute(stmt):
        if dep.agg == "sum" and value is None:
            value = 0  # related records whose field is empty sum to 0, as no related records do
        if dep.agg in ("min", "max") and f.get("_result") in ("date", "datetime"):
            value = rollup.from_db(f, value)
        out[parent] = rollup.coerce_result(f, value) if value is not None else None
    return out
