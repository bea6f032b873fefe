"""What the request's credential may reach: decided once, for every request, here.

Three kinds of credential reach the app:

- a browser session (cookie): the user's full power, on pages and on the API (writes to the
  API need the page's CSRF token);
- an API token: the API only (`/api/...`); pages never read the Authorization header, so a
  token cannot fetch a page's CSRF token or post a page's form;
- an API token's limits, which hold on every API route: a read-only token may only read
  (GET, HEAD, OPTIONS); a token limited to one app reaches that app's routes (those whose URL
  names `<app_key>`) and the routes declared `@narrowed_to_token_app`, whose services keep to
  the token's app (the caller's tasks, notifications, tokens, app list, OpenAPI document).
  Every other route (organisation: users, departments, roles, audit, new apps) is refused.

A route added later is covered by default: an app route by its `<app_key>`, any other one
refused to app-limited tokens until it says how it narrows.
"""
from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app, request

from formloom.platform.actor import Actor
from formloom.platform.exceptions import NotFound, PermissionDenied
from formloom.platform.extensions import db
from formloom.platform.models import App

API_PREFIX = "/api/"
SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
APP_ARG = "app_key"
_NARROWED = "_formloom_narrowed_to_token_app"


def is_api_request() -> bool:
    """Whether this request is for the JSON API (the only place API tokens count)."""
    return request.path.startswith(API_PREFIX)


def narrowed_to_token_app(view: Callable) -> Callable:
    """Mark a route outside /apps/<app_key> whose service keeps to an app-limited token's app."""
    setattr(view, _NARROWED, True)
    return view


def _is_narrowed(endpoint: str | None) -> bool:
    view = current_app.view_functions.get(endpoint) if endpoint else None
    return bool(getattr(view, _NARROWED, False))


def _app_id(app_key: str) -> int | None:
    return db.session.execute(sa.select(App.id).where(App.key == app_key)).scalar()


def check(actor: Actor) -> None:
    """Refuse what the actor's credential does not reach. Raises PermissionDenied or NotFound."""
    if actor.read_only and request.method not in SAFE_METHODS:
        raise PermissionDenied("This API token is read-only")
    if actor.app_id is None:
        return
    app_key = (request.view_args or {}).get(APP_ARG)
    if app_key is not None:
        if _app_id(app_key) != actor.app_id:
            # The same answer as for an app that does not exist: outsiders learn nothing.
            raise NotFound(f'No published app "{app_key}"')
        return
    if not _is_narrowed(request.endpoint):
        raise PermissionDenied("This API token is limited to one app; organisation routes "
                               "(users, departments, roles, the audit log, new apps) are beyond its reach")
