"""What every API route shares: authentication, JSON bodies, ETags, idempotency keys.

Each layer (platform, runtime, builder) has its own blueprint under /api/v1, made by
`api_blueprint`, so no layer imports a layer above it.
"""
from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from flask import Blueprint, g, jsonify, request
from flask_wtf.csrf import validate_csrf
from sqlalchemy.exc import IntegrityError

from formloom.platform import credentials
from formloom.platform.actor import Actor
from formloom.platform.auth import current_actor
from formloom.platform.exceptions import Conflict, FormloomError, PermissionDenied, ValidationFailed
from formloom.platform.extensions import db
from formloom.platform.inputs import as_id, parse_json
from formloom.platform.models import IdempotencyKey
from formloom.platform.ratelimit import guard_secret, signed_in


def api_blueprint(name: str) -> Blueprint:
    """A blueprint under /api/v1 whose routes all require an authenticated actor."""
    blueprint = Blueprint(name, __name__, url_prefix="/api/v1")
    blueprint.before_request(authenticate)
    guard_secret(_no_guess)(blueprint)  # a client guessing tokens is slowed down
    return blueprint


PUBLIC_ENDPOINTS: set[str] = set()


def _no_guess() -> bool:
    return request.endpoint in PUBLIC_ENDPOINTS or signed_in()


class Unauthorized(FormloomError):
    status = 401
    title = "Unauthorized"
    code = "unauthorized"


def authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    actor = current_actor()
    if actor is None:
        if getattr(g, "bad_token", False):
            raise Unauthorized("The API token is not valid (revoked, or never issued)")
        raise Unauthorized("Send an API token: Authorization: Bearer <token>")
    if actor.via == "session" and request.method not in credentials.SAFE_METHODS:
        # A browser session may call the API only with the page's CSRF token.
        try:
            validate_csrf(request.headers.get("X-CSRFToken", ""))
        except Exception:  # ValidationError for a missing, expired or forged token
            raise PermissionDenied("Send the page's CSRF token in the X-CSRFToken header") from None
    credentials.check(actor)
    g.actor = actor


def actor() -> Actor:
    return g.actor


def json_body(required: bool = True) -> dict:
    """The request's JSON object. Raises ValidationFailed saying what is wrong with it."""
    if not request.data and not required:
        return {}
    body = parse_json(request.get_data() or b"null")
    if not isinstance(body, dict):
        raise ValidationFailed("The body must be a JSON object", [{"pointer": "", "message": "must be an object"}])
    return body


def if_match() -> int | None:
    """The record version the client last read, from If-Match ("3", W/"3" or 3)."""
    value = request.headers.get("If-Match")
    if value is None or value.strip() == "*":  # "*": any version will do
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if as_id(text) is None:
        raise ValidationFailed('If-Match must be the record\'s version, e.g. If-Match: "3"',
                               [{"field": "If-Match", "message": "is not a version"}])
    return int(text)


def with_etag(body: dict, status: int = 200):
    response = jsonify(body)
    response.status_code = status
    response.headers["ETag"] = f'"{body["version"]}"'
    return response


def idempotency() -> tuple[str, str] | None:
    """(key, request fingerprint) when the client sent an Idempotency-Key."""
    key = request.headers.get("Idempotency-Key")
    if not key:
        return None
    if len(key) > 200:
        raise ValidationFailed("Idempotency-Key is limited to 200 characters",
                               [{"field": "Idempotency-Key", "message": "is longer than 200 characters"}])
    body = request.get_data()
    try:  # the same JSON with other spacing or key order is the same request
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # json_body says what is wrong with it
        pass
    fingerprint = hashlib.sha256(f"{request.method} {request.path}\n".encode() + body).hexdigest()
    return key, fingerprint


def replay(idem: tuple[str, str] | None):
    """The stored response for a repeated Idempotency-Key, or None."""
    if idem is None:
        return None
    row = db.session.execute(sa.select(IdempotencyKey).where(
        IdempotencyKey.user_id == actor().user_id, IdempotencyKey.key == idem[0])).scalar_one_or_none()
    if row is None:
        return None
    if row.fingerprint != idem[1]:
        raise Conflict("This Idempotency-Key was used for a different request")
    response = jsonify(row.body)
    response.status_code = row.status
    response.headers["Idempotent-Replayed"] = "true"
    if isinstance(row.body, dict) and "version" in row.body:
        response.headers["ETag"] = f'"{row.body["version"]}"'
    return response


def remember(idem: tuple[str, str] | None, status: int, body) -> None:
    """Keep the response for the key, in the current (write) transaction."""
    if idem is not None and actor().user_id is not None:
        db.session.add(IdempotencyKey(user_id=actor().user_id, key=idem[0], fingerprint=idem[1],
                                      status=status, body=body))
        try:
            db.session.flush()
        except IntegrityError:
            # A concurrent retry with this key won; the caller replays its answer.
            raise Conflict("A request with this Idempotency-Key was just handled; retry to get its answer") from None
