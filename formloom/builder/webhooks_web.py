"""App administration pages for outbound webhooks: the list, the form, the delivery log.

For the app's administrators; the work (and every permission check) is done in
`builder/webhooks.py`. A secret is shown in the answer to the POST that made it,
never stored anywhere else for the page, so a reload does not show it again. The routes join
the builder's blueprint, beside the members and permissions pages.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired
from wtforms.widgets import CheckboxInput, ListWidget

from formloom.builder import web
from formloom.builder import webhooks as service
from formloom.builder.web import bp
from formloom.platform.exceptions import NotFound, ValidationFailed
from formloom.runtime.web.common import Page
from formloom.runtime.web.fields.base import choices

EVENT_NAMES = {"record.created": _l("A record is added"), "record.updated": _l("A record is changed"),
               "record.deleted": _l("A record is deleted"), "record.restored": _l("A deleted record is restored")}
STATUS_NAMES = {"ok": _l("Delivered"), "failed": _l("Failed"), "refused": _l("Refused")}
STATUS_COLORS = {"ok": "success", "failed": "danger", "refused": "warning"}
# The service's field names -> this page's form fields.
FIELDS = {"name": "name", "url": "url", "events": "events", "form": "form_key", "active": "active"}


DENIED = _l("Only the app's administrators can manage its webhooks.")


def admin_page(app_key: str, write: bool = False) -> Page:
    return web.admin_page(app_key, DENIED, write)


# --- what the pages show ----------------------------------------------------------------------

@dataclass
class Hook:
    """One webhook as the pages show it (never with its secret)."""

    id: int
    name: str
    url: str
    events: list[str]
    form: str | None
    form_name: str
    active: bool
    failures: int
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime | None
    last: dict | None = None  # the latest delivery attempt
    held: int = 0  # deliveries waiting for it to be switched on

    @property
    def event_names(self) -> list[str]:
        return [str(EVENT_NAMES[e]) for e in self.events]

    @property
    def every_event(self) -> bool:
        return set(self.events) == set(service.EVENTS)

    @property
    def switched_off(self) -> bool:
        """Switched off by the deliveries (not by an admin): it says why."""
        return not self.active and self.disabled_at is not None


def when(value: str | None) -> datetime | None:
    """A service timestamp ("...Z", UTC) as the datetime the templates format."""
    return datetime.fromisoformat(value.removesuffix("Z")) if value else None


def form_name(page: Page, key: str | None) -> str:
    if key is None:
        return _("Every form")
    form = page.runtime.definition.forms.get(key)
    return form.display_name(page.locale) if form else _("%(form)s (no longer in the app)", form=key)


def as_hook(page: Page, body: dict, last: bool = True) -> Hook:
    hook = Hook(body["id"], body["name"], body["url"], body["events"], body["form"], form_name(page, body["form"]),
                body["active"], body["consecutive_failures"], when(body["disabled_at"]), body["disabled_reason"],
                when(body["created_at"]), held=body.get("held", 0))
    if last:
        latest = service.list_deliveries(page.actor, page.runtime.key, hook.id, limit=1)
        hook.last = as_delivery(latest[0]) if latest else None
    return hook


def as_delivery(body: dict) -> dict:
    return {**body, "at": when(body["at"]), "next_attempt_at": when(body["next_attempt_at"]),
            "status_name": str(STATUS_NAMES.get(body["status"], body["status"])),
            "color": STATUS_COLORS.get(body["status"], "secondary"),
            "event_name": str(EVENT_NAMES.get(body["event"], body["event"]))}


def find(page: Page, webhook_id: int) -> Hook:
    """The app's webhook. Raises NotFound."""
    for body in service.list_webhooks(page.actor, page.runtime.key):
        if body["id"] == webhook_id:
            return as_hook(page, body)
    raise NotFound(_("This webhook no longer exists: someone deleted it meanwhile."))


# --- the form -------------------------------------------------------------------------------

class WebhookForm(FlaskForm):
    name = StringField(_l("Name"), description=_l("For you, to tell webhooks apart. Empty: the URL's host name."))
    url = StringField(_l("URL"), validators=[DataRequired(_l("Enter the address to send the events to."))],
                      description=_l(
        "Formloom POSTs each event as JSON to this address. Internal and private addresses are refused."))
    events = SelectMultipleField(_l("Events"), choices=choices([(e, EVENT_NAMES[e]) for e in service.EVENTS]),
                                 widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    form_key = SelectField(_l("Form"), validate_choice=False)
    active = BooleanField(_l("Active"), description=_l(
        "Switching a webhook on again starts its count of failed deliveries afresh."))


def new_form(page: Page, hook: Hook | None = None) -> WebhookForm:
    """The form as posted, or filled from the webhook (every event ticked for a new one)."""
    if hook is None:
        form = WebhookForm(events=list(service.EVENTS), form_key="")
        del form.active  # a new webhook starts switched on
    else:
        form = WebhookForm(name=hook.name, url=hook.url, events=hook.events,
                           form_key=hook.form or "", active=hook.active)
    forms = [(f.key, f.display_name(page.locale)) for f in page.runtime.definition.forms.values()]
    if hook is not None and hook.form and hook.form not in dict(forms):
        forms.append((hook.form, hook.form_name))  # kept as it is until someone picks another
    form.form_key.choices = choices([("", _("Every form"))] + forms)
    return form


def wanted(form: WebhookForm, hook: Hook | None) -> dict | None:
    """What the service is asked to set: for a change, only what changed. None after an error."""
    if not form.events.data:
        form.events.errors = [_("Choose at least one event.")]
        return None
    data = {"name": (form.name.data or "").strip(), "url": (form.url.data or "").strip(),
            "events": list(form.events.data), "form": form.form_key.data or None}
    if hook is None:
        if not data["name"]:
            del data["name"]  # the service names it after the host
        return data
    data["active"] = bool(form.active.data)
    current = {"name": hook.name, "url": hook.url, "events": hook.events, "form": hook.form, "active": hook.active}
    return {k: v for k, v in data.items() if v != current[k]}


def show_errors(form: WebhookForm, exc: ValidationFailed) -> None:
    """The service's problems next to the fields they are about."""
    for error in exc.errors or []:
        field = getattr(form, FIELDS.get(error.get("field"), ""), None)
        if field is None:
            form.form_errors.append(error.get("message") or exc.localized())
        else:
            field.errors = [*field.errors, _("%(field)s %(problem)s", field=field.label.text, problem=error["message"])]
    if not exc.errors:
        form.form_errors.append(exc.localized())


def render_form(page: Page, form: WebhookForm, hook: Hook | None = None, status: int = 200):
    return render_template("builder/webhook_form.html", page=page, form=form, hook=hook), status


def render_detail(page: Page, hook: Hook, secret: str | None = None, created: bool = False):
    deliveries = [as_delivery(d) for d in service.list_deliveries(page.actor, page.runtime.key, hook.id)]
    resp = make_response(render_template("builder/webhook_detail.html", page=page, hook=hook, deliveries=deliveries,
                                         secret=secret, created=created, shown=service.DELIVERIES_SHOWN))
    if secret:
        resp.headers["Cache-Control"] = "no-store"  # not again from the browser's cache or history
    return resp


# --- the routes -----------------------------------------------------------------------------

@bp.get("/a/<app_key>/webhooks")
@login_required
def webhooks(app_key):
    """The app's webhooks, each with its state and its latest delivery."""
    page = admin_page(app_key)
    hooks = [as_hook(page, body) for body in service.list_webhooks(page.actor, app_key)]
    return render_template("builder/webhooks.html", page=page, hooks=hooks)


@bp.route("/a/<app_key>/webhooks/new", methods=["GET", "POST"])
@login_required
def webhook_new(app_key):
    page = admin_page(app_key, write=True)
    form = new_form(page)
    if not form.is_submitted():
        return render_form(page, form)
    data = wanted(form, None) if form.validate() else None
    if data is None:
        return render_form(page, form, status=422)
    try:
        made = service.create_webhook(page.actor, app_key, data)
    except ValidationFailed as exc:
        show_errors(form, exc)
        return render_form(page, form, status=exc.status)
    return render_detail(page, as_hook(page, made), secret=made["secret"], created=True)


@bp.get("/a/<app_key>/webhooks/<int:webhook_id>")
@login_required
def webhook_detail(app_key, webhook_id):
    """The webhook's settings and its latest delivery attempts."""
    page = admin_page(app_key)
    return render_detail(page, find(page, webhook_id))


@bp.route("/a/<app_key>/webhooks/<int:webhook_id>/edit", methods=["GET", "POST"])
@login_required
def webhook_edit(app_key, webhook_id):
    page = admin_page(app_key, write=True)
    hook = find(page, webhook_id)
    form = new_form(page, hook)
    if not form.is_submitted():
        return render_form(page, form, hook)
    data = wanted(form, hook) if form.validate() else None
    if data is None:
        return render_form(page, form, hook, status=422)
    try:
        service.update_webhook(page.actor, app_key, webhook_id, data)
    except ValidationFailed as exc:
        show_errors(form, exc)
        return render_form(page, form, hook, status=exc.status)
    flash(_("Webhook “%(name)s” was saved.", name=data.get("name", hook.name)), "success")
    return redirect(url_for("builder.webhook_detail", app_key=app_key, webhook_id=webhook_id))


@bp.post("/a/<app_key>/webhooks/<int:webhook_id>/secret")
@login_required
def webhook_secret(app_key, webhook_id):
    """A new secret, shown in this answer only; the old one stops verifying at once."""
    page = admin_page(app_key, write=True)
    find(page, webhook_id)
    body = service.update_webhook(page.actor, app_key, webhook_id, {"new_secret": True})
    return render_detail(page, as_hook(page, body), secret=body["secret"])


@bp.post("/a/<app_key>/webhooks/<int:webhook_id>/on")
@login_required
def webhook_on(app_key, webhook_id):
    """Switch a webhook on again, with a fresh count of failures."""
    return _switch(app_key, webhook_id, True)


@bp.post("/a/<app_key>/webhooks/<int:webhook_id>/off")
@login_required
def webhook_off(app_key, webhook_id):
    return _switch(app_key, webhook_id, False)


def _switch(app_key: str, webhook_id: int, on: bool):
    page = admin_page(app_key, write=True)
    hook = find(page, webhook_id)
    service.update_webhook(page.actor, app_key, webhook_id, {"active": on})
    if on:
        flash(_("Webhook “%(name)s” is on again: it gets the events from now on.", name=hook.name), "success")
    else:
        flash(_("Webhook “%(name)s” is off: nothing is sent to it until you switch it on.", name=hook.name), "success")
    return redirect(url_for("builder.webhook_detail", app_key=app_key, webhook_id=webhook_id))


@bp.post("/a/<app_key>/webhooks/<int:webhook_id>/delete")
@login_required
def webhook_delete(app_key, webhook_id):
    page = admin_page(app_key, write=True)
    hook = find(page, webhook_id)
    service.delete_webhook(page.actor, app_key, webhook_id)
    flash(_("Webhook “%(name)s” was deleted, with its delivery log.", name=hook.name), "success")
    return redirect(url_for("builder.webhooks", app_key=app_key))
