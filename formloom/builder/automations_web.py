"""App administration pages for automations: what each one does, in words, and its runs.

For the app's administrators; the work (and every permission check) is done in
`runtime/automations/history.py`. Automations are written in the app definition, so these
pages only show them, run a schedule by hand and retry a failed run. Times read in the app's
time zone, as the automations themselves do. The routes join the builder's blueprint.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from markupsafe import Markup, escape

from formloom.builder import web
from formloom.builder.web import bp
from formloom.platform.exceptions import ValidationFailed
from formloom.platform.i18n import format_moment
from formloom.platform.inputs import as_id
from formloom.platform.models import AutomationRun, utcnow
from formloom.runtime.automations import history
from formloom.runtime.automations.model import Automation, action_types, trigger_types
from formloom.runtime.records.context import app_timezone
from formloom.runtime.web.common import Page

STATUS_NAMES = {"done": _l("Done"), "failed": _l("Failed"), "stopped": _l("Stopped"), "running": _l("Running")}
STATUS_COLORS = {"done": "success", "failed": "danger", "stopped": "warning", "running": "info"}
STEP_COLORS = {"ok": "success", "failed": "danger", "rolled_back": "secondary", "queued": "info",
               "retrying": "warning", "refused": "danger", "running": "info"}
TRIGGER_NAMES = {"record_created": _l("A record was added"), "record_updated": _l("A record was changed"),
                 "record_deleted": _l("A record was deleted"), "flow_finished": _l("An approval ended"),
                 "flow_step": _l("An approval reached a step")}
TRIGGER_ICONS = {"schedule": "clock", "date_reached": "calendar-event", "flow_finished": "check2-circle",
                 "flow_step": "signpost-split"}
IDS = "%(ids)s"  # left in a message by gettext, filled with record links after escaping


DENIED = _l("Only the app's administrators can see its automations.")


def admin_page(app_key: str) -> Page:
    return web.admin_page(app_key, DENIED)


def can_run_now(auto: Automation) -> bool:
    """Only a schedule with no records to go through can be started by hand."""
    return auto.enabled and trigger_types.get(auto.on).runs_by_hand(auto.trigger)


# --- times ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Moment:
    """A stored (naive UTC) time as the pages show it: local, and how long ago."""

    local: str
    ago: str


def moment(value: datetime | None, tz: str) -> Moment | None:
    if value is None:
        return None
    return Moment(format_moment(value, tz, seconds=True),
                  format_timedelta(value - utcnow(), granularity="minute", add_direction=True))


# --- one run in words -----------------------------------------------------------------------

@dataclass
class Step:
    """One action of a run: what it is meant to do and what it did."""

    number: int
    description: str
    status: str
    color: str
    outcome: Markup


@dataclass
class RunView:
    row: AutomationRun
    status_name: str
    color: str
    started: Moment | None
    finished: Moment | None
    cause: str
    records: list[tuple[int, str | None]]  # (record id, url) in the trigger's form
    steps: list[Step] = field(default_factory=list)

    @property
    def broke(self) -> bool:
        return self.row.status in ("failed", "stopped")


def record_links(page: Page, form_key: str | None, ids) -> list[tuple[int, str | None]]:
    """(id, url) of each record; no url when the form has left the app."""
    known = bool(form_key) and form_key in page.runtime.definition.forms
    return [(rid, url_for("web.record_detail", app_key=page.runtime.key, form_key=form_key, record_id=rid)
             if known else None) for rid in ids if isinstance(rid, int)]


def with_links(message: str, links: list[tuple[int, str | None]]) -> Markup:
    """A translated message holding `%(ids)s`, escaped, with the records as links there."""
    joined = Markup(", ").join(Markup('<a href="{}">#{}</a>').format(url, rid) if url else f"#{rid}"
                               for rid, url in links)
    return escape(message) % {"ids": joined}


def cause(page: Page, auto: Automation, row: AutomationRun, tz: str) -> str:
    """What started the run, from its slot ("event:7", "cron:<local minute>", "date:<id>:<day>")."""
    kind, _sep, rest = row.slot.partition(":")
    if kind == "event":
        what = TRIGGER_NAMES.get(row.trigger)
        return _("%(what)s (event #%(id)s)", what=what, id=rest) if what else _("Event #%(id)s", id=rest)
    if kind == "cron":
        return _("Scheduled for %(time)s", time=rest[:16].replace("T", " "))
    if kind == "manual":
        return _("Run now by an administrator")
    if kind == "date":
        day = rest.partition(":")[2]
        form = page.runtime.definition.forms.get(auto.form or "")
        label = form.label(auto.trigger["field"], page.locale) if form and auto.trigger.get("field") in \
            form.fields else auto.trigger.get("field", "")
        shown = (format_moment(datetime.fromisoformat(day), tz) if "T" in day
                 else date.fromisoformat(day).isoformat())
        return _("%(field)s reached: %(date)s", field=label, date=shown)
    return row.slot


def outcome(page: Page, result: dict) -> Markup:
    """What one action did, in words ("Updated 3 of 3 matched", "Failed: ...")."""
    status = result.get("status")
    if status == "failed":
        return escape(_("Failed: %(error)s", error=result.get("error") or _("no reason given")))
    if status == "rolled_back":
        return escape(_("Rolled back: a later action failed"))
    if status == "refused":
        return escape(_("Webhook refused: %(error)s", error=result.get("error") or ""))
    if status == "queued":
        return escape(_("Webhook: waiting to be sent"))
    if status == "retrying":
        return escape(_("Webhook: %(error)s; trying again (attempt %(attempt)s)",
                        error=result.get("error") or _("HTTP %(status)s", status=result.get("http_status")),
                        attempt=result.get("attempt", 1)))
    return escape(done_words(page, result))


def done_words(page: Page, result: dict) -> Markup | str:
    kind = result.get("type")
    message = action_types.get(kind).done_words(result) if kind in action_types else _("Done")
    if result.get("created"):
        return with_links(message, record_links(page, result.get("form"), result["created"]))
    return message


def run_view(page: Page, auto: Automation, row: AutomationRun, tz: str) -> RunView:
    view = RunView(row, str(STATUS_NAMES.get(row.status, row.status)), STATUS_COLORS.get(row.status, "secondary"),
                   moment(row.started_at, tz), moment(row.finished_at, tz), cause(page, auto, row, tz),
                   record_links(page, auto.form, row.record_ids or []))
    _trigger, words = history.describe(page.runtime, auto, page.locale)
    for index, result in enumerate(row.results or []):
        view.steps.append(Step(index + 1, words[index] if index < len(words) else result.get("type", ""),
                               result.get("status", ""), STEP_COLORS.get(result.get("status"), "secondary"),
                               outcome(page, result)))
    return view


# --- the routes -----------------------------------------------------------------------------

@bp.get("/a/<app_key>/automations")
@login_required
def automations(app_key):
    """Every automation of the app in words, with its latest run and its last day."""
    page = admin_page(app_key)
    _runtime, items = history.summaries(page.actor, app_key, page.locale)
    tz = app_timezone(page.runtime)
    lasts = {s.key: run_view(page, s.automation, s.last, tz) for s in items if s.last is not None}
    return render_template("builder/automations.html", page=page, items=items, lasts=lasts, tz=tz,
                           can_run_now=can_run_now, icons=TRIGGER_ICONS)


@bp.get("/a/<app_key>/automations/<key>")
@login_required
def automation_runs(app_key, key):
    """One automation's runs, newest first, `before` a run id, optionally of one status."""
    page = admin_page(app_key)
    status = request.args.get("status") or None
    before = as_id(request.args.get("before", ""))
    _runtime, auto, rows, after = history.runs(page.actor, app_key, key, status=status, before=before)
    tz = app_timezone(page.runtime)
    trigger, steps = history.describe(page.runtime, auto, page.locale)
    filters = {"status": status} if status else {}
    return render_template(
        "builder/automation_runs.html", page=page, auto=auto, trigger=trigger, steps=steps, tz=tz,
        runs=[run_view(page, auto, row, tz) for row in rows], status=status or "", statuses=history.STATUSES,
        status_names=STATUS_NAMES, can_run_now=can_run_now(auto), icon=TRIGGER_ICONS.get(auto.on, "lightning-charge"),
        next_url=url_for("builder.automation_runs", app_key=app_key, key=key, before=after, **filters) if after else None,
        first_url=url_for("builder.automation_runs", app_key=app_key, key=key, **filters) if before else None)


@bp.post("/a/<app_key>/automations/<key>/run")
@login_required
def automation_run_now(app_key, key):
    page = admin_page(app_key)
    auto = history.automation_of(page.runtime, key)
    try:
        history.run_now(page.actor, app_key, key)
    except ValidationFailed as exc:
        flash(exc.localized(), "error")
    else:
        flash(_("“%(name)s” is running now; its run shows below once it has finished.",
                name=auto.display_name(page.locale)), "success")
    return redirect(url_for("builder.automation_runs", app_key=app_key, key=key))


@bp.post("/a/<app_key>/automations/<key>/runs/<int:run_id>/retry")
@login_required
def automation_retry(app_key, key, run_id):
    """Queue a failed run's job again (its actions were rolled back, so it runs whole)."""
    page = admin_page(app_key)
    if history.retry(page.actor, app_key, key, run_id):
        flash(_("Run #%(id)s is queued again, with a fresh count of attempts.", id=run_id), "success")
    else:
        flash(_("Run #%(id)s is not waiting for a retry: it is being tried again already, or it has finished.",
                id=run_id), "info")
    status = request.form.get("status")
    return redirect(url_for("builder.automation_runs", app_key=app_key, key=key,
                            **({"status": status} if status in history.STATUSES else {})))
