"""Lookups and rollups brought up to date in the background, with progress.

A change whose dependents are more than the inline limit (a customer's tier read by 10,000
deals) does not recompute them in its own transaction: it writes a `RelationRefresh` with
one `RelationPending` row per record waiting, and a `relations.refresh` job in the same
transaction. Until the job reaches a record, the record says "updating" (on its page, in
lists, in the API). The job works in batches, one transaction each: recompute, write what
moved (versioned, so a user's save at the same moment is never overwritten: the batch is
simply done again), drop the batch's pending rows, and those of older refreshes of the same
records, which the fresh computation satisfies too.

The same machinery rebuilds a form on demand (admins, the API, `formloom relations
rebuild`), fills lookups and rollups a publish added, and re-evaluates once a day (once an
hour for `now`) rollups whose condition reads the clock ("tickets overdue") and formulas that
call TODAY() or NOW() ("days to renewal").
"""
from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from formloom.platform import epoch, jobs, outbox
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import App, Job, RelationPending, RelationRefresh, utcnow
from formloom.runtime import access
from formloom.runtime.apps import runtime_for
from formloom.runtime.exceptions import Conflict, FormloomError, NotFound, PermissionDenied
from formloom.runtime.records import relations
from formloom.runtime.records.context import app_timezone
from formloom.runtime.storage import store

log = logging.getLogger(__name__)

BATCH = 500  # records per transaction of a background refresh
CONFLICT_TRIES = 5  # a batch that meets users' saves is done again this many times
TICK_EVERY = 300.0  # seconds between looks for clock-driven rollups
QUIET = ("publish",)  # causes whose writes make no revisions or events
_last_tick = [0.0]


# -- asking for one -------------------------------------------------------------------------------
def defer(runtime, form_key: str, ids: list[int], cause: dict, actor_id: int | None = None,
          dedupe_key: str | None = None) -> RelationRefresh:
    """Mark these records "updating" and ask for the job that brings them up to date, in the
    caller's transaction."""
    refresh = _new(runtime, form_key, cause, actor_id)
    refresh.total = len(ids)
    _add_pending(_rows(refresh, form_key, ids) + _chain_rows(runtime, refresh, ids))
    _ask(refresh, dedupe_key)
    return refresh


def dependents(runtime, form_key: str, ids: list[int], limit: int = 100_000) -> dict[str, set[int]]:
    """The records of other forms (and of this one, through a chain) whose lookups or rollups
    follow from the derived values of these: a rollup over their lookups, a lookup of their
    rollup, and so on down the chain. They are marked "updating" with the refresh's own
    records, and current when it ends. At most `limit` records are marked."""
    deps = relations.index(runtime)
    out: dict[str, set[int]] = {}
    frontier = {form_key: set(ids)}
    seen = 0
    for _depth in range(relations.MAX_DEPTH):
        reached: dict[str, set[int]] = {}
        for form, found in frontier.items():
            derived = set(derived_fields(runtime, form))
            for dep in deps.by_other.get(form, ()):  # rollups over this form's derived values
                if dep.watched & derived:
                    reached.setdefault(dep.form, set()).update(_linked(runtime, form, dep.link, found))
            for dep in deps.by_source.get(form, ()):  # lookups of this form's derived values
                if dep.source in derived:
                    reached.setdefault(dep.form, set()).update(_linking(runtime, dep.form, dep.link, found))
        frontier = {}
        for form, found in reached.items():
            new = found - out.get(form, set()) - (set(ids) if form == form_key else set())
            if new:
                out.setdefault(form, set()).update(new)
                frontier[form] = new
                seen += len(new)
        if not frontier or seen >= limit:
            break
    return out


def _linked(runtime, form_key: str, link: str, ids: set[int]) -> set[int]:
    """The records these records' `link` field points at."""
    ft = runtime.form_tables(form_key)
    out: set[int] = set()
    for batch in store.chunks(sorted(ids)):
        if link in ft.values:  # a multiple link: its values table
            vt = ft.values[link]
            stmt = sa.select(vt.c.value).where(vt.c.record_id.in_(batch))
        else:
            stmt = sa.select(ft.columns[link]).where(ft.table.c.id.in_(batch))
        out.update(v for v in db.session.execute(stmt).scalars() if v is not None)
    return out


def _linking(runtime, form_key: str, link: str, ids: set[int]) -> set[int]:
    """The records of `form_key` whose single `link` field points at one of these."""
    ft = runtime.form_tables(form_key)
    out: set[int] = set()
    for batch in store.chunks(sorted(ids)):
        out.update(db.session.execute(sa.select(ft.table.c.id).where(ft.columns[link].in_(batch))).scalars())
    return out


def defer_all(runtime, form_key: str, cause: dict, actor_id: int | None = None,
              dedupe_key: str | None = None, at: datetime | None = None) -> RelationRefresh:
    """`defer` over every record of the form, those in the recycle bin included (one INSERT ... SELECT)."""
    refresh = _new(runtime, form_key, cause, actor_id)
    t = runtime.form_tables(form_key).table
    db.session.execute(sa.insert(RelationPending.__table__).from_select(
        ["refresh_id", "record_id", "app_id", "form_key"],
        sa.select(sa.literal(refresh.id), t.c.id, sa.literal(runtime.app_id), sa.literal(form_key))))
    refresh.total = db.session.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
    _ask(refresh, dedupe_key, at)
    return refresh


def _rows(refresh: RelationRefresh, form_key: str, ids) -> list[dict]:
    """Pending rows: these records of `form_key` wait for the refresh."""
    return [{"refresh_id": refresh.id, "record_id": rid, "app_id": refresh.app_id, "form_key": form_key}
            for rid in ids]


def _chain_rows(runtime, refresh: RelationRefresh, ids: list[int]) -> list[dict]:
    """Pending rows for the records down the chain from these records of the refresh's form."""
    return [row for other, more in dependents(runtime, refresh.form_key, ids).items()
            for row in _rows(refresh, other, sorted(more))]


def _ask(refresh: RelationRefresh, dedupe_key: str | None = None, at: datetime | None = None) -> None:
    """The job that works the refresh through (`at`: the daily pass's slot time)."""
    payload = {"refresh": refresh.id, **({"at": at.isoformat()} if at else {})}
    refresh.job_id = jobs.enqueue("relations.refresh", payload, app_id=refresh.app_id, dedupe_key=dedupe_key)


def _published(app_id: int):
    """The app's published runtime (what a job works with, whatever version made the refresh)."""

    app = db.session.get(App, app_id)
    return runtime_for(app.id, app.published_version)


def _add_pending(rows: list[dict]) -> None:
    """Mark records "updating": the cache epoch moves with them (see `may_be_updating`)."""
    if rows:
        epoch.bump(db.session())
        store.insert_rows(RelationPending.__table__, rows)


def _new(runtime, form_key: str, cause: dict, actor_id: int | None) -> RelationRefresh:
    epoch.bump(db.session())  # defer_all marks every record of the form (see `may_be_updating`)
    refresh = RelationRefresh(app_id=runtime.app_id, form_key=form_key, cause=cause, actor_id=actor_id,
                              status="queued", total=0, done=0, changed=0)
    db.session.add(refresh)
    db.session.flush()
    return refresh


def derived_fields(runtime, form_key: str) -> list[str]:
    """The form's fields a refresh recomputes: lookups, rollups, formulas."""
    deps = relations.index(runtime)
    return ([d.key for d in deps.lookups.get(form_key, ())] + [d.key for d in deps.rollups.get(form_key, ())]
            + [k for k, _parsed in runtime.form(form_key).formulas])


def rebuild(actor, runtime, form_key: str) -> RelationRefresh:
    """Recompute every lookup, rollup and formula of a form, in the background (app admins)."""

    access.require_app(actor, runtime, admin=True)
    if actor.read_only:
        raise PermissionDenied("This API token is read-only")
    if form_key not in runtime.definition.forms:
        raise NotFound(f'No form "{form_key}" in this app')
    if not derived_fields(runtime, form_key):
        raise FormloomError(f'Form "{form_key}" has no lookup, rollup or formula fields to rebuild')
    with write_transaction():
        refresh = defer_all(runtime, form_key, {"kind": "rebuild"}, actor.user_id)
    return refresh


def after_publish(runtime, form_keys: list[str], actor_id: int | None) -> dict[str, int | str]:
    """Fill the lookups and rollups a publish added or changed: at once for a small form,
    else in the background. Per form, how many records were filled now, or "background"."""
    out: dict[str, int | str] = {}
    for form_key in form_keys:
        t = runtime.form_tables(form_key).table
        count = db.session.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
        if count > relations.inline_limit():
            defer_all(runtime, form_key, {"kind": "publish", "version": runtime.version}, actor_id)
            out[form_key] = "background"
        else:
            ids = list(db.session.execute(sa.select(t.c.id).order_by(t.c.id)).scalars())
            out[form_key] = relations.refresh(runtime, form_key, ids, quiet=True)
    return out


# -- the job --------------------------------------------------------------------------------------
@jobs.handler("relations.refresh")
def run(payload: dict) -> dict:
    """Work through a refresh's pending records, a batch per transaction."""
    refresh_id = payload["refresh"]
    token = relations._BACKGROUND.set(True)
    clock = relations.CLOCK.set(_clock(payload))
    after = 0  # keyset: the records before this one are done
    try:
        _mark_chain(refresh_id)
        while True:
            for attempt in range(CONFLICT_TRIES):
                try:
                    with write_transaction():
                        refresh = db.session.get(RelationRefresh, refresh_id, populate_existing=True)
                        if refresh is None:
                            return {"refresh": refresh_id, "gone": True}
                        runtime = _published(refresh.app_id)
                        if refresh.form_key not in runtime.definition.forms:  # the form was unpublished meanwhile
                            return _finish(refresh)
                        ids = list(db.session.execute(
                            sa.select(RelationPending.record_id).where(
                                RelationPending.refresh_id == refresh_id,
                                RelationPending.form_key == refresh.form_key, RelationPending.record_id > after)
                            .order_by(RelationPending.record_id).limit(BATCH)).scalars())
                        if not ids:
                            return _finish(refresh)
                        refresh.status = "running"
                        refresh.changed += relations.refresh(
                            runtime, refresh.form_key, ids, quiet=refresh.cause.get("kind") in QUIET,
                            caused_by=relations.revision_cause(refresh.cause))
                        _drop(refresh, ids)
                        refresh.done = min(refresh.total, refresh.done + len(ids))
                    after = ids[-1]
                    break
                except Conflict:
                    if attempt == CONFLICT_TRIES - 1:
                        raise jobs.Retry("records kept changing under this refresh; trying again later") from None
    except jobs.Retry:
        raise
    except Exception as exc:
        _note_error(refresh_id, exc)
        raise
    finally:
        relations._BACKGROUND.reset(token)
        relations.CLOCK.reset(clock)


def _mark_chain(refresh_id: int) -> None:
    """A refresh over a whole form (a rebuild, a publish's fill, the daily pass) marks the records
    down the chain from it when its job starts, as `defer` does for a change's dependents."""
    with write_transaction():
        refresh = db.session.get(RelationRefresh, refresh_id, populate_existing=True)
        if refresh is None or refresh.status != "queued" or refresh.cause.get("kind") == "source":
            return
        runtime = _published(refresh.app_id)
        if refresh.form_key not in runtime.definition.forms:
            return
        ids = list(db.session.execute(sa.select(RelationPending.record_id).where(
            RelationPending.refresh_id == refresh.id, RelationPending.form_key == refresh.form_key)).scalars())
        _add_pending(_chain_rows(runtime, refresh, ids))
        refresh.status = "running"


def _clock(payload: dict) -> datetime | None:
    """The daily pass evaluates conditions at its slot's time at the earliest (a job run early,
    as a test's moved clock makes it, sees the day it was made for)."""
    if not payload.get("at"):
        return None
    return max(datetime.fromisoformat(payload["at"]), utcnow())


def _drop(refresh: RelationRefresh, ids: list[int]) -> None:
    """These records are current now: for this refresh and every older one of the same form
    still working (each delete by primary key, so it stays a few index probes however many
    records wait)."""
    table = RelationPending.__table__
    older = db.session.execute(sa.select(RelationRefresh.id).where(
        RelationRefresh.app_id == refresh.app_id, RelationRefresh.form_key == refresh.form_key,
        RelationRefresh.id < refresh.id, RelationRefresh.status != "done")).scalars().all()
    for refresh_id in [refresh.id, *older]:
        db.session.execute(sa.delete(table).where(table.c.refresh_id == refresh_id,
                                                  table.c.form_key == refresh.form_key, table.c.record_id.in_(ids)))


def _waiting(refresh: RelationRefresh) -> int:
    """How many of the refresh's own records it has not reached."""
    return db.session.execute(sa.select(sa.func.count()).select_from(RelationPending).where(
        RelationPending.refresh_id == refresh.id, RelationPending.form_key == refresh.form_key)).scalar_one()


def _finish(refresh: RelationRefresh) -> dict:
    # Its own records are done, and with them those that follow from theirs.
    db.session.execute(sa.delete(RelationPending.__table__).where(RelationPending.refresh_id == refresh.id))
    epoch.bump(db.session())  # processes stop asking about records of a form nothing waits in
    refresh.status, refresh.done, refresh.finished_at, refresh.error = "done", refresh.total, utcnow(), None
    return {"refresh": refresh.id, "total": refresh.total, "changed": refresh.changed}


def _note_error(refresh_id: int, exc: Exception) -> None:
    db.session.rollback()
    with write_transaction():
        db.session.execute(sa.update(RelationRefresh).where(RelationRefresh.id == refresh_id)
                           .values(error=f"{type(exc).__name__}: {exc}"[:2000]))


# -- what the pages and the API show ---------------------------------------------------------------
def may_be_updating(app_id: int, form_key: str) -> bool:
    """Whether any record of the form may wait for a refresh: one probe of the index, kept by
    the process under the cache epoch (platform/epoch.py), which every transaction that marks
    records "updating" moves on (`_new`, `_add_pending`). A refresh that ends leaves the answer
    true until the epoch next moves: `updating` then simply finds nothing."""
    p = RelationPending.__table__.c
    return epoch.cached("updating", (app_id, form_key), lambda: db.session.execute(
        sa.select(p.record_id).where(p.app_id == app_id, p.form_key == form_key).limit(1)).first() is not None)


def updating(app_id: int, form_key: str, record_ids: list[int]) -> set[int]:
    """Which of these records still wait for a refresh."""
    if not record_ids or not may_be_updating(app_id, form_key):
        return set()
    p = RelationPending.__table__.c
    out: set[int] = set()
    for batch in store.chunks(sorted(set(record_ids))):
        out.update(db.session.execute(sa.select(p.record_id).where(
            p.app_id == app_id, p.form_key == form_key, p.record_id.in_(batch)).distinct()).scalars())
    return out


def waiting_on(app_id: int, form_key: str, record_id: int) -> list[dict]:
    """The refreshes a record waits for, with their progress."""
    p = RelationPending.__table__.c
    ids = db.session.execute(sa.select(p.refresh_id).where(
        p.app_id == app_id, p.form_key == form_key, p.record_id == record_id)).scalars().all()
    rows = db.session.execute(sa.select(RelationRefresh).where(RelationRefresh.id.in_(ids))
                              .order_by(RelationRefresh.id)).scalars() if ids else []
    return [describe(r) for r in rows]


def recent(app_id: int, limit: int = 20) -> list[dict]:
    rows = db.session.execute(sa.select(RelationRefresh).where(RelationRefresh.app_id == app_id)
                              .order_by(RelationRefresh.id.desc()).limit(limit)).scalars()
    return [describe(r) for r in rows]


def get(app_id: int, refresh_id: int) -> dict:
    refresh = db.session.get(RelationRefresh, refresh_id)
    if refresh is None or refresh.app_id != app_id:
        raise NotFound(f"No refresh {refresh_id} in this app")
    return describe(refresh)


def describe(refresh: RelationRefresh) -> dict:
    """A refresh as the pages and the API show it; a job out of attempts reads "failed"."""
    status = refresh.status
    done = refresh.done
    if status != "done":
        done = refresh.total - _waiting(refresh)
        job_status = db.session.execute(sa.select(Job.status).where(Job.id == refresh.job_id)).scalar() \
            if refresh.job_id else None
        if job_status in ("failed", "cancelled"):
            status = "failed"
    return {"id": refresh.id, "form": refresh.form_key, "cause": refresh.cause, "status": status,
            "total": refresh.total, "done": done, "changed": refresh.changed, "error": refresh.error,
            "job": refresh.job_id, "created_at": _iso(refresh.created_at), "finished_at": _iso(refresh.finished_at),
            "percent": 100 if not refresh.total else int(done * 100 / refresh.total)}


def _iso(at: datetime | None) -> str | None:
    return at.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z") if at else None


# -- rollups and formulas that read the clock ------------------------------------------------------
def uses_clock(node) -> str | None:
    """"now" if a condition reads the time, "today" if it reads the date, else None."""
    if isinstance(node, dict):
        if "now" in node:
            return "now"
        found = {uses_clock(v) for v in node.values()}
        return "now" if "now" in found else "today" if ("today" in node or "today" in found) else None
    if isinstance(node, list):
        found = {uses_clock(v) for v in node}
        return "now" if "now" in found else "today" if "today" in found else None
    return None


def clock_forms(runtime) -> dict[str, str]:
    """Forms with rollups whose condition, or formulas whose expression, reads the clock ->
    "now" (re-evaluated hourly) or "today" (daily)."""
    out: dict[str, str] = {}
    rollups = relations.index(runtime).rollups
    for form_key, form in runtime.definition.forms.items():
        kinds = {uses_clock(d.where) for d in rollups.get(form_key, ()) if d.where}
        for _key, parsed in form.formulas:
            kinds |= {"now" if "NOW" in parsed.functions else "today" if "TODAY" in parsed.functions else None}
        if "now" in kinds:
            out[form_key] = "now"
        elif "today" in kinds:
            out[form_key] = "today"
    return out


def scan(now: datetime | None = None) -> int:
    """Once per app-local day ("today") or hour ("now"), refresh the forms whose rollups read
    the clock. A dedupe key per form and slot makes it once however many processes look."""


    now = now or utcnow()
    made = 0
    apps = db.session.execute(sa.select(App.id, App.published_version).where(App.published_version > 0)).all()
    for app_id, version in apps:
        runtime = runtime_for(app_id, version)
        local = now.replace(tzinfo=UTC).astimezone(ZoneInfo(app_timezone(runtime)))
        for form_key, kind in clock_forms(runtime).items():
            slot = f"{local:%Y-%m-%d}" if kind == "today" else f"{local:%Y-%m-%dT%H}"
            key = f"relations.clock:{app_id}:{form_key}:{slot}"
            if db.session.execute(sa.select(Job.id).where(Job.dedupe_key == key)).scalar():
                continue
            try:
                with write_transaction():
                    defer_all(runtime, form_key, {"kind": "clock", "slot": slot}, None, dedupe_key=key, at=now)
                made += 1
            except IntegrityError:
                continue  # another process made it a moment ago
    db.session.rollback()
    return made


def tick() -> dict | None:

    if time.monotonic() - _last_tick[0] < TICK_EVERY:
        return None
    _last_tick[0] = time.monotonic()
    made = scan()
    return {"relation_refreshes": made} if made else None


outbox.on_tick(tick)
