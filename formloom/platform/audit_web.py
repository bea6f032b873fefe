"""The audit log page for organisation administrators: newest first, filtered, paged by id."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, Flask, render_template, request, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from formloom.platform import audit
from formloom.platform.auth import current_actor
from formloom.platform.exceptions import PermissionDenied, ValidationFailed
from formloom.platform.extensions import db
from formloom.platform.i18n import app_names, format_moment
from formloom.platform.inputs import as_id
from formloom.platform.models import AuditEvent, User

bp = Blueprint("audit", __name__)
PAGE_SIZE = 50
FILTERS = ("action", "actor", "app", "object_type", "object_id", "from", "to", "q")

ACTION_COLORS = {"signin": "success", "signout": "secondary", "signin_failed": "warning", "denied": "danger",
                 "publish": "primary", "import": "primary", "export": "primary", "token": "dark"}
OBJECT_TYPES = {"user": _l("User"), "department": _l("Department"), "role": _l("Role"), "app": _l("App"),
                "token": _l("API token"), "record": _l("Record"), "form": _l("Form"),
                "definition": _l("Definition")}
VIA = {"session": _l("web"), "token": _l("API token"), "system": _l("system")}
# What to tell the reader about a filter parameter that audit.parse_filters refused.
FILTER_ERRORS = {"from": _l("Enter a date as YYYY-MM-DD."), "to": _l("Enter a date as YYYY-MM-DD."),
                 "actor": _l("Choose a user from the list."), "app": _l("Choose an app from the list."),
                 "action": _l("Choose an action from the list.")}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def action_label(action: str) -> str:
    return str(audit.ACTIONS.get(action) or action)


@dataclass
class Line:
    """One audit line as the page shows it."""

    event: AuditEvent
    at: str
    action: str
    color: str
    object_type: str
    app_name: str
    changes: list[tuple[str, str, str, bool]] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return sum(1 for row in self.changes if row[3])


def _shown(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _line(event: AuditEvent, tz, apps: dict[int, str]) -> Line:
    rows = [(name, _shown(old), _shown(new), old != new) for name, old, new in audit.changes(event.before, event.after)]
    return Line(event, format_moment(event.at, tz, seconds=True),
                action_label(event.action), ACTION_COLORS.get(event.action, "info"),
                str(OBJECT_TYPES.get(event.object_type, event.object_type or "")),
                apps.get(event.app_id, f"#{event.app_id}") if event.app_id else "", rows)


def _page_link(**changes) -> str:
    args = {k: request.args[k] for k in FILTERS if request.args.get(k)}
    args.update({k: v for k, v in changes.items() if v is not None})
    return url_for("audit.index", **args)


def _before() -> int | None:
    return as_id(request.args.get("before", ""))


def _filter_error(error: dict) -> str:
    if error["field"] == "to" and error["message"] == audit.RANGE_ERROR:
        return _("The end date is before the start date.")
    return str(FILTER_ERRORS.get(error["field"], _("This value is not valid.")))


@bp.get("/admin/audit")
@login_required
def index():
    """The log, newest first; the filters are query parameters, so a filtered view is a link."""
    if not current_actor().org_admin:
        raise PermissionDenied(_("Only organisation administrators can see the audit log."))
    tz = ZoneInfo(str(get_timezone()))
    apps = app_names()
    users = db.session.execute(sa.select(User.id, User.name, User.email).order_by(User.name)).all()
    errors: dict[str, str] = {}
    try:
        events, next_id = audit.find(audit.parse_filters(request.args, tz), _before(), PAGE_SIZE)
    except ValidationFailed as exc:
        events, next_id = [], None
        errors = {e["field"]: _filter_error(e) for e in exc.errors}
    return render_template(
        "audit/index.html", lines=[_line(e, tz, apps) for e in events], errors=errors,
        actions=[(key, action_label(key)) for key in audit.ACTIONS], users=users, apps=apps,
        args=request.args, timezone=str(tz), filtered=any(request.args.get(k) for k in FILTERS),
        next_url=_page_link(before=next_id) if next_id else None,
        first_url=_page_link() if _before() is not None else None, via_labels=VIA)
