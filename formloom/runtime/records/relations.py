"""Keeping lookups and rollups current, in the transaction of the change that moves them.

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
from dataclasses import dataclass
from functools import cached_property

import sqlalchemy as sa

from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.runtime import conditions
from formloom.runtime.fields import field_types
from formloom.runtime.fields.lookup import TARGET
from formloom.runtime.storage import store

MAX_DEPTH = 8
SYSTEM = Actor.system()


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
            if f["type"] == "lookup" and TARGET in f:
                dep = Lookup(form.key, key, f["link"], form.fields[f["link"]]["form"], f["field"])
                out.lookups.setdefault(form.key, []).append(dep)
                out.by_source.setdefault(dep.source_form, []).append(dep)
            elif f["type"] == "rollup":
                other = runtime.definition.forms[f["form"]]
                dep = Rollup(form.key, key, f["form"], f["link"], f["agg"], f.get("field"), f.get("where"),
                             bool(other.fields[f["link"]].get("multiple")))
                out.rollups.setdefault(form.key, []).append(dep)
                out.by_other.setdefault(dep.other, []).append(dep)
    runtime.__dict__["_relations"] = out
    return out


# -- a record's own values, on save ----------------------------------------------------------------
def compute_lookups(runtime, form, values: dict, creating: bool) -> None:
    """Fill the form's lookups from the linked records (and, creating, empty rollups)."""
    deps = index(runtime)
    for dep in deps.lookups.get(form.key, ()):
        values[dep.key] = _source_value(runtime, dep, values.get(dep.link))
    if creating:
        for dep in deps.rollups.get(form.key, ()):
            values[dep.key] = 0 if dep.agg in ("count", "sum") else None


def _source_value(runtime, dep: Lookup, link_id):
    if not isinstance(link_id, int):
        return None
    ft = runtime.form_tables(dep.source_form)
    src = runtime.form(dep.source_form).fields[dep.source]
    raw = db.session.execute(sa.select(ft.columns[dep.source]).where(ft.table.c.id == link_id)).scalar()
    return field_types.get(src["type"]).from_db(src, raw)


# -- the records that depend on a change -------------------------------------------------------------
def after_write(runtime, form_key: str, before: dict | None, after: dict, action: str, depth: int = 0) -> None:
    """Bring up to date what depends on the record just created, changed, deleted or restored."""
    deps = index(runtime)
    if deps.empty:
        return
    rid = after["id"]
    changed = _changed(before, after) if action == "updated" else None
    for dep in deps.by_source.get(form_key, ()):
        if action == "updated" and dep.source in changed:
            ft = runtime.form_tables(dep.form)
            ids = list(db.session.execute(sa.select(ft.table.c.id).where(
                ft.columns[dep.link] == rid, ft.table.c.deleted_at.is_(None))).scalars())
            refresh(runtime, dep.form, ids, depth + 1)
    for dep in deps.by_other.get(form_key, ()):
        if changed is not None and not (dep.watched & changed):
            continue
        parents = _ids((before or {}).get("fields", {}).get(dep.link)) | _ids(after["fields"].get(dep.link))
        refresh(runtime, dep.form, sorted(parents), depth + 1)


def after_bulk(runtime, form_key: str, rows: list[dict]) -> None:
    """After a bulk create: each parent's rollups once, however many of its children came."""
    for dep in index(runtime).by_other.get(form_key, ()):
        parents = set()
        for values in rows:
            parents |= _ids(values.get(dep.link))
        refresh(runtime, dep.form, sorted(parents), 1)


def _changed(before: dict | None, after: dict) -> set[str]:
    old = (before or {}).get("fields", {})
    return {k for k, v in after["fields"].items() if old.get(k) != v}


def _ids(value) -> set[int]:
    items = value if isinstance(value, list) else [value]
    return {v for v in items if isinstance(v, int) and not isinstance(v, bool)}


def refresh(runtime, form_key: str, ids: list[int], depth: int = 1) -> int:
    """Recompute the lookups, rollups and formulas of these records; write those that moved.
    How many changed."""
    if not ids:
        return 0
    if depth > MAX_DEPTH:
        raise RuntimeError(f"lookups and rollups kept changing each other past {MAX_DEPTH} forms deep")
    from formloom.runtime.records import service
    from formloom.runtime.records.context import value_context
    from formloom.runtime.records.serialize import json_value
    from formloom.runtime.records.values import compute_formulas

    form = runtime.form(form_key)
    ft = runtime.form_tables(form_key)
    deps = index(runtime)
    derived = [d.key for d in deps.lookups.get(form_key, ())] + [d.key for d in deps.rollups.get(form_key, ())]
    derived += [k for k, _parsed in form.formulas]
    ctx = value_context(SYSTEM, runtime)
    moved = 0
    for batch in store.chunks(list(ids)):
        found = store.load_records(ft, batch, include_deleted=True)
        rollups = {dep.key: aggregate(runtime, dep, list(found)) for dep in deps.rollups.get(form_key, ())}
        for rid, record in found.items():
            values = copy.deepcopy(record["fields"])
            compute_lookups(runtime, form, values, creating=False)
            for key, by_parent in rollups.items():
                values[key] = by_parent.get(rid, 0 if _agg(deps, form_key, key) in ("count", "sum") else None)
            compute_formulas(form, values, ctx, store.flat_values(record))
            changed = {k: values[k] for k in derived if values.get(k) != record["fields"].get(k)}
            if not changed:
                continue
            if not store.update_record(ft, rid, changed, {}, record["version"]):
                raise RuntimeError(f"record {rid} of {form_key} changed while its lookups were refreshed")
            after = store.load_records(ft, [rid], include_deleted=True)[rid]
            diff = {k: [json_value(form, k, record["fields"].get(k)), json_value(form, k, v)] for k, v in changed.items()}
            service.log_change(runtime, form_key, rid, after["version"], "updated", diff, SYSTEM, after)
            moved += 1
            after_write(runtime, form_key, record, after, "updated", depth)
    return moved


def _agg(deps: Index, form_key: str, key: str) -> str:
    return next(d.agg for d in deps.rollups[form_key] if d.key == key)


def aggregate(runtime, dep: Rollup, parent_ids: list[int]) -> dict[int, object]:
    """The rollup's value for each parent that has related records (one GROUP BY query)."""
    from formloom.runtime.fields.rollup import RollupFieldType
    from formloom.runtime.records import query
    from formloom.runtime.records.context import app_timezone

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
        env = conditions.Env(tz=app_timezone(runtime))
        stmt = stmt.where(conditions.to_sql(dep.where, query.sql_resolver(runtime, dep.other), env))
    f = runtime.form(dep.form).fields[dep.key]
    rollup = RollupFieldType()
    out = {}
    for parent, value in db.session.execute(stmt):
        if dep.agg in ("min", "max") and f.get("_result") in ("date", "datetime"):
            value = rollup.from_db(f, value)
        out[parent] = rollup.coerce_result(f, value) if value is not None else None
    return out
