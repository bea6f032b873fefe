"""Signing in and out (sessions via Flask-Login) and API tokens (Bearer, stored hashed)."""
from __future__ import annotations

import hashlib
import secrets
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

from formloom.platform.actor import Actor
from formloom.platform.extensions import db, limiter, login_manager, write_transaction
from formloom.platform.models import ApiToken, User, utcnow

bp = Blueprint("auth", __name__)
TOKEN_PREFIX = "flt_"


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
    """`Authorization: Bearer <token>`: the token's user, with the token kept in `g`."""
    header = req.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    token = header[7:].strip()
    row = db.session.execute(sa.select(ApiToken).where(
        ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))).scalar_one_or_none()
    if row is None or not row.user.active:
        g.bad_token = True
        return None
    g.api_token = row
    return row.user


def create_token(user: User, name: str = "", read_only: bool = False, app_id: int | None = None) -> str:
    """Make a token for `user` and return it; only its hash is kept, so it is shown once."""
    secret = secrets.token_urlsafe(32)
    token = f"{TOKEN_PREFIX}{secret}"
    with write_transaction():
        db.session.add(ApiToken(user_id=user.id, name=name, token_hash=hash_token(token),
                                prefix=token[:12], read_only=read_only, app_id=app_id))
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
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(form.next.data))
        flash(_("Wrong email or password."), "danger")
        status = 401
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))
