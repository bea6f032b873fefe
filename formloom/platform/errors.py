"""Domain errors to HTTP: problem+json (RFC 9457) for the API, a page for people."""
from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from formloom.platform import audit
from formloom.platform.auth import current_actor
from formloom.platform.exceptions import FormloomError, PermissionDenied
from formloom.platform.extensions import db

PAGES = {403, 404, 409, 422, 500}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def problem(status: int, title: str, detail: str = "", **extra):
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update({k: v for k, v in extra.items() if v not in (None, [], {})})
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _page(status: int, title: str, detail: str):
    template = f"errors/{status if status in PAGES else 500}.html"
    return render_template(template, title=title, detail=detail, status=status), status


def record_denied(exc: PermissionDenied) -> None:
    """Keep a "denied" audit line although the request fails (and rolls back)."""
    actor = current_actor()
    # End the request's own transaction first: on SQLite an open write would block the line.
    db.session.rollback()
    try:
        audit.record_now("denied", actor, detail=f"{request.method} {request.path}: {exc.message}")
    except SQLAlchemyError:  # the person still gets their 403; the failure goes to the log
        current_app.logger.exception("Could not write the audit line for a denied request")


def _end_transaction() -> None:
    """Roll back the request's work before answering: after a failed statement PostgreSQL
    refuses every other one in the transaction, and the error page itself reads the database
    (the signed-in person, their unread count)."""
    try:
        db.session.rollback()
    except SQLAlchemyError:  # the connection is gone; the answer need not read anything
        current_app.logger.exception("Could not roll back before answering an error")


def handle_domain(exc: FormloomError):
    _end_transaction()
    if isinstance(exc, PermissionDenied):
        record_denied(exc)
    if wants_json():
        return problem(exc.status, exc.title, exc.message, code=exc.code, params=exc.params, errors=exc.errors,
                       **exc.extra)
    return _page(exc.status, exc.title, exc.localized())


def _http_code(exc: HTTPException) -> str:
    """An HTTP error's stable code: its name in snake case ("not_found", "too_many_requests")."""
    return "_".join((exc.name or "error").lower().replace("'", "").split())


def handle_http(exc: HTTPException):
    _end_transaction()
    if exc.response is not None:  # made in full already, e.g. the sign-in page's 429 (on_breach)
        return exc.response
    # The exception's own headers go along (a 405's Allow, a 429's Retry-After, a 416's Content-Range).
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    if wants_json():
        response = problem(exc.code or 500, exc.name, exc.description or "", code=_http_code(exc))
        response.headers.extend(headers)
        return response
    if exc.code in PAGES:
        return (*_page(exc.code, exc.name, exc.description or ""), headers)
    return exc


def handle_unexpected(exc: Exception):
    current_app.logger.exception("Unhandled error")
    _end_transaction()
    if wants_json():
        return problem(500, "Internal server error", "Something went wrong on our side; it has been logged.",
                       code="internal_error")
    return _page(500, _("Something went wrong"), _("Something went wrong on our side; it has been logged."))


def init_app(app: Flask) -> None:
    app.register_error_handler(FormloomError, handle_domain)
    app.register_error_handler(HTTPException, handle_http)
    if not app.testing:
        app.register_error_handler(Exception, handle_unexpected)
