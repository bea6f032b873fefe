"""What happens to the records that link to a record being deleted, by each link field's rule.

A link field's `on_delete` says it: `restrict` refuses the delete while live records link
here (naming them), `clear` takes this record out of their links, `cascade` deletes them
too (an order's lines). A link field without `on_delete` keeps pointing at the record in the
recycle bin. The changes are ordinary revisions written in the delete's transaction, marked
`caused_by` the delete ("<form>:<id>@<version>"), so a restore puts back exactly those links
and brings back exactly those records.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import sqlalchemy as sa

from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import RecordRevision
from formloom.runtime.exceptions import Conflict
from formloom.runtime.fields import type_of
from formloom.runtime.records import service
from formloom.runtime.storage import store

SHOWN = 10  # records named in a refusal


@dataclass(frozen=True)
class Referrer:
    form: str
    field: str
    rule: str  # restrict clear cascade
    multiple: bool


def referrers(runtime, form_key: str) -> list[Referrer]:
    """The link fields (of top-level forms) pointing at `form_key` that have a rule."""
    out = []
    for other in runtime.definition.forms.values():
        for key, f in other.fields.items():
            if type_of(f).refers_to == "record" and f.get("form") == form_key and f.get("on_delete"):
                out.append(Referrer(other.key, key, f["on_delete"], bool(f.get("multiple"))))
    return out


def linking(runtime, ref: Referrer, record_id: int, limit: int | None = None) -> list[int]:
    """Ids of the live records whose `ref.field` links to `record_id`, oldest first."""
    ft = runtime.form_tables(ref.form)
    t = ft.table
    if ref.multiple:
        vt = ft.values[ref.field]
        stmt = sa.select(t.c.id).where(t.c.id.in_(sa.select(vt.c.record_id).where(vt.c.value == record_id)))
    else:
        stmt = sa.select(t.c.id).where(ft.columns[ref.field] == record_id)
    stmt = stmt.where(t.c.deleted_at.is_(None)).order_by(t.c.id)
    return list(db.session.execute(stmt.limit(limit) if limit else stmt).scalars())


def cause_of(form_key: str, record_id: int, version: int) -> str:
    return f"{form_key}:{record_id}@{version}"


def refuse_if_linked(runtime, form_key: str, record_id: int) -> None:
    """Conflict naming the records whose `restrict` links keep this one from being deleted."""
    blocking = []
    total = 0
    for ref in referrers(runtime, form_key):
        if ref.rule != "restrict":
            continue
        ids = linking(runtime, ref, record_id)
        total += len(ids)
        blocking.extend((ref, rid) for rid in ids[:SHOWN])
    if not total:
        return
    errors = [{"form": ref.form, "record_id": rid, "field": ref.field,
               "title": _title(runtime, ref.form, rid)} for ref, rid in blocking[:SHOWN]]
    named = ", ".join(f'{runtime.form(e["form"]).name} "{e["title"]}"' if e["title"] else
                      f'{runtime.form(e["form"]).name} #{e["record_id"]}' for e in errors)
    more = f" and {total - len(errors)} more" if total > len(errors) else ""
    raise Conflict(f"{total} record{'s' if total != 1 else ''} link to this one ({named}{more}); "
                   "change or delete them first", errors, reason="linked")


def _title(runtime, form_key: str, record_id: int) -> str:
    form = runtime.form(form_key)
    ft = runtime.form_tables(form_key)
    col = ft.columns.get(form.title_field) if form.title_field else None
    if col is None:
        return ""
    value = db.session.execute(sa.select(col).where(ft.table.c.id == record_id)).scalar()
    return "" if value is None else str(value)


def apply_rules(actor: Actor, runtime, form_key: str, record_id: int, version: int) -> None:
    """Clear the links and delete the children the rules ask for (the record is deleted already)."""

    by = _acting_for(actor, cause_of(form_key, record_id, version))
    for ref in referrers(runtime, form_key):
        if ref.rule == "restrict":
            continue
        for batch in store.chunks(linking(runtime, ref, record_id)):
            for rid, other in store.load_records(runtime.form_tables(ref.form), batch).items():
                if ref.rule == "cascade":
                    service.delete(by, runtime, ref.form, rid)
                    continue
                value = other["fields"].get(ref.field)
                new = [v for v in value if v != record_id] if ref.multiple else None
                service.update(by, runtime, ref.form, rid, {ref.field: new})


def undo_rules(actor: Actor, runtime, form_key: str, record_id: int) -> None:
    """After a restore: put back the links its delete cleared and restore the records it deleted."""

    # The version its last delete wrote (lookups and rollups may have moved it since).
    deleted_version = db.session.execute(sa.select(RecordRevision.version).where(
        RecordRevision.app_id == runtime.app_id, RecordRevision.form_key == form_key,
        RecordRevision.record_id == record_id, RecordRevision.action == "deleted")
        .order_by(RecordRevision.id.desc()).limit(1)).scalar()
    if deleted_version is None:
        return
    cause = cause_of(form_key, record_id, deleted_version)
    rows = list(db.session.execute(sa.select(RecordRevision).where(
        RecordRevision.app_id == runtime.app_id, RecordRevision.caused_by == cause)
        .order_by(RecordRevision.id.desc())).scalars())
    by = _acting_for(actor, None)
    for rev in rows:
        if rev.form_key not in runtime.definition.forms:
            continue
        ft = runtime.form_tables(rev.form_key)
        found = store.load_records(ft, [rev.record_id], include_deleted=True)
        other = found.get(rev.record_id)
        if other is None:
            continue
        if rev.action == "deleted":
            if other["deleted_at"] is not None:
                service.restore(by, runtime, rev.form_key, rev.record_id)
            continue
        for key in rev.changes:
            f = runtime.form(rev.form_key).fields.get(key)
            if f is None or type_of(f).refers_to != "record" or other["deleted_at"] is not None:
                continue
            value = other["fields"].get(key)
            if f.get("multiple"):
                if record_id not in (value or []):
                    service.update(by, runtime, rev.form_key, rev.record_id, {key: [*(value or []), record_id]})
            elif value is None:
                service.update(by, runtime, rev.form_key, rev.record_id, {key: record_id})


def _acting_for(actor: Actor, cause: str | None) -> Actor:
    """The deleter, with the rights the rules need: their delete was allowed, its consequences are."""
    return dataclasses.replace(actor, is_admin=True, cause=cause)
