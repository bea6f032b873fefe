"""Signing in and out (sessions via Flask-Login) and API tokens (Bearer, stored hashed)."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy.orm import contains_eager
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import BooleanField, EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, Email, Length

from formloom.platform import audit, credentials, epoch, reqcache
from formloom.platform.actor import Actor
from formloom.platform.extensions import db, limiter, login_manager, write_transaction
from formloom.platform.models import ApiToken, User, password_method, utcnow
from formloom.platform.ratelimit import client_address, now

bp = Blueprint("auth", __name__)
TOKEN_PREFIX = "flt_"
# How stale a token's last_used_at may get: one write a minute per token, not one per request.
TOKEN_TOUCH_EVERY = timedelta(minutes=1)
# A browser that signed in to an account is trusted by it for this long (see `login`).
DEVICE_COOKIE = "formloom_device"
DEVICE_MAX_AGE = 180 * 24 * 3600
_DUMMY_HASHES: dict[str, str] = {}


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


def load_user(user_id: str):
    """The user of a session or remember-me cookie, while its generation is the user's
    current one: signing out, a new password or deactivation ends every older cookie."""
    ident, _sep, generation = user_id.partition(":")
    if not (ident.isdigit() and generation.isdigit()):
        return None  # a cookie from before generations existed
    user = db.session.get(User, int(ident))
    if user is None or not user.active or user.session_generation != int(generation):
        return None
    return user


def verify_password(user: User | None, password: str) -> bool:
    """Whether `password` is the user's. Takes one hash check whoever asks: an unknown email
    or a user without a password is checked against a dummy hash, so the time taken does
    not tell who has an account."""
    method = password_method()
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASHES[method]
    matches = check_password_hash(stored, password)
    return matches and user is not None and bool(user.password_hash)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenUser:
    """The user of a token request, as the request needs them: plain data a process may keep
    across requests (see `load_user_from_token`), never an ORM object tied to one session."""

    id: int
    name: str
    email: str
    locale: str | None
    is_admin: bool
    department_id: int | None
    role_keys: frozenset[str]
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)


@dataclass(frozen=True)
class VerifiedToken:
    id: int
    read_only: bool
    app_id: int | None
    last_used_at: datetime | None


def load_user_from_token(req):
    """`Authorization: Bearer <token>` on an API route: the token's user, the token kept in `g`.

    Pages take session cookies only (see platform/credentials.py). A verified token is kept
    by the process under the cache epoch (platform/epoch.py): a revoke, a deactivation or a
    change of the user's roles moves the epoch, so the next request anywhere checks again.
    """
    header = req.headers.get("Authorization", "")
    if not credentials.is_api_request() or not header.lower().startswith("bearer "):
        return None
    token_hash = hash_token(header[7:].strip())
    found = epoch.cached("token", token_hash, lambda: _verify(token_hash), keep_none=False)
    if found is None:
        g.bad_token = True
        return None
    token, user, used = found
    now = utcnow()
    if used["at"] is None or now - used["at"] >= TOKEN_TOUCH_EVERY:
        _touch_token(token.id, now)
        used["at"] = now  # this verification's own note of the last use
    g.api_token = token
    return user


def _verify(token_hash: str) -> tuple[VerifiedToken, TokenUser, dict] | None:
    """The live token with this hash and its active user, in one query; None if there is none."""
    row = db.session.execute(
        sa.select(ApiToken).join(ApiToken.user)
        .options(contains_eager(ApiToken.user).joinedload(User.roles))
        .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
    ).unique().scalar_one_or_none()
    if row is None or not row.user.active:
        return None
    u = row.user
    return (VerifiedToken(row.id, bool(row.read_only), row.app_id, row.last_used_at),
            TokenUser(u.id, u.name, u.email, u.locale, bool(u.is_admin), u.department_id, frozenset(u.role_keys)),
            {"at": row.last_used_at})


def _touch_token(token_id: int, now) -> None:
    """Note that the token was used; the condition keeps concurrent requests to one write.
    The last use changes nothing cached, so it leaves the cache epoch alone."""
    with write_transaction():
        db.session.execute(
            sa.update(ApiToken).where(ApiToken.id == token_id, sa.or_(
                ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOKEN_TOUCH_EVERY))
            .values(last_used_at=now).execution_options(synchronize_session=False, **{reqcache.NEUTRAL: True}))


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


# --- sign-in limits: per client address, and per account -----------------------------------
# Both count every attempt as it arrives (an atomic increment), so parallel guesses cannot
# slip past. The per-account limit would let anyone lock a person out by guessing at their
# email; a browser that has signed in to the account before carries a signed cookie saying
# so, and its attempts are counted on their own (per browser) instead of on the account's.

def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_limit() -> str:
    return current_app.config["FORMLOOM_LOGIN_ACCOUNT_LIMIT"]


def _posted_email() -> str:
    return (request.form.get("email") or "").strip().lower()


def _account_of(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()[:32]


def _devices() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="formloom.signin-device")


def _trusted_device() -> str | None:
    """The id of this browser when it has signed in to the posted account before."""
    try:
        data = _devices().loads(request.cookies.get(DEVICE_COOKIE, ""), max_age=DEVICE_MAX_AGE)
    except BadData:
        return None
    if isinstance(data, dict) and data.get("account") == _account_of(_posted_email()):
        return str(data.get("device") or "") or None
    return None


def _account_key() -> str:
    return "account:" + _account_of(_posted_email())


def _device_key() -> str:
    return f"device:{_trusted_device()}"


def _refused(per_account: bool):
    """The sign-in page again, saying when to try again (429)."""
    def respond(limit) -> object:
        minutes = max(1, round((limit.reset_at - now()) / 60))
        if per_account:
            message = ngettext("Too many sign-in attempts for this account; try again in %(num)s minute, "
                               "or from a browser where you have signed in to it before.",
                               "Too many sign-in attempts for this account; try again in %(num)s minutes, "
                               "or from a browser where you have signed in to it before.", minutes)
        else:
            message = ngettext("Too many sign-in attempts from your network; try again in %(num)s minute.",
                               "Too many sign-in attempts from your network; try again in %(num)s minutes.",
                               minutes)
        flash(message, "danger")
        form = LoginForm(next=request.form.get("next", ""))
        return make_response(render_template("auth/login.html", form=form), 429)
    return respond


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=client_address, on_breach=_refused(per_account=False),
               error_message=_l("Too many sign-in attempts; wait a minute and try again."))
@limiter.limit(_account_limit, methods=["POST"], key_func=_account_key,
               exempt_when=lambda: _trusted_device() is not None, on_breach=_refused(per_account=True))
@limiter.limit(_account_limit, methods=["POST"], key_func=_device_key,
               exempt_when=lambda: _trusted_device() is None, on_breach=_refused(per_account=True))
def login():
    form = LoginForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.execute(sa.select(User).where(sa.func.lower(User.email) == email)).scalar_one_or_none()
        if verify_password(user, form.password.data) and user.active:
            with write_transaction():
                db.session.get(User, user.id).last_login_at = utcnow()
                audit.record("signin", Actor.from_user(user))
            login_user(user, remember=form.remember.data)
            response = redirect(_safe_next(form.next.data))
            _trust_device(response, email)
            return response
        _record_failed_signin(form.email.data.strip(), user)
        flash(_("Wrong email or password."), "danger")
        status = 401
    return render_template("auth/login.html", form=form), status


def _trust_device(response, email: str) -> None:
    """Remember that this browser signed in to the account: its later attempts do not count
    against (and are not locked out by) the account's limit."""
    token = _devices().dumps({"account": _account_of(email), "device": secrets.token_hex(12)})
    response.set_cookie(DEVICE_COOKIE, token, max_age=DEVICE_MAX_AGE, httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))


def _record_failed_signin(email: str, user: User | None) -> None:
    """Log the attempt at once: the request writes nothing else, so nothing else would commit it."""
    inactive = user is not None and not user.active
    audit.record_now("signin_failed", None, object_type="user" if user else None,
                     object_id=user.id if user else None, label=user.name if user else None,
                     detail=f"{email} (account deactivated)" if inactive else email)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out everywhere: every session and remember-me cookie of the user ends, copies too."""
    with write_transaction():
        db.session.get(User, current_user.id).end_sessions()
        audit.record("signout", current_actor())
    logout_user()
    flash(_("You have signed out, here and on every other device."), "info")
    return redirect(url_for("auth.login"))
