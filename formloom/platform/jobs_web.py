"""The jobs page for organisation administrators: what is queued, running, failed or done,
with retry and cancel. The `jobs` rows are the truth; this page only reads them and calls
`jobs.retry` / `jobs.cancel`, whose conditional updates make a stale click harmless."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from formloom.platform import audit, jobs
from formloom.platform.auth import current_actor
from formloom.platform.exceptions import PermissionDenied
from formloom.platform.extensions import db, write_transaction
from formloom.platform.i18n import app_names, format_moment
from formloom.platform.models import Job, utcnow

bp = Blueprint("jobs_web", __name__)
PAGE_SIZE = 50
FILTERS = ("status", "kind")

# The tabs: "due" and "later" split the queued jobs by whether their time has come.
TABS = {"all": _l("All"), "due": _l("Due now"), "later": _l("Scheduled later"), "running": _l("Running"),
        "held": _l("Held"), "failed": _l("Failed"), "done": _l("Done"), "cancelled": _l("Cancelled")}
# Each kind of job in words (the code stays beside it, for the logs); a kind not listed shows its code.
KIND_LABELS = {"email.send": _l("Send a notification email"), "email.invite": _l("Send an invitation email"),
               "files.sweep": _l("Clear unused uploads"), "flow.timeout": _l("Approval step timeout"),
               "relations.refresh": _l("Refresh linked values"), "webhook.deliver": _l("Deliver a webhook"),
               "webhook.fanout": _l("Find the webhooks for an event"), "automation.run": _l("Run an automation"),
               "automation.webhook": _l("Call a URL from an automation")}
STATUS_LABELS = {"queued": _l("Queued"), "retrying": _l("Retrying"), "running": _l("Running"), "held": _l("Held"),
                 "failed": _l("Failed"), "done": _l("Done"), "cancelled": _l("Cancelled")}
STATUS_COLORS = {"queued": "info", "retrying": "warning", "running": "primary", "held": "warning",
                 "failed": "danger", "done": "success", "cancelled": "secondary"}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@dataclass
class Row:
    """One job as the page shows it: the status it looks like and its times in the user's zone."""

    job: Job
    shown: str  # queued, retrying, running, failed, done, cancelled
    app_name: str
    created: str
    next_run: str
    started: str
    finished: str

    @property
    def label(self) -> str:
        return str(STATUS_LABELS.get(self.shown, self.shown))

    @property
    def color(self) -> str:
        return STATUS_COLORS.get(self.shown, "secondary")

    @property
    def error_head(self) -> str:
        return (self.job.error or "").strip().splitlines()[0] if (self.job.error or "").strip() else ""

    @property
    def error_more(self) -> bool:
        return "\n" in (self.job.error or "").strip() or len(self.error_head) > 160


def _local(value: datetime | None, tz) -> str:
    return format_moment(value, tz, seconds=True)


def _row(job: Job, tz, apps: dict[int, str]) -> Row:
    shown = "retrying" if job.status == "queued" and job.attempts > 0 else job.status
    app_name = apps.get(job.app_id, f"#{job.app_id}") if job.app_id else ""
    return Row(job, shown, app_name, _local(job.created_at, tz), _local(job.run_at, tz),
               _local(job.started_at, tz), _local(job.finished_at, tz))


def _tab() -> str:
    value = request.args.get("status", "all")
    return value if value in TABS else "all"


def _where(tab: str, kind: str, now: datetime) -> list:
    """The conditions for a tab and a kind (empty kind: every kind)."""
    conditions = [Job.kind == kind] if kind else []
    if tab == "due":
        conditions += [Job.status == "queued", Job.run_at <= now]
    elif tab == "later":
        conditions += [Job.status == "queued", Job.run_at > now]
    elif tab != "all":
        conditions.append(Job.status == tab)
    return conditions


def counts(kind: str, now: datetime) -> dict[str, int]:
    """How many jobs each tab holds, for one kind or all, in one query."""
    bucket = sa.case((sa.and_(Job.status == "queued", Job.run_at <= now), "due"),
                     (Job.status == "queued", "later"), else_=Job.status)
    query = sa.select(bucket, sa.func.count()).group_by(bucket)
    if kind:
        query = query.where(Job.kind == kind)
    found = {key: number for key, number in db.session.execute(query)}
    result = {key: found.get(key, 0) for key in TABS if key != "all"}
    result["all"] = sum(found.values())
    return result


def _after() -> tuple[datetime, str] | None:
    """The keyset cursor `after=<created_at ISO>_<id>`; anything unreadable means the first page."""
    created, _sep, job_id = request.args.get("after", "").partition("_")
    try:
        return (datetime.fromisoformat(created), job_id) if job_id else None
    except ValueError:
        return None


def find(tab: str, kind: str, now: datetime, after: tuple[datetime, str] | None) -> tuple[list[Job], str | None]:
    """A page of jobs, newest first by (created_at, id), and the cursor of the next page."""
    query = sa.select(Job).where(*_where(tab, kind, now))
    if after:
        query = query.where(sa.tuple_(Job.created_at, Job.id) < sa.tuple_(*after))
    found = list(db.session.execute(query.order_by(Job.created_at.desc(), Job.id.desc())
                                    .limit(PAGE_SIZE + 1)).scalars())
    if len(found) <= PAGE_SIZE:
        return found, None
    last = found[PAGE_SIZE - 1]
    return found[:PAGE_SIZE], f"{last.created_at.isoformat()}_{last.id}"


def _filter_args(source) -> dict[str, str]:
    return {k: source[k] for k in FILTERS if source.get(k)}


def _require_admin() -> None:
    if not current_actor().org_admin:
        raise PermissionDenied(_("Only organisation administrators can see the jobs."))


@bp.get("/admin/jobs")
@login_required
def index():
    """The jobs of one tab, newest first; filters are query parameters, so a view is a link."""
    _require_admin()
    tz = ZoneInfo(str(get_timezone()))
    now, tab, kind = utcnow(), _tab(), request.args.get("kind", "")
    found, next_after = find(tab, kind, now, _after())
    app_ids = {job.app_id for job in found if job.app_id}
    apps = app_names(app_ids)
    kinds = list(db.session.execute(sa.select(Job.kind).distinct().order_by(Job.kind)).scalars())
    filters = _filter_args(request.args)
    return render_template(
        "jobs/index.html", rows=[_row(job, tz, apps) for job in found], tabs=TABS, tab=tab, kind=kind,
        kinds=kinds, kind_labels=KIND_LABELS, counts=counts(kind, now), filters=filters, timezone=str(tz),
        next_url=url_for("jobs_web.index", **filters, after=next_after) if next_after else None,
        first_url=url_for("jobs_web.index", **filters) if request.args.get("after") else None)


def _back():
    return redirect(url_for("jobs_web.index", **_filter_args(request.form)))


def _stale(job_id: str, was: str) -> None:
    """Say why nothing happened: somebody (or the runner) changed the job in between."""
    job = db.session.get(Job, job_id)
    if job is None:
        flash(_("This job no longer exists; nothing was done."), "warning")
        return
    flash(_("This job is no longer %(was)s: it is %(now)s now, so nothing was done.",
            was=str(STATUS_LABELS.get(was, was)).lower(),
            now=str(STATUS_LABELS.get(job.status, job.status)).lower()), "warning")


def _audit(job_id: str, what: str) -> None:
    with write_transaction():
        kind = db.session.execute(sa.select(Job.kind).where(Job.id == job_id)).scalar()
        audit.record("job", current_actor(), object_type="job", object_id=job_id, label=kind, detail=what)


@bp.post("/admin/jobs/<job_id>/retry")
@login_required
def retry(job_id: str):
    """Queue a failed or cancelled job again, now."""
    _require_admin()
    if jobs.retry(job_id):
        _audit(job_id, "retried")
        flash(_("The job is queued again and will run shortly."), "success")
    else:
        was = request.form.get("was")
        _stale(job_id, was if was in ("failed", "cancelled") else "failed")
    return _back()


@bp.post("/admin/jobs/<job_id>/cancel")
@login_required
def cancel(job_id: str):
    """Cancel a job that has not started yet."""
    _require_admin()
    if jobs.cancel(job_id):
        _audit(job_id, "cancelled")
        flash(_("The job is cancelled; it will not run."), "success")
    else:
        _stale(job_id, "queued")
    return _back()
