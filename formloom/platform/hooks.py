"""Hook points: named places where one module calls code another registers, at init.

Two kinds. A `HookPoint` is one question with one answerer; a `Listeners` is a place many
modules listen at, called in registration order by its owner (`records.service.ON_SUBMIT`,
`access.FIELD_RULE_SOURCES`, and in the same spirit the outbox's `subscribe` and `on_tick`).
Either is filled explicitly in a layer's `init_app` (never as an import's side effect), and
registering twice is harmless. docs/contributing.md says which to use when.

The hook points below are where the platform asks a layer above it a question it cannot
answer itself.

The platform knows users, apps and tokens but not what a published app holds. Where it needs
that (how many records a user owns, giving them to someone else, a user's role in an app), it
calls a named hook point here; the runtime registers the answer in its `init_app`
(`formloom/runtime/__init__.py`). A hook point with nothing registered raises, so a missing
registration fails loudly instead of answering wrongly. See docs/architecture.md, Layers.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from formloom.platform.i18n import N_
from formloom.platform.messages import message


class Listeners(list):
    """A named hook point many listeners register at (each once, in their `init_app`); its
    owner calls them in order. A list, so the owner iterates it as before."""

    def __init__(self, name: str, doc: str) -> None:
        super().__init__()
        self.name, self.__doc__ = name, doc

    def register(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        if fn not in self:
            self.append(fn)
        return fn


class HookPoint:
    """One named question with one answerer, registered at init (registering again replaces it)."""

    def __init__(self, name: str, doc: str) -> None:
        self.name, self.__doc__ = name, doc
        self._fn: Callable[..., Any] | None = None

    def register(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        self._fn = fn
        return fn

    def __call__(self, *args, **kwargs):
        if self._fn is None:
            raise RuntimeError(f'Nothing answers the hook point "{self.name}": is the runtime initialised?')
        return self._fn(*args, **kwargs)


# Messages of the reassignment (platform/messages.py), said by whoever fills the hook point.
SAME_USER = message("org.reassign_same_user", N_("Choose another user to receive the records"))
INACTIVE_TARGET = message("org.reassign_inactive_target",
                          N_("%(name)s is deactivated; choose an active user to receive the records"))

records_owned = HookPoint(
    "records_owned", "records_owned(user_id) -> int: how many records the user owns across all published apps.")
reassign_records = HookPoint(
    "reassign_records", "reassign_records(actor, from_user_id, to_user_id) -> int: give every record one user "
    "owns to another, in every published app; how many moved. Raises PermissionDenied, NotFound, "
    "ValidationFailed (SAME_USER, INACTIVE_TARGET).")
app_role = HookPoint(
    "app_role", 'app_role(actor, app_id) -> "admin" | "member" | None: the actor\'s role in a published app.')
