"""Automations: when a record is created, changed or deleted, a flow ends or moves, a
schedule comes round or a date is reached, and a condition holds, do actions in order.

Modules: `model` (the compiled shape and the TriggerType/ActionType registries), `triggers`,
`actions`, `values` (what actions write), `compile` (checks at publish), `engine` (runs,
from outbox events), `schedule` (time-driven triggers). Importing the package registers the
job handlers and the kinds; `init()` (runtime init_app) subscribes to the outbox and the tick.
"""
from formloom.runtime.automations import actions, engine, schedule, triggers

__all__ = ["actions", "engine", "init", "schedule", "triggers"]


def init() -> None:
    engine.init()
    schedule.init()
