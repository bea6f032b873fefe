"""Automations: when a record is created, changed or deleted, a flow ends or moves, a
schedule comes round or a date is reached, and a condition holds, do actions in order.

Modules: `model` (the compiled shape and the TriggerType/ActionType registries), `triggers`,
`actions`, `values` (what actions write), `compile` (checks at publish), `engine` (runs,
from outbox events), `schedule` (time-driven triggers). Importing the package registers the
job handlers, the outbox subscription and the tick hook.
"""
from formloom.runtime.automations import actions, engine, schedule, triggers  # noqa: F401 - registers

__all__ = ["actions", "engine", "schedule", "triggers"]
