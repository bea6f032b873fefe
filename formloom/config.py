"""Settings read from environment variables, with safe defaults.

Nothing here runs at import time: `load_config()` is called by `create_app()`.
"""
import os
import secrets
from pathlib import Path


def instance_path() -> Path:
    """The instance folder: database file, secret key, uploaded files."""
    return Path(os.environ.get("FORMLOOM_INSTANCE") or Path.cwd() / "instance").resolve()


def _secret_key(folder: Path) -> str:
    # Generated once and kept in the instance folder, so sessions survive restarts and
    # every web process of one instance signs cookies with the same key.
    key_file = folder / "secret_key"
    if not key_file.exists():
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def _number(env, name: str) -> int | None:
    """An optional whole-number setting; a typo stops the start with the variable's name."""
    value = (env.get(name) or "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise ValueError(f"{name} must be a whole number, not {value!r}")
    return int(value)


def _seconds(env, name: str) -> float | None:
    """An optional interval in seconds (decimals allowed); a typo stops the start."""
    value = (env.get(name) or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {value!r}") from None
    if seconds <= 0:
        raise ValueError(f"{name} must be more than 0 seconds, not {value!r}")
    return seconds


def _setting(value: int | None, default: int) -> int:
    return default if value is None else value


def load_config(folder: Path | None = None) -> dict:
    """Build the Flask config from the environment."""
    folder = folder or instance_path()
    folder.mkdir(parents=True, exist_ok=True)
    env = os.environ
    database_url = env.get("DATABASE_URL") or f"sqlite:///{folder / 'formloom.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url[len("postgres://"):]
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
    redis_url = env.get("REDIS_URL") or None
    return {
        "SECRET_KEY": env.get("SECRET_KEY") or _secret_key(folder),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": redis_url,
        "FORMLOOM_FILES_DIR": str(Path(env.get("FORMLOOM_FILES_DIR") or folder / "files")),
        "FORMLOOM_TIMEZONE": env.get("FORMLOOM_TIMEZONE", "Asia/Shanghai"),
        "MAX_CONTENT_LENGTH": int(env.get("FORMLOOM_MAX_UPLOAD_MB", "50")) * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": env.get("FORMLOOM_DEFAULT_LOCALE", "zh_CN"),
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        # Rate limits are counted in Redis, or in the database without it: never per process.
        "RATELIMIT_STORAGE_URI": redis_url or "formloom-db://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Sign-in attempts per client address, and per account (see docs/operations.md).
        "LOGIN_RATE_LIMIT": env.get("FORMLOOM_LOGIN_RATE_LIMIT", "10 per minute"),
        "FORMLOOM_LOGIN_ACCOUNT_LIMIT": env.get("FORMLOOM_LOGIN_ACCOUNT_LIMIT", "10 per 15 minutes"),
        # Requests per client address with an invitation link or API token that is not valid.
        "FORMLOOM_SECRET_RATE_LIMIT": env.get("FORMLOOM_SECRET_RATE_LIMIT", "20 per minute"),
        # MB of uploads one person may have that no record holds yet (0: no quota).
        "FORMLOOM_UPLOAD_QUOTA_MB": _setting(_number(env, "FORMLOOM_UPLOAD_QUOTA_MB"), 500),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env.get("FORMLOOM_SECURE_COOKIES") == "1",
        "REMEMBER_COOKIE_SECURE": env.get("FORMLOOM_SECURE_COOKIES") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        # How many proxies stand in front (their X-Forwarded-Proto and -For are believed).
        "FORMLOOM_PROXY_FIX": _number(env, "FORMLOOM_PROXY_FIX") or 0,
        "WTF_CSRF_TIME_LIMIT": None,
        "FORMLOOM_INSTANCE": str(folder),
        # Host names webhooks may reach although they resolve to internal addresses.
        "FORMLOOM_WEBHOOK_ALLOWED_HOSTS": env.get("FORMLOOM_WEBHOOK_ALLOWED_HOSTS", ""),
        # Extra modules whose @jobs.handler functions a worker must know (plugins, tests).
        "FORMLOOM_JOB_MODULES": [m.strip() for m in env.get("FORMLOOM_JOB_MODULES", "").split(",") if m.strip()],
        # The site's address as people reach it (links in emails), e.g. https://forms.example.com
        "FORMLOOM_BASE_URL": env.get("FORMLOOM_BASE_URL") or None,
        # A change whose lookups and rollups reach more records than this is finished by a
        # background job (the records say "updating" until then); smaller ones in its transaction.
        "FORMLOOM_RELATIONS_INLINE": _number(env, "FORMLOOM_RELATIONS_INLINE") or 500,
        # Email over SMTP: off without a host (see formloom/platform/mail.py).
        "FORMLOOM_SMTP_HOST": env.get("FORMLOOM_SMTP_HOST") or None,
        "FORMLOOM_SMTP_PORT": _number(env, "FORMLOOM_SMTP_PORT"),
        "FORMLOOM_SMTP_USERNAME": env.get("FORMLOOM_SMTP_USERNAME") or None,
        "FORMLOOM_SMTP_PASSWORD": env.get("FORMLOOM_SMTP_PASSWORD") or None,
        "FORMLOOM_SMTP_STARTTLS": env.get("FORMLOOM_SMTP_STARTTLS") == "1",
        "FORMLOOM_SMTP_SSL": env.get("FORMLOOM_SMTP_SSL") == "1",
        "FORMLOOM_SMTP_TIMEOUT": _number(env, "FORMLOOM_SMTP_TIMEOUT") or 10,
        "FORMLOOM_MAIL_FROM": env.get("FORMLOOM_MAIL_FROM") or None,
        # Background jobs (docs/operations.md): None keeps the default of formloom/platform/jobs.py.
        **{name: _seconds(env, name) for name in (
            "FORMLOOM_TICK_SECONDS", "FORMLOOM_JOB_LEASE_SECONDS", "FORMLOOM_RECONCILE_SECONDS",
            "FORMLOOM_JOB_BACKOFF_SECONDS", "FORMLOOM_JOB_BACKOFF_MAX_SECONDS")},
        "FORMLOOM_JOB_TIMEOUT_SECONDS": _number(env, "FORMLOOM_JOB_TIMEOUT_SECONDS"),
        "FORMLOOM_EMBEDDED_QUEUE": _number(env, "FORMLOOM_EMBEDDED_QUEUE"),
    }
