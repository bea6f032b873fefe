"""Each user's own API tokens: the "My API tokens" page and /api/v1/tokens.

A token acts as its user, optionally read-only or limited to one app. The secret is shown
once, when it is made; the log and the lists only ever show its prefix.
"""
from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Blueprint, Flask, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from formloom.platform import audit, hooks
from formloom.platform.actor import Actor
from formloom.platform.api import actor as api_actor
from formloom.platform.api import api_blueprint, json_body
from formloom.platform.auth import add_token, current_actor
from formloom.platform.credentials import narrowed_to_token_app
from formloom.platform.exceptions import NotFound, PermissionDenied, ValidationFailed
from formloom.platform.extensions import csrf, db, write_transaction
from formloom.platform.i18n import app_names, localized
from formloom.platform.models import ApiToken, App, utcnow

bp = Blueprint("tokens", __name__)
api = api_blueprint("tokens_api")


def init_app(app: Flask) -> None:
    csrf.exempt(api)
    app.register_blueprint(bp)
    app.register_blueprint(api)


# --- the service: list, issue, revoke ------------------------------------------------------

def own_tokens(actor: Actor) -> list[ApiToken]:
    """The actor's tokens that still work, newest first."""
    return list(db.session.execute(sa.select(ApiToken).where(
        ApiToken.user_id == actor.user_id, ApiToken.revoked_at.is_(None)).order_by(ApiToken.id.desc())).scalars())


def token_apps(actor: Actor) -> list[App]:
    """Published apps a new token may be limited to: the ones the actor may use."""
    apps = db.session.execute(sa.select(App).where(App.published_version > 0, App.deleted_at.is_(None)).order_by(App.name)).scalars()
    return [a for a in apps if hooks.app_role(actor, a.id) is not None]


def _summary(row: ApiToken) -> dict:
    """What the audit line keeps of a token (never its secret or hash); the app by its key."""
    app_key = db.session.get(App, row.app_id).key if row.app_id else None
    return {"name": row.name, "prefix": row.prefix, "read_only": row.read_only, "app": app_key}


def _check_scope(actor: Actor, read_only: bool, app_id: int | None) -> None:
    """A token may only make or revoke tokens as limited as itself. Raises PermissionDenied."""
    if actor.read_only and not read_only:
        raise PermissionDenied("A read-only API token cannot create or revoke tokens that may write")
    if actor.app_id is not None and app_id != actor.app_id:
        raise PermissionDenied("This API token is limited to one app; it can only create or revoke "
                               "tokens limited to the same app")


def issue(actor: Actor, name: str, read_only: bool = False, app_id: int | None = None) -> tuple[ApiToken, str]:
    """Make a token for the actor's own user. Raises PermissionDenied, ValidationFailed."""
    if actor.read_only:
        raise PermissionDenied("A read-only API token cannot create tokens")
    _check_scope(actor, read_only, app_id)
    if app_id is not None and app_id not in {a.id for a in token_apps(actor)}:
        raise ValidationFailed(f"No app {app_id} that you may use", [{"field": "app", "message": "is not one of your apps"}])
    with write_transaction():
        row, token = add_token(actor.user_id, name, read_only, app_id)
        audit.record("token", actor, app_id=app_id, object_type="token", object_id=row.id,
                     label=f"{name} ({row.prefix}…)", after=_summary(row))
    return row, token


def revoke(actor: Actor, token_id: int) -> ApiToken:
    """Revoke one of the actor's own tokens and return it. Raises NotFound, PermissionDenied."""
    with write_transaction():
        row = db.session.get(ApiToken, token_id)
        if row is None or row.user_id != actor.user_id or row.revoked_at is not None:
            raise NotFound(f"No API token {token_id} of yours")
        _check_scope(actor, row.read_only, row.app_id)
        before = _summary(row) | {"revoked": False}
        row.revoked_at = utcnow()
        audit.record("token", actor, app_id=row.app_id, object_type="token", object_id=row.id,
                     label=f"{row.name} ({row.prefix}…)", before=before, after=_summary(row) | {"revoked": True})
    return row


# --- the page ----------------------------------------------------------------------------

class TokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)],
                       description=_l("What the token is for, e.g. the script that uses it."))
    read_only = BooleanField(_l("Read-only"), description=_l("The token can read but not change anything."))
    app = SelectField(_l("App"), description=_l("Limit the token to one app, or let it use every app you can use."))


def _form(apps: list[App], blank: bool = False) -> TokenForm:
    form = TokenForm(formdata=None) if blank else TokenForm()
    form.app.choices = [("", _("All my apps"))] + [(str(a.id), localized(a)) for a in apps]
    return form


def _render(form: TokenForm, new_token: str | None = None, new_name: str = "", status: int = 200):
    tokens = own_tokens(current_actor())
    # A token may name an app the user has since lost access to: name it all the same.
    ids = {t.app_id for t in tokens if t.app_id}
    names = app_names(ids)
    return render_template("auth/tokens.html", form=form, tokens=tokens, app_names=names,
                           new_token=new_token, new_name=new_name), status


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def index():
    """The signed-in user's tokens and the form to make one; a new token is shown here once."""
    actor = current_actor()
    apps = token_apps(actor)
    form = _form(apps)
    if not form.validate_on_submit():
        return _render(form, status=422 if form.is_submitted() else 200)
    app_id = int(form.app.data) if form.app.data else None
    name = form.name.data.strip()
    _row, token = issue(actor, name, bool(form.read_only.data), app_id)
    return _render(_form(apps, blank=True), new_token=token, new_name=name)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_page(token_id):
    row = revoke(current_actor(), token_id)
    flash(_("The token “%(name)s” is revoked; programs using it can no longer sign in with it.", name=row.name),
          "success")
    return redirect(url_for("tokens.index"))


# --- the API -----------------------------------------------------------------------------

def _iso(moment: datetime | None) -> str | None:
    return moment.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z") if moment else None


def token_json(row: ApiToken) -> dict:
    return _summary(row) | {"id": row.id, "created_at": _iso(row.created_at), "last_used_at": _iso(row.last_used_at)}


def _app_id(body: dict) -> int | None:
    """The app a new token is limited to, named by key or id (None: every app)."""
    value = body.get("app")
    if value is None:
        return None
    if isinstance(value, str):
        found = db.session.execute(sa.select(App.id).where(App.key == value)).scalar()
        if found is None:
            raise ValidationFailed(f'No app "{value}" that you may use', [{"field": "app", "message": "not found"}])
        return found
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValidationFailed('"app" must be an app key, an app id or null', [{"field": "app", "message": "is not valid"}])


def _fields(body: dict) -> tuple[str, bool, int | None]:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ValidationFailed('"name" must be text of 1 to 200 characters',
                               [{"field": "name", "message": "is required" if name is None else "is not valid"}])
    read_only = body.get("read_only", False)
    if not isinstance(read_only, bool):
        raise ValidationFailed('"read_only" must be true or false',
                               [{"field": "read_only", "message": "must be true or false"}])
    return name.strip(), read_only, _app_id(body)


@api.get("/tokens")
@narrowed_to_token_app
def list_tokens():
    return jsonify({"items": [token_json(t) for t in own_tokens(api_actor())]})


@api.post("/tokens")
@narrowed_to_token_app
def create_token_api():
    name, read_only, app_id = _fields(json_body())
    row, token = issue(api_actor(), name, read_only, app_id)
    return jsonify(token_json(row) | {"token": token}), 201


@api.delete("/tokens/<int:token_id>")
@narrowed_to_token_app
def revoke_token_api(token_id):
    revoke(api_actor(), token_id)
    return "", 204
