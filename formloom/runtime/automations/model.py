"""Automations as a definition states them, and the two registries their parts come from.

    {"key": "touch_customer", "name": "Touch the customer",
     "trigger": {"on": "record_created", "form": "follow_up", "when": <condition>},
     "actions": [{"type": "update_records", "form": "customer",
                  "where": {"field": "$id", "op": "eq", "value": {"var": "record.customer"}},
                  "set": {"last_contact_at": {"var": "record.follow_up_at"}}}]}

A `TriggerType` says which outbox events (or which moments) start an automation; an
`ActionType` does one step of it. Both check their part of the definition at publish with
JSON pointers, and describe it in words for the pages.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from formloom.platform.i18n import localized
from formloom.runtime.registry import Instance, Registry

Err = Callable[[str, str], None]  # (json pointer, message)


@dataclass(frozen=True)
class Automation:
    """One compiled automation; `trigger` and `actions` are the checked JSON."""

    index: int
    key: str
    name: str
    enabled: bool
    trigger: dict
    actions: tuple[dict, ...]
    name_en: str = ""

    @property
    def on(self) -> str:
        return self.trigger["on"]

    @property
    def form(self) -> str | None:
        return self.trigger.get("form")

    def display_name(self, locale: str | None = None) -> str:
        return localized(self, "name", locale, self.key)


class Part(Instance):
    """What triggers and actions share: a JSON schema of their settings and a check."""

    schema: dict = {}

    def validator(self) -> Draft202012Validator:
        cached = self.__dict__.get("_validator")
        if cached is None:
            cached = Draft202012Validator(self.schema)
            self.__dict__["_validator"] = cached
        return cached


class TriggerType(Part):
    events: tuple[str, ...] = ()  # outbox event types it reacts to (none: time-driven)
    timed = False  # started by the scheduler, not by events

    def check(self, trigger: dict, ptr: str, app, err: Err) -> None:
        """Report what is wrong with `trigger` beyond its schema."""

    def wants(self, trigger: dict, event) -> bool:
        """Whether this outbox event may start the automation (the condition is checked later)."""
        return event.type in self.events and event.form_key == trigger.get("form")

    def describe(self, trigger: dict, app, locale: str) -> str:
        raise NotImplementedError


class ActionType(Part):
    def check(self, action: dict, ptr: str, app, source: str | None, err: Err) -> None:
        """Report what is wrong with `action`; `source` is the trigger's form, if any."""

    def run(self, run, action: dict, index: int) -> dict:
        """Do the action inside the run's transaction; a short JSON result for the history."""
        raise NotImplementedError

    def describe(self, action: dict, app, locale: str) -> str:
        raise NotImplementedError


trigger_types: Registry[TriggerType] = Registry("automation triggers")
action_types: Registry[ActionType] = Registry("automation actions")


def check_schema(part: Part, raw: Any, ptr: str, err: Err) -> bool:
    """Check `raw` against the part's schema; whether it passed."""
    from formloom.runtime.schema.validate import (
        schema_errors as check,  # validate imports this module
    )

    errors = check(part.validator(), raw, ptr)
    for e in errors:
        err(e["pointer"], e["message"])
    return not errors
