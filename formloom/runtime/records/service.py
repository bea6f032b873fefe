"""The records service: every create, read, change, delete and restore of a record.

Each write is one transaction that also writes the revision (who, when, field: old -> new)
and the outbox event, so nothing that happened goes unreported. Raises ValidationFailed
(with every field error at once), NotFound, PermissionDenied and Conflict.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from formloom.platform import hooks
from formloom.platform.actor import Actor
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import OutboxEvent, RecordRevision
from formloom.runtime import access
from formloom.runtime.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from formloom.runtime.fields import field_types, type_of
from formloom.runtime.records import linkage, links, relations, serials
from formloom.runtime.records.context import condition_env, now_utc, prefetch, value_context
from formloom.runtime.records.serialize import json_value, record_json
from formloom.runtime.records.values import (
    check_required,
    compute_formulas,
    convert,
    rule_predicates,
    rule_state,
    with_defaults,
)
from formloom.runtime.storage import store
from formloom.runtime.storage.tables import unique_index_name

MAX_BULK = 10_000
# (actor, runtime, form_key, record) called in the transaction that submits a record: created
# without "draft", or a draft completed. The flow engine starts the form's approval here.
ON_SUBMIT = hooks.Listeners("record_submitted", "(actor, runtime, form_key, record), in the submit's transaction; "
                            "an optional `wants(runtime, form_key)` says whether it cares")
_INSERT_REVISION = sa.insert(RecordRevision.__table__)
_INSERT_EVENT = sa.insert(OutboxEvent.__table__)


def get(actor: Actor, runtime, form_key: str, record_id: int, include_deleted: bool = False) -> dict:
    """One record the actor may see, without the fields they may not see. Raises NotFound."""
    fa = access.form_access(actor, runtime, form_key)
    return fa.redact(_load(fa, record_id, include_deleted))


def _load(fa: access.FormAccess, record_id: int, include_deleted: bool = False, action: str | None = None) -> dict:
    """The whole record, if the actor may see it (NotFound) and may `action` it (PermissionDenied)."""
    form_key = fa.form.key
    ft = fa.runtime.form_tables(form_key)
    found = store.load_records(ft, [record_id], include_deleted=include_deleted, where=fa.scope(ft.table))
    if record_id not in found:
        raise NotFound(f"No record {record_id} in {form_key}")
    record = found[record_id]
    if action is not None:
        fa.require(action)
        if not fa.permits(action, record):
            raise PermissionDenied(access.DENIED[action].format(form=fa.form.name))
    return record


def _prepare(actor: Actor, runtime, form_key: str, data: dict, current: dict | None, draft: bool, ctx,
             locked: frozenset[str] = frozenset()) -> dict:
    """Validated, complete field values for a create (current None) or an update.

    `locked` fields (the actor may not set them) are not required of the actor.
    """
    form = runtime.form(form_key)
    errors: list[dict] = []
    changes = convert(form, data, ctx, current["fields"] if current else None, errors)
    if current is None:
        values = with_defaults(form, changes, ctx, actor.user_id)
    else:
        values = {**copy.deepcopy(current["fields"]), **changes}  # formulas must not touch `current`
    system = store.flat_values(current) if current else {"$owner": actor.user_id, "$created_by": actor.user_id}
    linkage.fill(actor, runtime, form, values, changes, current["fields"] if current else None, ctx, errors)
    relations.compute_lookups(runtime, form, values, creating=current is None,
                              cache=ctx.extra.setdefault("lookup_sources", {}))
    compute_formulas(form, values, ctx, system)
    if not draft:
        # Report every problem at once, but not "is required" for a value that was refused.
        _hidden, required = rule_state(form, {**system, **values}, None, _rules(actor, runtime, form, ctx))
        missing: list[dict] = []
        check_required(form, values, required - locked, missing)
        refused = {(e.get("field"), e.get("row"), e.get("column")) for e in errors}
        errors.extend(e for e in missing if (e.get("field"), e.get("row"), e.get("column")) not in refused)
    if errors:
        raise ValidationFailed("Some values are not valid", errors)
    return values


def preview(actor: Actor, runtime, form_key: str, data: dict, record_id: int | None = None) -> dict:
    """The formulas (subform columns included) a save of `data` would compute, through the same
    compiled formulas as a save, storing nothing: what a form page shows while someone types.

    A new record (`record_id` None) needs the right to add, a change the right to edit that
    record. Fields the actor may not set are taken as a save would (defaults, or the record's
    values); a value that does not convert counts as blank; a formula that fails is left out.
    Returns `{"fields": {key: value}, "rows": {subform: [{column: value}]}, "serials": {key:
    the number a save now would get}}` with only the fields the actor may see.
    """
    fa = access.form_access(actor, runtime, form_key)
    form = runtime.form(form_key)
    current = _load(fa, record_id, action="edit") if record_id is not None else None
    if current is None:
        fa.require("add")
    locked = fa.locked(current)
    ctx = value_context(actor, runtime)
    sent = {k: v for k, v in (data if isinstance(data, dict) else {}).items() if k not in locked}
    changes = convert(form, sent, ctx, current["fields"] if current else None, [])
    if current is None:
        values = with_defaults(form, changes, ctx, actor.user_id)
        system = {"$owner": actor.user_id, "$created_by": actor.user_id}
    else:
        values = {**copy.deepcopy(current["fields"]), **changes}
        system = store.flat_values(current)
    try:
        compute_formulas(form, values, ctx, system)
    except ValidationFailed:
        pass  # what was computed before the failing formula still shows; the save reports it
    hidden = fa.hidden(current) | (fa.hidden_when_adding() if current is None else frozenset())
    fields = {k: values.get(k) for k, _parsed in form.formulas if k not in hidden}
    rows = {}
    for key, child in form.children.items():
        if key in hidden or not child.formulas:
            continue
        rows[key] = [{k: row.get(k) for k, _parsed in child.formulas} for row in values.get(key) or []]
    serial_numbers = {}
    if current is None:  # the number a save now would get; reserved only by the save
        for key, f in form.fields.items():
            if type_of(f).numbered and key not in hidden:
                ftype = field_types.get(f["type"])
                period = ftype.period(f, ctx.today)
                serial_numbers[key] = ftype.number(f, ctx.today, serials.peek(runtime.app_id, form_key, key, period))
    return {"fields": fields, "rows": rows, "serials": serial_numbers}


def _rules(actor: Actor, runtime, form, ctx) -> list:
    # Compiled once per transaction: a bulk create checks the same rules 10,000 times.
    cache = ctx.extra.setdefault("rules", {})
    if form.key not in cache:
        cache[form.key] = rule_predicates(form, condition_env(actor, runtime, ctx=ctx))
    return cache[form.key]


def _taken(runtime, form_key: str, exc: IntegrityError) -> Conflict:
    """The Conflict for a unique index that a racing writer hit first, naming the field."""
    ft = runtime.form_tables(form_key)
    text = str(exc.orig)
    # PostgreSQL names the index, SQLite the table.column.
    keys = [k for k, col in ft.columns.items()
            if re.search(rf"\b({re.escape(unique_index_name(ft.table.name, col.name))}"
                         rf"|{re.escape(ft.table.name)}\.{re.escape(col.name)})\b", text)]
    errors = [{"field": k, "message": "must be unique; another record took this value a moment ago"} for k in keys]
    return Conflict("A unique value was taken by another record a moment ago; nothing was saved", errors,
                    reason="unique")


def _check_unique(runtime, form_key: str, values: dict, exclude_id: int | None = None) -> None:
    form = runtime.form(form_key)
    ft = runtime.form_tables(form_key)
    errors = []
    for key, f in form.fields.items():
        if not f.get("unique") or key not in ft.columns or values.get(key) in (None, ""):
            continue
        col = ft.columns[key]
        stmt = sa.select(ft.table.c.id).where(col == store.column_values(ft, {key: values[key]})[col.name],
                                              ft.table.c.deleted_at.is_(None))
        if exclude_id:
            stmt = stmt.where(ft.table.c.id != exclude_id)
        clash = db.session.execute(stmt.limit(1)).scalar()
        if clash:
            errors.append({"field": key, "message": f"must be unique; record {clash} already has this value"})
    if errors:
        raise ValidationFailed("Some values are not unique", errors)


def _assign_serials(runtime, form_key: str, items: list[dict], today) -> None:
    form = runtime.form(form_key)
    for key, f in form.fields.items():
        if not type_of(f).numbered:
            continue
        ftype = field_types.get("serial")
        period = ftype.period(f, today)
        first = serials.reserve(runtime.app_id, form_key, key, period, len(items))
        for i, values in enumerate(items):
            values[key] = ftype.number(f, today, first + i)


def log_change(runtime, form_key: str, record_id: int, version: int, action: str, changes: dict,
               actor: Actor, record: dict | None) -> None:
    """The revision and the outbox event of a change, in its transaction: two Core INSERTs,
    written at once (no ORM objects to flush at commit)."""
    now = now_utc()
    db.session.execute(_INSERT_REVISION, {
        "app_id": runtime.app_id, "form_key": form_key, "record_id": record_id, "version": version,
        "action": action, "changes": changes, "actor_id": actor.user_id, "at": now, "caused_by": actor.cause})
    payload = {"form": form_key, "record_id": record_id, "version": version, "changes": changes}
    if record is not None:
        payload["record"] = record_json(runtime.form(form_key), record)
    if actor.chain:
        payload["chain"] = list(actor.chain)
    db.session.execute(_INSERT_EVENT, {
        "app_id": runtime.app_id, "form_key": form_key, "record_id": record_id, "type": f"record.{action}",
        "payload": payload, "actor_id": actor.user_id, "created_at": now, "dispatched_at": None, "attempts": 0})


def _system_for_create(actor: Actor, now, draft: bool, owner=None) -> dict:
    return {"created_at": now, "updated_at": now, "created_by": actor.user_id, "updated_by": actor.user_id,
            "owner_id": owner, "version": 1, "flow_status": "draft" if draft else None}


def _owner(form, values: dict, actor: Actor):
    return values.get(form.owner_field) if form.owner_field else actor.user_id


def _created_changes(form, values: dict) -> dict:
    """A created record's revision: every value it was created with."""
    return {k: [None, json_value(form, k, values.get(k))] for k, ftype in form.types_by_key.items()
            if not ftype.is_empty(values.get(k))}


def create(actor: Actor, runtime, form_key: str, data: dict, draft: bool = False, within=None,
           owner: int | None = None) -> dict:
    """Create one record. Raises ValidationFailed, PermissionDenied.

    `within(record)` runs inside the same transaction (an idempotency key is kept there).
    `owner` is for the system (an automation) creating a record on someone's behalf; a form
    with an owner field takes the owner from that field instead.
    """
    fa = access.form_access(actor, runtime, form_key)
    fa.require("add")
    form = runtime.form(form_key)
    locked = fa.locked()
    _refuse_locked(fa, data, locked)
    with write_transaction():
        ctx = value_context(actor, runtime)
        values = _prepare(actor, runtime, form_key, data, None, draft, ctx, locked)
        _check_unique(runtime, form_key, values)
        _assign_serials(runtime, form_key, [values], ctx.today)
        ft = runtime.form_tables(form_key)
        if owner is not None and actor.user_id is not None:
            raise PermissionDenied("Only the system may create a record owned by someone else")
        _refuse_owner(fa, data, values)
        who = _owner(form, values, actor) if form.owner_field or owner is None else owner
        system = _system_for_create(actor, ctx.now, draft, who)
        try:
            record = store.insert_record(ft, values, system)
        except IntegrityError as exc:
            raise _taken(runtime, form_key, exc) from exc
        rid = record["id"]
        changes = _created_changes(form, values)
        log_change(runtime, form_key, rid, 1, "created", changes, actor, record)
        relations.after_write(runtime, form_key, None, record, "created")
        if not draft:
            for hook in ON_SUBMIT:
                hook(actor, runtime, form_key, record)
        if within is not None:
            within(fa.redact(record))
    return fa.redact(record)


def _refuse_locked(fa: access.FormAccess, data: dict, locked: frozenset[str], current: dict | None = None) -> None:
    """PermissionDenied when `data` sets a field the actor may not set.

    Creating, a locked field may only be sent empty. Changing, a field the actor sees but
    may not change may be sent back as it is (clients send whole records; `_refuse_changed`
    checks it after conversion); a field hidden from them may not be sent at all, so its
    value cannot be probed.
    """
    if not isinstance(data, dict):
        return
    types = fa.form.types_by_key
    if current is None:
        refused = [k for k, v in data.items() if k in locked and k in types and not types[k].is_empty(v)]
    else:
        # Hidden by every grant that shows the record, even if an edit grant would let it be set.
        hidden = fa.hidden(current)
        refused = [k for k in data if k in hidden]
    access.refuse_fields(fa, refused)


def _refuse_changed(fa: access.FormAccess, current: dict, values: dict, data: dict, locked: frozenset[str]) -> None:
    """PermissionDenied when a read-only field the actor sent differs from the stored value.

    A linked field (data linkage) the actor sent back unchanged may still move: the fill
    moved it, not the actor.
    """
    fields = fa.form.fields
    changed = [k for k in data if k in locked and values.get(k) != current["fields"].get(k)
               and not (k in fields and fields[k].get("linkage") and _sent_unchanged(fa.form, k, data[k], current))]
    access.refuse_fields(fa, changed)


def _refuse_owner(fa: access.FormAccess, data: dict, values: dict, current: dict | None = None) -> None:
    """PermissionDenied when the actor sent an owner other than themselves (a change: other
    than the record's owner now) without the right to reassign; a default or linkage that
    fills the owner field is the definition's choice, not the actor's."""
    key = fa.form.owner_field
    if key is None or not isinstance(data, dict) or key not in data:
        return
    fa.refuse_owner(values.get(key), current["fields"].get(key) if current else None)


def _sent_unchanged(form, key: str, sent, current: dict) -> bool:
    return sent == json_value(form, key, current["fields"].get(key))


def update(actor: Actor, runtime, form_key: str, record_id: int, data: dict,
           expected_version: int | None = None, draft: bool | None = None) -> dict:
    """Change fields of a record; a stale `expected_version` changes nothing. Raises Conflict."""
    form = runtime.form(form_key)
    ft = runtime.form_tables(form_key)
    fa = access.form_access(actor, runtime, form_key)
    with write_transaction():
        current = _load(fa, record_id, action="edit")
        locked = fa.locked(current)
        _refuse_locked(fa, data, locked, current)
        if expected_version is not None and expected_version != current["version"]:
            raise Conflict(f"The record was changed by someone else (now version {current['version']}, "
                           f"you had {expected_version}); reload it and apply your change again",
                           current_version=current["version"], reason="stale")
        ctx = value_context(actor, runtime)
        # Only a draft skips the required checks: "draft": true cannot demote a complete record.
        still_draft = current["flow_status"] == "draft" and draft is not False
        values = _prepare(actor, runtime, form_key, data, current, still_draft, ctx, locked)
        _refuse_changed(fa, current, values, data, locked)
        _refuse_owner(fa, data, values, current)
        changed = {k: v for k, v in values.items() if v != current["fields"].get(k)}
        flow_status = current["flow_status"]
        if flow_status == "draft" and draft is False:
            flow_status = None
        if not changed and flow_status == current["flow_status"]:
            return fa.redact(current)
        _check_unique(runtime, form_key, changed, exclude_id=record_id)
        system = {"updated_at": ctx.now, "updated_by": actor.user_id, "flow_status": flow_status}
        if form.owner_field and form.owner_field in changed:
            system["owner_id"] = changed[form.owner_field]
        try:
            record = store.update_record_returning(ft, record_id, changed, system, current["version"])
        except IntegrityError as exc:
            raise _taken(runtime, form_key, exc) from exc
        if record is None:
            raise Conflict("The record was changed by someone else; reload it and apply your change again",
                           reason="stale")
        diff = {k: [json_value(form, k, current["fields"].get(k)), json_value(form, k, v)] for k, v in changed.items()}
        log_change(runtime, form_key, record_id, record["version"], "updated", diff, actor, record)
        relations.after_write(runtime, form_key, current, record, "updated")
        if current["flow_status"] == "draft" and flow_status is None:
            for hook in ON_SUBMIT:
                hook(actor, runtime, form_key, record)
    return fa.redact(record)


def _set_deleted(actor: Actor, runtime, form_key: str, record_id: int, deleted: bool,
                 expected_version: int | None) -> dict:
    ft = runtime.form_tables(form_key)
    fa = access.form_access(actor, runtime, form_key)
    with write_transaction():
        current = _load(fa, record_id, include_deleted=True, action="delete")
        if bool(current["deleted_at"]) == deleted:
            raise NotFound(f"No {'live' if deleted else 'deleted'} record {record_id} in {form_key}")
        if deleted and current["flow_status"] == "in_progress":
            raise Conflict("The record is in an approval; it can be deleted once the approval ends or is withdrawn",
                           reason="in_flow")
        if expected_version is not None and expected_version != current["version"]:
            raise Conflict("The record was changed by someone else; reload it first",
                           current_version=current["version"], reason="stale")
        if deleted:
            links.refuse_if_linked(runtime, form_key, record_id)
        else:
            try:
                _check_unique(runtime, form_key, current["fields"], exclude_id=record_id)
            except ValidationFailed as exc:
                raise Conflict("Another record took a unique value of this one meanwhile; change that "
                               "record first, then restore this one", exc.errors, reason="unique") from None
        now = now_utc()
        system = {"deleted_at": now if deleted else None, "updated_at": now, "updated_by": actor.user_id}
        try:
            moved = not store.update_record(ft, record_id, {}, system, current["version"])
        except IntegrityError as exc:
            raise _taken(runtime, form_key, exc) from exc
        if moved:
            raise Conflict("The record was changed by someone else; reload it first", reason="stale")
        record = store.load_records(ft, [record_id], include_deleted=True)[record_id]
        log_change(runtime, form_key, record_id, record["version"], "deleted" if deleted else "restored", {},
             actor, record)
        relations.after_write(runtime, form_key, current, record, "deleted" if deleted else "restored")
        if deleted:
            links.apply_rules(actor, runtime, form_key, record_id, record["version"])
        else:
            links.undo_rules(actor, runtime, form_key, record_id)
    return fa.redact(record)


def delete(actor: Actor, runtime, form_key: str, record_id: int, expected_version: int | None = None) -> dict:
    """Move a record to the recycle bin (its data stays; `restore` brings it back)."""
    return _set_deleted(actor, runtime, form_key, record_id, True, expected_version)


def restore(actor: Actor, runtime, form_key: str, record_id: int) -> dict:
    """Bring a record back from the recycle bin. Raises Conflict if a unique value is taken."""
    return _set_deleted(actor, runtime, form_key, record_id, False, None)


def bulk_create(actor: Actor, runtime, form_key: str, rows: list[dict], draft: bool = False,
                within=None) -> list[int]:
    """Create up to 10,000 records, all or nothing; errors name the row (`index`)."""
    fa = access.form_access(actor, runtime, form_key)
    fa.require("add")
    fa.require("import")
    locked = fa.locked()
    if len(rows) > MAX_BULK:
        raise ValidationFailed(f"At most {MAX_BULK} records per request; got {len(rows)}. Send them in batches.",
                               [{"field": "records", "message": f"has more than {MAX_BULK} items"}])
    form = runtime.form(form_key)
    ft = runtime.form_tables(form_key)
    with write_transaction():
        ctx = value_context(actor, runtime)
        prepared, errors = _prepare_all(fa, actor, runtime, form_key, rows, draft, ctx, locked)
        errors.extend(_bulk_unique_errors(runtime, form_key, prepared if not errors else []))
        if errors:
            raise ValidationFailed(f"{len({e['index'] for e in errors})} of {len(rows)} records are not valid; "
                                   "nothing was saved", errors)
        _assign_serials(runtime, form_key, prepared, ctx.today)
        items = [(v, _system_for_create(actor, ctx.now, draft, _owner(form, v, actor))) for v in prepared]
        try:
            ids = store.insert_records(ft, items)
        except IntegrityError as exc:
            raise _taken(runtime, form_key, exc) from exc
        _log_bulk(runtime, form_key, ids, prepared, actor)
        relations.after_bulk(runtime, form_key, prepared)
        if not draft and any(getattr(h, "wants", lambda *_a: True)(runtime, form_key) for h in ON_SUBMIT):
            for batch in store.chunks(ids):
                for record in store.load_records(ft, batch).values():
                    for hook in ON_SUBMIT:
                        hook(actor, runtime, form_key, record)
        if within is not None:
            within(ids)
    store.refresh_statistics(ft)
    return ids


def _prepare_all(fa, actor: Actor, runtime, form_key: str, rows: list[dict], draft: bool, ctx,
                 locked: frozenset[str], denied_is_error: bool = False) -> tuple[list[dict], list[dict]]:
    """The prepared values of the rows that are valid, and the errors of the others (`index`)."""
    prefetch(ctx, runtime.form(form_key), rows)
    prepared, errors = [], []
    for i, data in enumerate(rows):
        try:
            _refuse_locked(fa, data, locked)
            values = _prepare(actor, runtime, form_key, data, None, draft, ctx, locked)
            _refuse_owner(fa, data, values)
            prepared.append(values)
        except (ValidationFailed, PermissionDenied) as exc:
            if isinstance(exc, PermissionDenied) and not denied_is_error:
                raise PermissionDenied(f"Record {i}: {exc.message}", [{"index": i, **e} for e in exc.errors]) from None
            errors.extend({"index": i, **e} for e in (exc.errors or [{"message": exc.message}]))
    return prepared, errors


def check_rows(actor: Actor, runtime, form_key: str, rows: list[tuple[int | None, dict]],
               name=lambda i: f"row {i}") -> list[dict]:
    """What saving these rows would refuse, writing nothing: each row is (None, fields) for a
    new record or (record id, fields) for a change. Errors name the row (`index`); a unique
    value repeated among the new rows or taken already is an error too. For imports' checks
    before anything is written (`"on_error": "stop"`, dry runs); `name(index)` names a row in
    the message of a repeated value."""
    fa = access.form_access(actor, runtime, form_key)
    ctx = value_context(actor, runtime)
    new = [(i, data) for i, (rid, data) in enumerate(rows) if rid is None]
    errors: list[dict] = []
    if new:
        fa.require("add")
        fa.require("import")
        prepared, found = _prepare_all(fa, actor, runtime, form_key, [d for _i, d in new], False, ctx,
                                       fa.locked(), denied_is_error=True)
        bad = {e["index"] for e in found}
        good = [i for i, (_n, _d) in enumerate(new) if i not in bad]
        found.extend({**e, "index": good[e["index"]]} for e in _bulk_unique_errors(
            runtime, form_key, prepared, lambda j: name(new[good[j]][0])))
        errors.extend({**e, "index": new[e["index"]][0]} for e in found)
    for i, (rid, data) in enumerate(rows):
        if rid is None:
            continue
        try:
            current = _load(fa, rid, action="edit")
            locked = fa.locked(current)
            _refuse_locked(fa, data, locked, current)
            values = _prepare(actor, runtime, form_key, data, current, current["flow_status"] == "draft", ctx, locked)
            _refuse_changed(fa, current, values, data, locked)
            _check_unique(runtime, form_key, {k: v for k, v in values.items() if v != current["fields"].get(k)},
                          exclude_id=rid)
        except (ValidationFailed, PermissionDenied, NotFound) as exc:
            errors.extend({"index": i, **e} for e in (exc.errors or [{"message": exc.message}]))
    return errors


def _bulk_unique_errors(runtime, form_key: str, prepared: list[dict],
                        name=lambda i: f"row {i} in this request") -> list[dict]:
    """Unique values repeated within the request or already taken, one query per field."""
    form = runtime.form(form_key)
    ft = runtime.form_tables(form_key)
    errors = []
    for key, f in form.fields.items():
        if not f.get("unique") or key not in ft.columns:
            continue
        col = ft.columns[key]
        first: dict = {}
        for i, values in enumerate(prepared):
            v = values.get(key)
            if v in (None, ""):
                continue
            if v in first:
                errors.append({"index": i, "field": key,
                               "message": f"repeats the value of {name(first[v])}"})
            first.setdefault(v, i)
        db_values = {store.column_values(ft, {key: v})[col.name]: v for v in first}
        for batch in store.chunks(list(db_values)):
            stmt = sa.select(col, ft.table.c.id).where(col.in_(batch), ft.table.c.deleted_at.is_(None))
            for value, rid in db.session.execute(stmt):
                i = first[db_values[value]]
                errors.append({"index": i, "field": key, "message": f"must be unique; record {rid} already has this value"})
    return errors


def _log_bulk(runtime, form_key: str, ids: list[int], prepared: list[dict], actor: Actor) -> None:
    # One revision per record, as for single creates; the event payload stays small and
    # handlers load the record by id when they need it. Core inserts: no ORM per row.
    now = now_utc()
    form = runtime.form(form_key)
    revisions = [{"app_id": runtime.app_id, "form_key": form_key, "record_id": rid, "version": 1,
                  "action": "created", "changes": _created_changes(form, values), "actor_id": actor.user_id,
                  "at": now} for rid, values in zip(ids, prepared, strict=True)]
    events = [{"app_id": runtime.app_id, "form_key": form_key, "record_id": rid, "type": "record.created",
               "payload": {"form": form_key, "record_id": rid, "version": 1, "bulk": True,
                           **({"chain": list(actor.chain)} if actor.chain else {})},
               "actor_id": actor.user_id, "created_at": now, "attempts": 0} for rid in ids]
    for table, rows in ((RecordRevision.__table__, revisions), (OutboxEvent.__table__, events)):
        for batch in store.chunks(rows, 2000):
            store.insert_rows(table, batch)


def history(actor: Actor, runtime, form_key: str, record_id: int) -> list[Revision]:
    """The record's revisions, newest first, for someone who may see the record.

    Changes to fields hidden from the actor are left out, and so are revisions that
    changed nothing else.
    """
    fa = access.form_access(actor, runtime, form_key)
    hidden = fa.hidden(_load(fa, record_id, include_deleted=True))
    rows = db.session.execute(
        sa.select(RecordRevision).where(RecordRevision.app_id == runtime.app_id,
                                        RecordRevision.form_key == form_key,
                                        RecordRevision.record_id == record_id)
        .order_by(RecordRevision.id.desc())).scalars()
    out = []
    for r in rows:
        changes = {k: v for k, v in r.changes.items() if k not in hidden}
        if r.changes and not changes:
            continue
        out.append(Revision(r.id, r.version, r.action, changes, r.actor_id, r.actor, r.at, r.caused_by))
    return out


@dataclass(frozen=True)
class Revision:
    """One revision as an actor may read it."""

    id: int
    version: int
    action: str
    changes: dict
    actor_id: int | None
    actor: object
    at: object
    caused_by: str | None = None  # what brought it about: a delete's link rule, a related record's change
