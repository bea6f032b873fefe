"""Approval flow routes: the caller's tasks, acting on them, and a record's approval."""
from __future__ import annotations

import sqlalchemy as sa
from flask import jsonify, request

from formloom.platform.api import actor, json_body
from formloom.platform.credentials import narrowed_to_token_app
from formloom.platform.exceptions import FormloomError
from formloom.platform.extensions import db
from formloom.platform.i18n import current_locale_name
from formloom.platform.inputs import as_id, is_id
from formloom.platform.models import FlowTask, User
from formloom.runtime import access
from formloom.runtime.api.base import bp
from formloom.runtime.apps import get_runtime
from formloom.runtime.exceptions import NotFound, ValidationFailed
from formloom.runtime.flows import queries, service
from formloom.runtime.records import service as records
from formloom.runtime.records.serialize import record_json

RECORD = "/apps/<app_key>/forms/<form_key>/records/<int:record_id>"
STATUSES = ("pending", "done", "cc")
BATCH_ACTIONS = ("approve", "reject")
MAX_BATCH = 100


def _invalid(field: str, message: str, detail: str) -> ValidationFailed:
    return ValidationFailed(detail, [{"field": field, "message": message}])


def _iso(value) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value is not None else None


def _check_token_app(app_id: int) -> None:
    """A token limited to one app sees no task of another (the services check only the assignee)."""
    if actor().app_id is not None and actor().app_id != app_id:
        raise NotFound("No such task")


def _token_reaches(task_id: int) -> None:
    """404 for a task that does not exist or that the caller's token may not reach."""
    task = db.session.get(FlowTask, task_id)
    if task is None:
        raise NotFound("No such task")
    _check_token_app(task.app_id)


def _names(user_ids) -> dict[int, str]:
    ids = {i for i in user_ids if i}
    return dict(db.session.execute(sa.select(User.id, User.name).where(User.id.in_(ids))).all()) if ids else {}


def _tasks_json(tasks: list[FlowTask]) -> list[dict]:
    names = _names(t.assignee_id for t in tasks)
    return [{**service.task_json(t), "assignee_name": names.get(t.assignee_id, "")} for t in tasks]


def _timeline_json(entries, hidden=frozenset()) -> list[dict]:
    """The timeline; field changes to fields hidden from the reader are left out."""
    out = []
    for e in entries:
        detail = e.log.detail
        if isinstance(detail, dict) and isinstance(detail.get("changes"), dict):
            detail = {**detail, "changes": {k: v for k, v in detail["changes"].items() if k not in hidden}}
        out.append({"id": e.log.id, "action": e.log.action, "step": e.log.step_key, "step_name": e.step_name,
                    "actor": e.log.actor_id, "actor_name": e.actor_name, "comment": e.log.comment,
                    "detail": detail, "at": _iso(e.log.at)})
    return out


def _item_json(item: queries.Item) -> dict:
    base = service.task_json(item.task) if item.task is not None else {
        **service.instance_json(item.instance), "app": item.app_key, "instance": item.instance.id,
        "step": queries.current_step(item.instance)}
    return {**base, "title": item.title, "step_name": item.step_name, "app_name": item.app_name,
            "form_name": item.form_name, "submitter": item.instance.submitter_id, "submitter_name": item.submitter,
            "flow_status": item.instance.status}


# -- the caller's tasks --------------------------------------------------------------------------------
@bp.get("/tasks")
@narrowed_to_token_app
def list_tasks():
    """?status=pending|done|cc, or ?box=submitted; newest first, `cursor` / `next_cursor`."""
    box = request.args.get("box")
    if box is not None and box != "submitted":
        raise _invalid("box", 'must be "submitted"', 'box must be "submitted" (or leave it out and use status)')
    status = request.args.get("status", "pending")
    if box is None and status not in STATUSES:
        raise _invalid("status", f"must be one of: {', '.join(STATUSES)}",
                       f"status must be one of: {', '.join(STATUSES)}")
    limit = request.args.get("limit", str(queries.PAGE))
    if not limit.isdigit() or not 1 <= int(limit) <= 200:
        raise _invalid("limit", "is out of range", "limit must be a whole number from 1 to 200")
    cursor = request.args.get("cursor")
    if cursor is not None and as_id(cursor) is None:
        raise _invalid("cursor", "is not a cursor this list gave", "cursor must be a next_cursor of this list")
    items, nxt = queries.inbox(actor(), box or status, before=int(cursor) if cursor else None, limit=int(limit),
                               locale=current_locale_name())
    return jsonify({"items": [_item_json(i) for i in items], "next_cursor": str(nxt) if nxt else None})


@bp.get("/tasks/counts")
@narrowed_to_token_app
def task_counts():
    return jsonify(queries.counts(actor()))


@bp.get("/tasks/<int:task_id>")
@narrowed_to_token_app
def get_task(task_id):
    """The task, the record as its step shows it, what the caller may do, and the timeline."""
    _token_reaches(task_id)
    view = queries.task_view(actor(), task_id, current_locale_name())
    form = view.runtime.form(view.instance.form_key)
    shown = [k for k in form.fields if k not in view.hidden]
    return jsonify({
        "task": {**service.task_json(view.task), "step_name": queries.step_name(view.flow, view.task.step_key,
                                                                                  current_locale_name())},
        "instance": {**service.instance_json(view.instance), "flow_name": view.flow.name},
        "record": record_json(form, view.record, shown),
        "editable": list(view.editable),
        "actions": list(view.actions),
        "returnable": [{"step": key, "name": name} for key, name in view.returnable],
        "timeline": _timeline_json(view.timeline, view.hidden),
        "tasks": _tasks_json(view.tasks),
    })


@bp.post("/tasks/<int:task_id>/actions")
@narrowed_to_token_app
def act_on_task(task_id):
    """{"action", "comment", "fields", "to", "position"} -> the task; 409 when it is no longer pending."""
    body = json_body()
    action = body.get("action")
    if not isinstance(action, str):
        raise _invalid("action", f"must be one of: {', '.join(service.ACTIONS)}",
                       f'"action" must be one of: {", ".join(service.ACTIONS)}')
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise _invalid("comment", "must be text", '"comment" must be text')
    fields = body.get("fields")
    if fields is not None and not isinstance(fields, dict):
        raise _invalid("fields", "must be an object", '"fields" must be an object of field: value')
    _token_reaches(task_id)
    task = service.act(actor(), task_id, action, comment=comment, fields=fields, to=body.get("to"),
                       position=body.get("position"))
    return jsonify(task)


@bp.post("/tasks/batch")
@narrowed_to_token_app
def act_in_batch():
    """{"action": "approve"|"reject", "ids": [...], "comment"}: each task in its own transaction."""
    body = json_body()
    action = body.get("action")
    if action not in BATCH_ACTIONS:
        raise _invalid("action", f"must be one of: {', '.join(BATCH_ACTIONS)}",
                       f'"action" must be one of: {", ".join(BATCH_ACTIONS)}')
    ids = body.get("ids")
    if (not isinstance(ids, list) or not ids or len(ids) > MAX_BATCH
            or not all(is_id(i) for i in ids)):
        raise _invalid("ids", f"must be a list of 1 to {MAX_BATCH} task ids",
                       f'"ids" must be a list of 1 to {MAX_BATCH} task ids')
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise _invalid("comment", "must be text", '"comment" must be text')
    results = []
    for task_id in dict.fromkeys(ids):
        try:
            _token_reaches(task_id)
            results.append({"id": task_id, "ok": True,
                            "task": service.act(actor(), task_id, action, comment=comment)})
        except FormloomError as exc:  # this task's transaction rolled back; the others stand
            results.append({"id": task_id, "ok": False, "status": exc.status, "title": exc.title,
                            "code": exc.code, "detail": exc.message, **({"reason": exc.extra["reason"]} if "reason" in exc.extra else {})})
    return jsonify({"results": results, "done": sum(r["ok"] for r in results),
                    "failed": sum(not r["ok"] for r in results)})


# -- a record's approval ---------------------------------------------------------------------------------
def _runtime(app_key: str, form_key: str):
    rt = get_runtime(app_key)
    access.require_app(actor(), rt)
    rt.form(form_key)
    return rt


def _takes_part(rt, form_key: str, record_id: int) -> bool:
    instance = service.latest_instance(rt, form_key, record_id)
    user = actor().user_id
    if instance is None or user is None:
        return False
    return instance.submitter_id == user or db.session.execute(sa.select(FlowTask.id).where(
        FlowTask.instance_id == instance.id, FlowTask.assignee_id == user)).first() is not None


def _reachable(app_key: str, form_key: str, record_id: int):
    """The runtime, when the caller may see the record or takes part in its approval (else 404),
    so nobody learns where a record they cannot see stands."""
    rt = _runtime(app_key, form_key)
    try:
        records.get(actor(), rt, form_key, record_id)
    except NotFound:
        if not _takes_part(rt, form_key, record_id):
            raise
    return rt


@bp.get(RECORD + "/flow")
def record_flow(app_key, form_key, record_id):
    """The record's latest approval: its instance, tasks and timeline (instance null if none)."""
    rt = _runtime(app_key, form_key)
    record = records.get(actor(), rt, form_key, record_id)
    found = queries.record_flow(actor(), rt, form_key, record_id, current_locale_name())
    if found is None:
        return jsonify({"instance": None, "tasks": [], "timeline": [], "can_withdraw": False, "can_urge": False,
                        "my_task": None})
    return jsonify({
        "instance": {**service.instance_json(found.instance), "flow_name": found.flow.name,
                     "step": queries.current_step(found.instance),
                     "step_name": queries.step_name(found.flow, queries.current_step(found.instance),
                                                    current_locale_name())},
        "tasks": _tasks_json(found.tasks),
        "timeline": _timeline_json(found.timeline, frozenset(record.get("hidden") or ())),
        "can_withdraw": found.can_withdraw, "can_urge": found.can_urge,
        "my_task": found.my_task.id if found.my_task is not None else None,
    })


@bp.post(RECORD + "/submit")
def submit_record(app_key, form_key, record_id):
    """Submit again after a rejection or a withdrawal: the new instance (201)."""
    rt = _runtime(app_key, form_key)
    records.get(actor(), rt, form_key, record_id)
    instance = service.submit_record(actor(), rt, form_key, record_id)
    response = jsonify(service.instance_json(instance))
    response.status_code = 201
    return response


@bp.post(RECORD + "/withdraw")
def withdraw_record(app_key, form_key, record_id):
    rt = _reachable(app_key, form_key, record_id)
    comment = json_body(required=False).get("comment")
    if comment is not None and not isinstance(comment, str):
        raise _invalid("comment", "must be text", '"comment" must be text')
    return jsonify(service.withdraw(actor(), rt, form_key, record_id, comment=comment))


@bp.post(RECORD + "/urge")
def urge_record(app_key, form_key, record_id):
    rt = _reachable(app_key, form_key, record_id)
    return jsonify({"told": service.urge(actor(), rt, form_key, record_id)})


@bp.post(RECORD + "/comments")
def comment_record(app_key, form_key, record_id):
    rt = _reachable(app_key, form_key, record_id)
    text = json_body().get("comment")
    if not isinstance(text, str):
        raise _invalid("comment", "must be text", '"comment" must be text')
    service.comment(actor(), rt, form_key, record_id, text)
    instance = service.latest_instance(rt, form_key, record_id)
    response = jsonify({"instance": instance.id, "comment": text.strip()[:5000]})
    response.status_code = 201
    return response
