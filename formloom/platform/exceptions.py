"""Domain exceptions; `platform/errors.py` maps them to HTTP at the edge.

Each carries a stable `code` and its `params` besides the English `message`: raised with a
`Message` (`NotFound.of(NO_USER, id=7)`, platform/messages.py) the code is the message's,
else the class's own (`not_found`). The edge renders `localized()` for people.
"""
from __future__ import annotations

from formloom.platform.messages import Message
from formloom.platform.messages import get as _message


class FormloomError(Exception):
    """Base of every domain error. `status` is the HTTP status the edge gives it."""

    status = 400
    title = "Bad request"
    code = "bad_request"

    def __init__(self, message: str, errors: list[dict] | None = None, *, code: str | None = None,
                 params: dict | None = None, **extra):
        super().__init__(message)
        self.message = message
        self.errors = errors or []
        self.extra = extra
        self.params = params or {}
        if code is not None:
            self.code = code

    @classmethod
    def of(cls, message: Message, errors: list[dict] | None = None, *, extra: dict | None = None, **params):
        """The error saying `message` (with `params`), carrying its code; `extra` goes into
        the API's problem+json as it is."""
        return cls(message.english(**params), errors, code=message.code, params=params, **(extra or {}))

    def localized(self) -> str:
        """The message in the current locale: the catalogue's, by code; else as raised."""
        found = _message(self.code)
        return found.localized(**self.params) if found is not None else self.message


class DefinitionError(FormloomError):
    """An app definition that does not validate; `errors` are `{pointer, message}`."""

    status = 422
    title = "Invalid app definition"
    code = "invalid_definition"


class ValidationFailed(FormloomError):
    """Record values that do not validate; `errors` are `{field, message}` (and `row`)."""

    status = 422
    title = "Invalid record"
    code = "invalid_record"


class NotFound(FormloomError):
    status = 404
    title = "Not found"
    code = "not_found"


class PermissionDenied(FormloomError):
    status = 403
    title = "Forbidden"
    code = "forbidden"


class Conflict(FormloomError):
    """A stale write (optimistic lock) or a duplicate where a unique value is required."""

    status = 409
    title = "Conflict"
    code = "conflict"


class PreconditionRequired(FormloomError):
    status = 428
    title = "Precondition required"
    code = "precondition_required"


class MigrationRefused(FormloomError):
    """A publish whose migration would lose data; `errors` list the rows."""

    status = 409
    title = "Migration would lose data"
    code = "migration_refused"
