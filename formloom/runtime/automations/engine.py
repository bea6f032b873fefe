"""Running automations: from an outbox event or a moment to one run with a history row.

The outbox dispatcher asks `jobs_for(events)` which automations an event may start (type,
form and watched fields; cheap) and makes one "automation.run" job per pair, deduplicated by
(automation, event). The job loads the record, checks the trigger's condition, and runs the
actions in order inside one transaction, as the system, with the run's history row: a
failing action rolls back the ones before it, the run says which action failed and why, and
the job is retried with backoff. A run answers its slot (`event:<id>`, `cron:<minute>`,
`date:<record>:<day>`) once, so a retried or duplicated job does nothing twice.

Records the actions write carry the chain of automations that led to them; an event whose
chain is `MAX_DEPTH` long starts nothing more and its run is recorded as stopped, naming the
chain: an automation that keeps triggering itself ends there.
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from formloom.platform import jobs, outbox
from formloom.platform.actor import Actor
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import App, AutomationRun, OutboxEvent, utcnow
from formloom.runtime import conditions, formulas
from formloom.runtime.apps import runtime_for
from formloom.runtime.automations.model import Automation, action_types, trigger_types
from formloom.runtime.exceptions import FormloomError
from formloom.runtime.records import query
from formloom.runtime.records.context import app_timezone
from formloom.runtime.schema.validate import operand_resolver
from formloom.runtime.storage import store

MAX_DEPTH = 5  # automations started by automations, in a row
MAX_MATCHED = 5_000  # records one action may change
MAX_ATTEMPTS = 5
RUN_JOB = "automation.run"


class ActionFailed(Exception):
    """An action cannot be done as asked (the message says why, for the run history)."""


@dataclass
class Run:
    """What one run's actions work with."""

    runtime: object
    automation: Automation
    actor: Actor
    now: datetime  # naive UTC
    record: dict | None = None  # the triggering record (as `store.load_records` gives it)
    form_key: str | None = None
    event_id: int | None = None
    slot: str = ""
    results: list = field(default_factory=list)
    _formulas: dict = field(default_factory=dict)

    @cached_property
    def tz(self) -> str:
        return app_timezone(self.runtime)

    @cached_property
    def today(self) -> date:
        return self.now.replace(tzinfo=UTC).astimezone(ZoneInfo(self.tz)).date()

    @cached_property
    def flat(self) -> dict | None:
        """The triggering record's values as conditions and formulas read them."""
        return store.flat_values(self.record) if self.record is not None else None

    def formula(self, text: str):
        if text not in self._formulas:
            self._formulas[text] = formulas.parse(text)
        return self._formulas[text]

    def env(self, record: dict | None = None) -> conditions.Env:
        return conditions.Env(record=record if record is not None else self.flat, now=self.now, tz=self.tz)

    def matching(self, form_key: str, where, cap: int = MAX_MATCHED) -> list[int]:
        """Ids of the live records of `form_key` matching `where` (with `record.*` read from
        the triggering record), oldest first. ActionFailed beyond `cap`."""
        ft = self.runtime.form_tables(form_key)
        clause = conditions.to_sql(where, query.sql_resolver(self.runtime, form_key), self.env(),
                                   record_resolver=self.source_resolver())
        ids = list(db.session.execute(sa.select(ft.table.c.id).where(ft.table.c.deleted_at.is_(None), clause)
                                      .order_by(ft.table.c.id).limit(cap + 1)).scalars())
        if len(ids) > cap:
            raise ActionFailed(f"more than {cap} {form_key} records match; an action changes at most {cap}")
        return ids

    def source_resolver(self):
        return operand_resolver(self.runtime.form(self.form_key)) if self.form_key else None

    def load(self, form_key: str, ids: list[int]) -> dict[int, dict]:
        return store.load_records(self.runtime.form_tables(form_key), ids)


# -- from events to jobs ---------------------------------------------------------------------------
def automations_of(runtime) -> dict[str, Automation]:
    return runtime.definition.automations


def jobs_for(events: list[OutboxEvent]) -> list[dict]:
    """One run job per (event, automation whose trigger may want it)."""
    apps = {e.app_id for e in events}
    versions = dict(db.session.execute(sa.select(App.id, App.published_version).where(
        App.id.in_(apps), App.published_version.is_not(None), App.deleted_at.is_(None))).all())
    rows = []
    for event in events:
        if event.app_id not in versions:
            continue
        runtime = runtime_for(event.app_id, versions[event.app_id])
        for auto in automations_of(runtime).values():
            kind = trigger_types.get(auto.on)
            if auto.enabled and not kind.timed and kind.wants(auto.trigger, event):
                rows.append(run_job_row(event.app_id, auto.key, f"event:{event.id}", {"event_id": event.id}))
    return rows


def run_job_row(app_id: int, key: str, slot: str, extra: dict) -> dict:
    return jobs.job_row(RUN_JOB, {"app_id": app_id, "automation": key, "slot": slot, **extra}, queue="events",
                        dedupe_key=f"automation:{app_id}:{key}:{slot}", max_attempts=MAX_ATTEMPTS, app_id=app_id)


# -- one run ---------------------------------------------------------------------------------------
@jobs.handler(RUN_JOB)
def run_automation(payload: dict) -> dict:
    app_id, key, slot = payload["app_id"], payload["automation"], payload["slot"]
    version = db.session.execute(sa.select(App.published_version).where(App.id == app_id)).scalar()
    if not version:
        return {"status": "skipped", "reason": "the app is not published"}
    runtime = runtime_for(app_id, version)
    auto = automations_of(runtime).get(key)
    if auto is None or not auto.enabled:
        return {"status": "skipped", "reason": "the automation is gone or switched off"}
    done = db.session.execute(sa.select(AutomationRun.status).where(
        AutomationRun.app_id == app_id, AutomationRun.automation_key == key, AutomationRun.slot == slot)).scalar()
    if done in ("done", "stopped"):
        return {"status": "skipped", "reason": f"the run of {slot} is {done} already"}
    run, chain = _prepare(runtime, auto, payload)
    if run is None:
        return {"status": "skipped", "reason": chain}
    run.actor = Actor.automation((*chain, key))
    if len(chain) >= MAX_DEPTH:
        _record(run, "stopped", error=(f"stopped: {len(chain)} automations in a row triggered each other "
                                       f"({' -> '.join(chain)} -> {key}); at most {MAX_DEPTH} may"))
        return {"status": "stopped"}
    try:
        with write_transaction():
            for index, action in enumerate(auto.actions):
                run.results.append({"type": action["type"], "status": "running"})
                run.results[index] = {"type": action["type"], "status": "ok",
                                      **action_types.get(action["type"]).run(run, action, index)}
            _record(run, "done")
    except Exception as exc:  # noqa: BLE001 - recorded in the run, then retried by the job
        db.session.rollback()
        failed = len(run.results) - 1
        message = _message(exc)
        results = [{**r, "status": "rolled_back"} for r in run.results[:failed]]
        results.append({"type": auto.actions[failed]["type"], "status": "failed", "error": message})
        run.results = results
        error = f"action {failed + 1} ({auto.actions[failed]['type']}) failed: {message}"
        _record(run, "failed", error=error)
        raise ActionFailed(error) from exc
    return {"status": "done", "run": slot}


def _prepare(runtime, auto: Automation, payload: dict) -> tuple[Run | None, tuple | str]:
    """The run and the chain of automations behind it, or (None, why nothing runs)."""
    run = Run(runtime, auto, Actor.automation((auto.key,)), utcnow(), slot=payload["slot"], form_key=auto.form)
    chain: tuple = ()
    if "event_id" in payload:
        event = db.session.get(OutboxEvent, payload["event_id"])
        if event is None:
            return None, "the event is gone"
        run.event_id = event.id
        chain = tuple((event.payload or {}).get("chain") or ())
        record_id = event.record_id
    else:
        record_id = payload.get("record_id")
        if payload.get("at"):
            run.now = datetime.fromisoformat(payload["at"])
    if record_id is not None and auto.form:
        found = store.load_records(runtime.form_tables(auto.form), [record_id], include_deleted=True)
        if record_id not in found:
            return None, "the record is gone"
        run.record = found[record_id]
        if not _condition_holds(run):
            return None, "the condition does not hold"
    return run, chain


def _condition_holds(run: Run) -> bool:
    when = run.automation.trigger.get("when")
    if not when:
        return True
    form = run.runtime.form(run.form_key)
    return bool(conditions.to_python(when, operand_resolver(form), run.env())(run.flat))


def _message(exc: Exception) -> str:
    if isinstance(exc, FormloomError):
        details = "; ".join(f"{e.get('field') or e.get('pointer') or ''}: {e.get('message')}".strip(": ")
                            for e in (exc.errors or [])[:5])
        return f"{exc.message}" + (f" ({details})" if details else "")
    if isinstance(exc, ActionFailed):
        return str(exc)
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()[:1000]


def _record(run: Run, status: str, error: str | None = None) -> None:
    """Write the run's history row (the first attempt makes it, later ones update it)."""
    auto = run.automation
    where = (AutomationRun.app_id == run.runtime.app_id, AutomationRun.automation_key == auto.key,
             AutomationRun.slot == run.slot)
    values = {"status": status, "results": run.results, "error": error, "finished_at": utcnow(),
              "depth": len(run.actor.chain) - 1, "event_id": run.event_id,
              "record_ids": [run.record["id"]] if run.record else None}
    with write_transaction():
        changed = db.session.execute(sa.update(AutomationRun).where(*where).values(
            attempts=AutomationRun.attempts + 1, **values)).rowcount
        if not changed:
            db.session.add(AutomationRun(app_id=run.runtime.app_id, automation_key=auto.key, slot=run.slot,
                                         trigger=auto.on, attempts=1, started_at=run.now, **values))


def update_result(app_id: int, key: str, slot: str, index: int, result: dict) -> None:
    """Put what a later job (a webhook's delivery) made of an action into the run's history."""
    with write_transaction():
        row = db.session.execute(sa.select(AutomationRun).where(
            AutomationRun.app_id == app_id, AutomationRun.automation_key == key, AutomationRun.slot == slot)
            .with_for_update()).scalar()
        if row is None or index >= len(row.results or []):
            return
        results = list(row.results)
        results[index] = {**results[index], **result}
        row.results = results


def init() -> None:
    """Subscribe the automations to the outbox (automations.init)."""
    outbox.subscribe_batch(RUN_JOB, jobs_for)
