"""Domain exceptions; `platform/errors.py` maps them to HTTP at the edge."""
from __future__ import annotations


class FormloomError(Exception):
    """Base of every domain error. `status` is the HTTP status the edge gives it."""

    status = 400
    title = "Bad request"

    def __init__(self, message: str, errors: list[dict] | None = None, **extra):
        super().__init__(message)
        self.message = message
        self.errors = errors or []
        self.extra = extra


class DefinitionError(FormloomError):
    """An app definition that does not validate; `errors` are `{pointer, message}`."""

    status = 422
    title = "Invalid app definition"


class ValidationFailed(FormloomError):
    """Record values that do not validate; `errors` are `{field, message}` (and `row`)."""

    status = 422
    title = "Invalid record"


class NotFound(FormloomError):
    status = 404
    title = "Not found"


class PermissionDenied(FormloomError):
    status = 403
    title = "Forbidden"


class Conflict(FormloomError):
    """A stale write (optimistic lock) or a duplicate where a unique value is required."""

    status = 409
    title = "Conflict"


class PreconditionRequired(FormloomError):
    status = 428
    title = "Precondition required"


class MigrationRefused(FormloomError):
    """A publish whose migration would lose data; `errors` list the rows."""

    status = 409
    title = "Migration would lose data"
