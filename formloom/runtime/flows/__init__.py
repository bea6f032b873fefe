"""Approval flows: structured definitions (`model`, `nodes`, `compile`), the engine that moves
an instance through its steps (`engine`), what people do and see (`service`), and step
timeouts (`timeouts`). `init()` hooks them into access and the records service.
"""
from formloom.runtime.flows import service, timeouts  # noqa: F401 - registers the timeout job


def init() -> None:
    service.init()
