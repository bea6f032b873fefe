"""The column chooser, one for the record list and for table views: which of the fields the
reader may see are columns, and in what order. The choice is kept per user and per list or
view (`platform/preferences.py`, scope "app:<id>:form:<key>:columns" / "...:view:<key>:columns");
"Reset" forgets it, and the list or view shows its default columns again. Fields hidden from
the reader are never offered, never accepted, and a kept choice that names a field hidden
since is read without it."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from formloom.platform import preferences
from formloom.runtime.exceptions import NotFound
from formloom.runtime.views import query
from formloom.runtime.web import listing
from formloom.runtime.web.blueprint import bp
from formloom.runtime.web.common import Page, load
from formloom.runtime.web.fields import widget_for

MAX_COLUMNS = 200


@dataclass
class Chooser:
    """What the "Columns" panel shows and where it saves."""

    keys: list[str]  # the columns shown, in order
    offered: list[tuple[str, str, bool]]  # (key, label, shown): shown ones first, in their order
    fixed: str | None  # the title column of a record list: always first, not offered
    customised: bool  # the reader chose; "Reset" brings the default back
    save_url: str


def offered_keys(form, hidden) -> list[str]:
    """The fields a table can show in one cell that the reader may see, in form order."""
    return [k for k, f in form.fields.items()
            if widget_for(f["type"]).in_list and not f.get("hidden") and k not in hidden]


def _scope(page: Page, kind: str, key: str) -> str:
    return f"app:{page.runtime.app_id}:{kind}:{key}:columns"


def choose(page: Page, kind: str, key: str, default: list[str], hidden, fixed: str | None = None) -> Chooser:
    """The reader's columns for this list ("form") or view ("view"): their kept choice, read
    within what they may see now, or the default."""
    offered = [k for k in offered_keys(page.form, hidden) if k != fixed]
    kept = preferences.get(page.actor.user_id, _scope(page, kind, key))
    keys = [k for k in kept or () if k in offered]
    customised = kept is not None and bool(keys or fixed)
    if not customised:
        keys = [k for k in default if k != fixed]
    shown = set(keys)
    rest = [k for k in offered if k not in shown]
    endpoint, arg = ("web.list_columns", "form_key") if kind == "form" else ("web.view_columns", "view_key")
    return Chooser(
        keys=([fixed] if fixed else []) + keys,
        offered=[(k, page.form.label(k, page.locale), True) for k in keys if k in offered]
        + [(k, page.form.label(k, page.locale), False) for k in rest],
        fixed=fixed, customised=customised,
        save_url=url_for(endpoint, app_key=page.runtime.key, **{arg: key},
                         back=request.query_string.decode("utf-8", "replace")[:4000] or None))


def list_default(page: Page) -> list[str]:
    """The record list's default columns (title first, then what a cell can show)."""
    return [c.key for c in listing.columns(page.form, set(), page.locale)]


def view_default(page: Page, ov) -> list[str]:
    """A table view's columns as its author set them (else the record list's)."""
    return [k for k in ov.columns if k in page.form.fields] or list_default(page)


@bp.post("/a/<app_key>/f/<form_key>/columns")
@login_required
def list_columns(app_key, form_key):
    """Keep the reader's columns for the form's record list, or forget them (action=reset)."""
    page = load(app_key, form_key)
    fixed = page.form.title_field if page.form.title_field in page.form.fields else None
    return _save(page, _scope(page, "form", form_key), page.access.hidden(), fixed,
                 url_for("web.record_list", app_key=app_key, form_key=form_key))


@bp.post("/a/<app_key>/v/<view_key>/columns")
@login_required
def view_columns(app_key, view_key):
    """Keep the reader's columns for a table view, or forget them (action=reset)."""
    view = load(app_key).runtime.definition.views.get(view_key)
    if view is None or view.type != "table":
        abort(404)
    page = load(app_key, view.form)
    try:
        hidden = query.OpenView(page.actor, page.runtime, view_key).hidden
    except NotFound:
        abort(404)
    return _save(page, _scope(page, "view", view_key), hidden, None,
                 url_for("web.view_page", app_key=app_key, view_key=view_key))


def _save(page: Page, scope: str, hidden, fixed: str | None, back: str):
    """Keep the ticked fields in their order (refusing one the reader may not see), or drop
    the choice; back to the page with its filters (a new first page)."""
    args = [(k, v) for k, v in parse_qsl(request.args.get("back", "")) if k != "cursor"]
    back += "?" + urlencode(args) if args else ""
    if request.form.get("action") == "reset":
        preferences.drop(page.actor.user_id, scope)
        flash(_("The default columns are back."), "success")
        return redirect(back)
    chosen = list(dict.fromkeys(request.form.getlist("columns")))[:MAX_COLUMNS]
    offered = set(offered_keys(page.form, hidden)) - {fixed}
    if any(k not in offered for k in chosen):  # a field hidden from the reader, or none of the form's
        abort(400)
    if not chosen and not fixed:
        flash(_("Choose at least one column."), "warning")
        return redirect(back)
    preferences.put(page.actor.user_id, scope, chosen)
    flash(_("Your columns are kept for you on this page."), "success")
    return redirect(back)
