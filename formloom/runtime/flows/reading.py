"""Reading flows: the version a flow instance is pinned to, its record, tasks and instances as
JSON, and the fields a record in a flow hides or locks (an `access.FIELD_RULE_SOURCES` source)."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from formloom.platform import reqcache
from formloom.platform.actor import Actor
from formloom.platform.exceptions import NotFound
from formloom.platform.extensions import db
from formloom.platform.models import App, FlowInstance, FlowTask
from formloom.runtime import access
from formloom.runtime.apps import runtime_for
from formloom.runtime.flows import messages as msg
from formloom.runtime.flows.engine import writing
from formloom.runtime.flows.model import Flow
from formloom.runtime.storage import store

ACTED = ("approved", "rejected", "returned", "transferred", "signer_added")  # someone acted: no withdrawing
LIVE = ("in_progress", "returned")


def lock(instance_id: int) -> None:
    """Queue the actions on one instance (PostgreSQL row lock; SQLite has one writer anyway):
    two approvers racing otherwise lock each other's tasks in turn, a deadlock."""
    db.session.execute(sa.select(FlowInstance.id).where(FlowInstance.id == instance_id).with_for_update())


# -- reading -----------------------------------------------------------------------------------------
def pinned(instance: FlowInstance) -> tuple[object, Flow]:
    runtime = runtime_for(instance.app_id, instance.app_version)
    flow = runtime.definition.flows.get(instance.flow_key)
    if flow is None:
        raise NotFound.of(msg.FLOW_GONE)
    return runtime, flow


def load_record(runtime, form_key: str, record_id: int, include_deleted: bool = False) -> dict:
    found = store.load_records(runtime.form_tables(form_key), [record_id], include_deleted=include_deleted)
    if record_id not in found:
        raise NotFound.of(msg.NO_RECORD)
    return found[record_id]


def latest_instance(runtime, form_key: str, record_id: int) -> FlowInstance | None:
    return db.session.execute(sa.select(FlowInstance).where(
        FlowInstance.app_id == runtime.app_id, FlowInstance.form_key == form_key,
        FlowInstance.record_id == record_id).order_by(FlowInstance.id.desc()).limit(1)).scalar()


def task_json(task: FlowTask) -> dict:
    app_key = reqcache.cached("app_key", task.app_id, lambda: db.session.execute(
        sa.select(App.key).where(App.id == task.app_id)).scalar())  # keys never change
    return {"id": task.id, "app": app_key, "form": task.form_key, "record_id": task.record_id, "step": task.step_key,
            "kind": task.kind, "status": task.status, "assignee": task.assignee_id, "instance": task.instance_id,
            "due_at": _iso(task.due_at), "created_at": _iso(task.created_at), "acted_at": _iso(task.acted_at),
            "comment": task.comment}


def instance_json(instance: FlowInstance) -> dict:
    return {"id": instance.id, "flow": instance.flow_key, "form": instance.form_key, "record_id": instance.record_id,
            "status": instance.status, "submitter": instance.submitter_id, "version": instance.app_version,
            "started_at": _iso(instance.started_at), "finished_at": _iso(instance.finished_at)}


def _iso(value) -> str | None:
    return value.isoformat() + "Z" if value is not None else None


def _status_word(status: str) -> str:
    return {"approved": _("approved"), "rejected": _("rejected"), "returned": _("returned"),
            "transferred": _("transferred"), "cancelled": _("closed: the step went on without it"),
            "waiting": _("waiting for someone else first")}.get(status, status)


# -- the record while it is in a flow ----------------------------------------------------------------
def flow_field_rules(actor: Actor, runtime, form_key: str, record: dict):
    """An access.FIELD_RULE_SOURCES source: a record in an approval is read-only to everyone
    (changes go through the tasks); fields the current step hides are hidden from its approvers."""
    if record.get("flow_status") != "in_progress" or writing(record.get("id")) or actor.via in ("system",
                                                                                              "automation"):
        return None
    form = runtime.form(form_key)
    hidden = reqcache.cached("flow_hidden", (actor.user_id, runtime.app_id, form_key, record["id"]),
                             lambda: frozenset(_hidden_for(actor, runtime, form_key, record["id"])))
    return access.FieldRules(hidden=hidden, readonly=frozenset(form.fields))


def _hidden_for(actor: Actor, runtime, form_key: str, record_id: int) -> set[str]:
    """Fields the step of the actor's pending task on this record hides from them."""
    if actor.user_id is None:
        return set()
    tasks = db.session.execute(sa.select(FlowTask.instance_id, FlowTask.step_key).where(
        FlowTask.app_id == runtime.app_id, FlowTask.form_key == form_key, FlowTask.record_id == record_id,
        FlowTask.assignee_id == actor.user_id, FlowTask.status == "pending")).all()
    hidden: set[str] = set()
    for instance_id, step in tasks:
        instance = db.session.get(FlowInstance, instance_id)
        _runtime, flow = pinned(instance)
        node = flow.nodes.get(step)
        if node is not None:
            hidden |= set((node.spec.get("fields") or {}).get("hidden", []))
    return hidden


