"""What an automation does: one `ActionType` per file, registered here in `action_types`.

Record actions go through the records service as the system (so revisions, formulas,
validation and events are as for any write); a value the target field refuses fails the
action with the field named. Notifications are written per recipient with only what that
person may see. Adding an action is one file here (an `ActionType` subclass: `type`,
`schema`, `check`, `run`, `describe`, `done_words`) and one line below (docs/contributing.md).
"""
from __future__ import annotations

from formloom.runtime.automations.actions.create_record import CreateRecord
from formloom.runtime.automations.actions.delete_records import DeleteRecords
from formloom.runtime.automations.actions.notify import Notify
from formloom.runtime.automations.actions.update_records import UpdateRecords
from formloom.runtime.automations.actions.upsert_record import UpsertRecord
from formloom.runtime.automations.actions.webhook import (
    WEBHOOK_ATTEMPTS,
    WEBHOOK_JOB,
    CallWebhook,
    webhook_secret,
)
from formloom.runtime.automations.model import CheckContext, action_types, check_schema

for _kind in (CreateRecord, UpdateRecords, UpsertRecord, DeleteRecords, Notify, CallWebhook):
    action_types.register(_kind())

ACTIONS = tuple(action_types.types())
__all__ = ["ACTIONS", "WEBHOOK_ATTEMPTS", "WEBHOOK_JOB", "check_action", "webhook_secret"]


def check_action(action: dict, ptr: str, ctx: CheckContext) -> None:
    """Check one action; `ctx.source` is the key of the form whose record starts the run, if any."""
    if action.get("type") not in action_types:
        ctx.err(ptr + "/type", f'"{action.get("type")}" is not an action; actions: {", ".join(ACTIONS)}')
        return
    kind = action_types.get(action["type"])
    if check_schema(kind, action, ptr, ctx.err):
        kind.check(action, ptr, ctx)
