"""Signing in and out (sessions via Flask-Login) and API tokens (Bearer, stored hashed)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, Email, Length

from formloom.platform import audit, credentials
from formloom.platform.actor import Actor
from formloom.platform.extensions import db, limiter, login_manager, write_transaction
from formloom.platform.models import ApiToken, User, utcnow

bp = Blueprint("auth", __name__)
TOKEN_PREFIX = "flt_"
# How stale a token's last_used_at may get: one write a minute per token, not one per request.
TOKEN_TOUCH_EVERY = timedelta(minutes=1)


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=500)])
    remember = BooleanField(_l("Remember me"))
    next = HiddenField()


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user)
    login_manager.request_loader(load_user_from_token)
    app.register_blueprint(bp)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def load_user(user_id: str):
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def load_user_from_token(req):
    """`Authorization: Bearer <token>` on an API route: the token's user, the token kept in `g`.

    Pages take session cookies only (see platform/credentials.py).
    """
    header = req.headers.get("Authorization", "")
    if not credentials.is_api_request() or not header.lower().startswith("bearer "):
        return None
    token = header[7:].strip()
    row = db.session.execute(sa.select(ApiToken).where(
        ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))).scalar_one_or_none()
    if row is None or not row.user.active:
        g.bad_token = True
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_TOUCH_EVERY:
        _touch_token(row.id, now)
    g.api_token = row
    return row.user


def _touch_token(token_id: int, now) -> None:
    """Note that the token was used; the condition keeps concurrent requests to one write."""
    with write_transaction():
        db.session.execute(
            sa.update(ApiToken).where(ApiToken.id == token_id, sa.or_(
                ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOKEN_TOUCH_EVERY))
            .values(last_used_at=now).execution_options(synchronize_session=False))


def add_token(user_id: int, name: str = "", read_only: bool = False, app_id: int | None = None) -> tuple[ApiToken, str]:
    """Add a token to the current transaction; returns the row and the token (its only copy)."""
    token = f"{TOKEN_PREFIX}{secrets.token_urlsafe(32)}"
    row = ApiToken(user_id=user_id, name=name, token_hash=hash_token(token), prefix=token[:12],
                   read_only=read_only, app_id=app_id)
    db.session.add(row)
    db.session.flush()
    return row, token


def create_token(user: User, name: str = "", read_only: bool = False, app_id: int | None = None) -> str:
    """Make a token for `user` and return it; only its hash is kept, so it is shown once."""
    with write_transaction():
        _row, token = add_token(user.id, name, read_only, app_id)
    return token


def current_actor() -> Actor | None:
    """The acting user (or their token) for this request, or None when anonymous."""
    if not current_user.is_authenticated:
        return None
    return Actor.from_user(current_user, getattr(g, "api_token", None))


def _safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("web.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"],
               error_message=_l("Too many sign-in attempts; wait a minute and try again."))
def login():
    form = LoginForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        user = db.session.execute(
            sa.select(User).where(sa.func.lower(User.email) == form.email.data.strip().lower())
        ).scalar_one_or_none()
        if user is not None and user.active and user.check_password(form.password.data):
            with write_transaction():
                db.session.get(User, user.id).last_login_at = utcnow()
                audit.record("signin", Actor.from_user(user))
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(form.next.data))
        _record_failed_signin(form.email.data.strip(), user)
        flash(_("Wrong email or password."), "danger")
        status = 401
    return render_template("auth/login.html", form=form), status


def _record_failed_signin(email: str, user: User | None) -> None:
    """Log the attempt at once: the request writes nothing else, so nothing else would commit it."""
    inactive = user is not None and not user.active
    audit.record_now("signin_failed", None, object_type="user" if user else None,
                     object_id=user.id if user else None, label=user.name if user else None,
                     detail=f"{email} (account deactivated)" if inactive else email)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    with write_transaction():
        audit.record("signout", current_actor())
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))
