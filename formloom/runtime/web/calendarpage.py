"""A calendar view's page: a month grid, a week list or an agenda, records placed by the
view's date or date-and-time `start` (and `end`, for spans) in the app's time zone. Only
the records of the visible range are read (a `between` in the condition language, ANDed
with the view's filter and the reader's rows); `?date=YYYY-MM-DD&mode=week` moves it."""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, datetime, timedelta

from flask import abort, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import login_required

from formloom.platform.inputs import as_id
from formloom.runtime.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from formloom.runtime.fields.datetime_ import to_local
from formloom.runtime.records import service
from formloom.runtime.records.context import app_timezone, value_context
from formloom.runtime.views import query
from formloom.runtime.views.base import value_kind
from formloom.runtime.web.blueprint import bp
from formloom.runtime.web.common import load
from formloom.runtime.web.display import Display
from formloom.runtime.web.viewparts import refusal

MODES = {"month": lazy_gettext("Month"), "week": lazy_gettext("Week"), "agenda": lazy_gettext("Agenda")}
CAP = 1000  # records of one range shown; past it the page says so
PER_DAY = 4  # entries a month cell lists before "+n more"


@dataclass
class Entry:
    id: int
    title: str
    url: str
    time: str = ""
    continued: bool = False  # a span that began on an earlier day
    version: int = 0


@dataclass
class Day:
    day: date
    in_range: bool
    today: bool
    entries: list[Entry] = dc_field(default_factory=list)
    add_url: str | None = None
    week_url: str = ""


def _anchor(today: date) -> date:
    try:
        return date.fromisoformat(request.args.get("date", ""))
    except ValueError:
        return today


def _range(mode: str, anchor: date) -> tuple[date, date, date, date]:
    """(first shown day, last shown day, previous anchor, next anchor); weeks start on Monday."""
    if mode == "week":
        start = anchor - timedelta(days=anchor.weekday())
        return start, start + timedelta(days=6), start - timedelta(days=7), start + timedelta(days=7)
    first = anchor.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    prev = (first - timedelta(days=1)).replace(day=1)
    last = nxt - timedelta(days=1)
    if mode == "agenda":
        return first, last, prev, nxt
    return first - timedelta(days=first.weekday()), last + timedelta(days=6 - last.weekday()), prev, nxt


def _condition(start_key: str, end_key: str | None, first: date, last: date) -> dict:
    inside = {"field": start_key, "op": "between", "value": [first.isoformat(), last.isoformat()]}
    if not end_key:
        return inside
    return {"any": [inside, {"all": [{"field": start_key, "op": "lte", "value": last.isoformat()},
                                     {"field": end_key, "op": "gte", "value": first.isoformat()}]}]}


def _local_day(value, tz: str) -> date | None:
    if isinstance(value, datetime):
        return to_local(value, tz).date()
    return value if isinstance(value, date) else None


def _records(page, ov, start_key, end_key, first, last) -> tuple[list[dict], bool]:
    out, cursor = [], None
    while len(out) < CAP:
        _ov, records, cursor = query.view_records(page.actor, page.runtime, ov.view.key, limit=min(500, CAP - len(out)),
                                                  cursor=cursor, sort=f"{start_key},$id",
                                                  condition=_condition(start_key, end_key, first, last))
        out += records
        if not cursor:
            return out, False
    return out, True


def calendar(page, ov):
    """The calendar page (`/a/<app>/v/<view>` of a calendar view)."""
    form, tz = page.form, app_timezone(page.runtime)
    start_key = ov.view.options["start"]
    end_key = ov.view.options.get("end") if ov.view.options.get("end") not in ov.hidden else None
    mode = request.args.get("mode") if request.args.get("mode") in MODES else ov.view.options.get("mode", "month")
    today = value_context(page.actor, page.runtime).today
    anchor = _anchor(today)
    first, last, prev, nxt = _range(mode, anchor)
    records, capped = _records(page, ov, start_key, end_key, first, last)
    display = Display(page)
    display.want(form, [r["fields"] for r in records], keys=[form.title_field] if form.title_field else [])
    display.load()
    timed = value_kind(form, start_key) == "datetime"
    can_add = page.can("add") and start_key in form.fields and value_kind(form, start_key) == "date"
    movable = movable_keys(page, ov) is not None

    def link(**kw) -> str:
        args = {"mode": request.args.get("mode"), "date": request.args.get("date")}
        args.update(kw)
        return url_for("web.view_page", app_key=page.runtime.key, view_key=ov.view.key,
                       **{k: v for k, v in args.items() if v})

    days = {}
    d = first
    while d <= last:
        in_range = mode != "month" or d.month == anchor.month
        days[d] = Day(d, in_range, d == today, add_url=page.url("web.record_new", **{start_key: d.isoformat()})
                      if can_add else None, week_url=link(mode="week", date=d.isoformat()))
        d += timedelta(days=1)
    for r in records:
        begin = _local_day(r["fields"].get(start_key), tz)
        if begin is None:
            continue
        end = _local_day(r["fields"].get(end_key), tz) if end_key else None
        end = end if end and end >= begin else begin
        time_text = to_local(r["fields"][start_key], tz).strftime("%H:%M") if timed else ""
        title, url = display.title(form, r), page.url("web.record_detail", record_id=r["id"])
        d = max(begin, first)
        while d <= min(end, last):
            days[d].entries.append(Entry(r["id"], title, url, time_text if d == begin else "", d != begin,
                                         r["version"]))
            d += timedelta(days=1)
    weeks = [list(days.values())[i:i + 7] for i in range(0, len(days), 7)]
    heading = _("%(year)d-%(month)02d", year=anchor.year, month=anchor.month) if mode != "week" else \
        _("%(first)s – %(last)s", first=first.isoformat(), last=last.isoformat())
    return render_template(
        "web/calendar.html", page=page, view=ov.view, view_label=ov.view.label(page.locale), mode=mode,
        modes=[(k, str(v), link(mode=k)) for k, v in MODES.items()], heading=heading, weeks=weeks,
        day_list=[d for d in days.values() if mode == "week" or d.entries], capped=capped, cap=f"{CAP:,}",
        count=f"{len({r['id'] for r in records}):,}", per_day=PER_DAY,
        weekdays=[_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")],
        prev_url=link(date=prev.isoformat()), next_url=link(date=nxt.isoformat()), today_url=link(date=None),
        start_label=form.label(start_key, page.locale) if start_key in form.fields else start_key,
        move_url=url_for("web.view_reschedule", app_key=page.runtime.key, view_key=ov.view.key) if movable else None)


def movable_keys(page, ov) -> tuple[str, str | None] | None:
    """(start, end) a drag to another day writes: date fields the reader may change; None
    when records cannot be moved here (a date-and-time start keeps its time on the record page)."""
    form, start, end = page.form, ov.view.options["start"], ov.view.options.get("end")
    locked = page.access.locked() | set(ov.hidden)
    if not page.can("edit") or start not in form.fields or start in locked or value_kind(form, start) != "date":
        return None
    if end and (end not in form.fields or end in locked or value_kind(form, end) != "date"):
        return None
    return start, end


@bp.route("/a/<app_key>/v/<view_key>/reschedule", methods=["POST"])
@login_required
def view_reschedule(app_key, view_key):
    """Move a record to another day: `record`, `version` (If-Match), `day` (YYYY-MM-DD). The
    start becomes that day and an end moves by as many days, through the records service.
    JSON back: `{"version"}`, or `{"message"}` with 409, 422, 403 or 404."""
    runtime = load(app_key).runtime
    view = runtime.definition.views.get(view_key)
    if view is None or view.type != "calendar":
        abort(404)
    page = load(app_key, view.form)
    try:
        ov = query.OpenView(page.actor, runtime, view_key)
    except NotFound:
        abort(404)
    keys = movable_keys(page, ov)
    record_id, version = as_id(request.form.get("record", "")), as_id(request.form.get("version", ""))
    try:
        day = date.fromisoformat(request.form.get("day", ""))
    except ValueError:
        day = None
    if keys is None or record_id is None or version is None or day is None:
        return jsonify({"message": _("This record cannot be moved here.")}), 400
    start, end = keys
    try:
        current = service.get(page.actor, runtime, page.form.key, record_id)
        data = {start: day.isoformat()}
        was, until = current["fields"].get(start), current["fields"].get(end) if end else None
        if end and isinstance(was, date) and isinstance(until, date):
            data[end] = (until + (day - was)).isoformat()
        saved = service.update(page.actor, runtime, page.form.key, record_id, data, expected_version=version)
    except (Conflict, ValidationFailed, PermissionDenied, NotFound) as exc:
        status, why = refusal(page.form, page.locale, exc)
        return jsonify({"message": _("Not moved: %(reason)s", reason=why)}), status
    return jsonify({"version": saved["version"]})
