"""Email over SMTP: the settings, messages in the reader's language, and sending.

Sending happens only in jobs (queue "email"), never in a request: a slow or absent mail
server must not slow a page. `send` sorts failures in two: `MailError` (connection refused,
timeouts, 4xx replies) raises so the job is tried again with backoff; `Undeliverable` (a 5xx
reply: SMTP's "permanent") fails the job at once with the server's words as its error.
"""
from __future__ import annotations

import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, has_request_context, render_template, request
from flask_babel import force_locale

from formloom.platform import jobs
from formloom.platform.i18n import SUPPORTED_LOCALES
from formloom.platform.models import User

QUEUE = "email"
MAX_ATTEMPTS = 8  # retries 10 s, 20 s, ... about 21 minutes in all before giving up


class MailError(Exception):
    """Sending failed in a way that may pass (server down or busy): try again later."""


class Undeliverable(jobs.Fail):
    """The mail server refused for good (5xx): the job fails at once instead of retrying."""


def enabled() -> bool:
    """Whether email is on: it is when an SMTP host is configured."""
    return bool(current_app.config.get("FORMLOOM_SMTP_HOST"))


def base_url() -> str | None:
    """The site's address for links in emails: FORMLOOM_BASE_URL, else the address of the
    current request, else None (no link can be made)."""
    configured = current_app.config.get("FORMLOOM_BASE_URL")
    if configured:
        return configured.rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    return None


def absolute(base: str | None, endpoint: str, **values) -> str | None:
    """The full address of a page, made outside any request (jobs have none)."""
    if not base:
        return None
    return base + current_app.url_map.bind("localhost").build(endpoint, values)


def default_locale() -> str:
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")


def locale_of(user: User) -> str:
    """The user's chosen language, else the site's default."""
    if user.locale in SUPPORTED_LOCALES:
        return user.locale
    return default_locale()


def render(template: str, locale: str, **context) -> tuple[str, str]:
    """The plain-text and HTML bodies of `mail/<template>.txt|.html` in `locale`."""
    with force_locale(locale):
        return (render_template(f"mail/{template}.txt", **context),
                render_template(f"mail/{template}.html", **context))


def message(user: User, subject: str, text: str, html: str) -> EmailMessage:
    """A UTF-8 email to `user`: plain text with an HTML alternative."""
    sender = current_app.config.get("FORMLOOM_MAIL_FROM") or "formloom@localhost"
    msg = EmailMessage()
    msg["Subject"] = " ".join(subject.split())  # a header is one line
    msg["From"] = sender
    msg["To"] = Address(display_name=user.name or "", addr_spec=user.email)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or "localhost")
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def send(msg: EmailMessage) -> None:
    """Hand one message to the SMTP server. Raises MailError (try later) or Undeliverable."""
    cfg = current_app.config
    host, use_ssl, starttls = cfg["FORMLOOM_SMTP_HOST"], cfg.get("FORMLOOM_SMTP_SSL"), cfg.get("FORMLOOM_SMTP_STARTTLS")
    if use_ssl and starttls:
        raise Undeliverable("FORMLOOM_SMTP_SSL and FORMLOOM_SMTP_STARTTLS are both on; choose one")
    port = cfg.get("FORMLOOM_SMTP_PORT") or (465 if use_ssl else 587 if starttls else 25)
    timeout = cfg.get("FORMLOOM_SMTP_TIMEOUT") or 10
    where = f"{host}:{port}"
    try:
        if use_ssl:
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            if starttls:
                smtp.starttls(context=ssl.create_default_context())
            if cfg.get("FORMLOOM_SMTP_USERNAME"):
                smtp.login(cfg["FORMLOOM_SMTP_USERNAME"], cfg.get("FORMLOOM_SMTP_PASSWORD") or "")
            smtp.send_message(msg)
    except smtplib.SMTPNotSupportedError as exc:  # e.g. no STARTTLS, or no SMTPUTF8 for a non-ASCII address
        raise Undeliverable(f"the mail server {where} does not support what sending needs: {exc}") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        address, (code, reply) = next(iter(exc.recipients.items()))  # one recipient per message
        _raise(code, f"the mail server {where} refused the recipient {address}: {code} {_text(reply)}")
    except smtplib.SMTPResponseException as exc:
        _raise(exc.smtp_code, f"the mail server {where} answered {exc.smtp_code} {_text(exc.smtp_error)}")
    except (OSError, smtplib.SMTPException) as exc:  # refused, timed out, cut off, TLS failed
        raise MailError(f"the mail server {where} cannot be reached: {exc or type(exc).__name__}") from exc


def _raise(code: int, text: str) -> None:
    raise (Undeliverable if 500 <= code < 600 else MailError)(text)


def _text(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
