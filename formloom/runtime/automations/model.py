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
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from flask_babel import ngettext
from jsonschema import Draft202012Validator

from formloom.platform.i18n import localized
from formloom.runtime.registry import Instance, Registry
from formloom.runtime.schema.errors import schema_errors

if TYPE_CHECKING:
    from formloom.runtime.definition import FormDef

Err = Callable[[str, str], None]  # (json pointer, message)


@dataclass(frozen=True)
class CheckContext:
    """What every `check` of a trigger, an action or a flow step may read, and where it reports.

    `forms` are the app's forms by key and `types(form)` their formula kinds; `form` is the
    form the part works on (a flow's form), `source` the key of the form whose record started
    the automation (None for a schedule without records); `err(pointer, message)` reports."""

    forms: dict[str, FormDef]
    types: Callable[[FormDef], dict[str, str]]
    err: Err
    form: FormDef | None = None
    source: str | None = None


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
    """What triggers, actions and flow steps share: a JSON schema of their settings and a check."""

    schema: dict = {}

    def check(self, raw: dict, ptr: str, ctx: CheckContext) -> None:
        """Report (`ctx.err`) what is wrong with `raw` beyond its schema."""

    def validator(self) -> Draft202012Validator:
        cached = self.__dict__.get("_validator")
        if cached is None:
            cached = Draft202012Validator(self.schema)
            self.__dict__["_validator"] = cached
        return cached


class TriggerType(Part):
    events: tuple[str, ...] = ()  # outbox event types it reacts to (none: time-driven)
    timed = False  # started by the scheduler, not by events

    def runs_by_hand(self, trigger: dict) -> bool:
        """Whether an admin may start the automation now (no record to go through)."""
        return False

    def slots(self, runtime, auto: Automation, now, floor, tz) -> list[tuple[int, str, str, dict]]:
        """A timed trigger's runs due in [floor, now]: (app id, automation key, slot, payload)."""
        return []

    def wants(self, trigger: dict, event) -> bool:
        """Whether this outbox event may start the automation (the condition is checked later)."""
        return event.type in self.events and event.form_key == trigger.get("form")

    def describe(self, trigger: dict, app, locale: str) -> str:
        raise NotImplementedError


class ActionType(Part):
    calls_out = False  # sends the run to a URL (its URL is a secret, masked wherever it is shown)

    def run(self, run, action: dict, index: int) -> dict:
        """Do the action inside the run's transaction; a short JSON result for the history."""
        raise NotImplementedError

    def describe(self, action: dict, app, locale: str) -> str:
        raise NotImplementedError

    def done_words(self, result: dict) -> str:
        """What a finished run of this action did, in the current locale; "%(ids)s" stands
        for the links to the records it created (the page fills them in)."""
        if result.get("created"):
            return ngettext("Created record %(ids)s", "Created records %(ids)s", len(result["created"]),
                            ids="%(ids)s")
        if "matched" in result:
            matched = result["matched"]
            return _("Updated %(updated)s of %(matched)s matched", updated=matched - result.get("unchanged", 0),
                     matched=matched)
        return _("Done")


trigger_types: Registry[TriggerType] = Registry("automation triggers")
action_types: Registry[ActionType] = Registry("automation actions")


def check_schema(part: Part, raw: Any, ptr: str, err: Err) -> bool:
    """Check `raw` against the part's schema; whether it passed."""
    errors = schema_errors(part.validator(), raw, ptr)
    for e in errors:
        err(e["pointer"], e["message"])
    return not errors
