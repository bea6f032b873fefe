"""Job handlers the RQ tests' worker processes import (FORMLOOM_JOB_MODULES)."""
import os
import time
from pathlib import Path

from formloom.platform import jobs, outbox


@jobs.handler("test.mark")
def mark(payload: dict):
    """Append the payload's `n` to a file: the visible effect, counted by the tests."""
    with open(payload["file"], "a") as out:
        out.write(f"{payload['n']}\n")


@jobs.handler("test.stall_once")
def stall_once(payload: dict):
    """The first time, say so and hang (the test kills the worker); later, do the work."""
    flag = Path(payload["file"] + ".started")
    if not flag.exists():
        flag.write_text(str(os.getpid()))
        while True:  # killed by the test
            time.sleep(0.05)
    with open(payload["file"], "a") as out:
        out.write(f"{payload['n']}\n")


@jobs.handler("test.mark_event")
def mark_event(payload: dict):
    """An outbox subscriber: writes e<event id> next to the other effects."""
    target = os.environ.get("FORMLOOM_TEST_EFFECTS")
    if target:
        with open(target, "a") as out:
            out.write(f"e{payload['event_id']}\n")


outbox.subscribe("test.mark_event", lambda e: e.type == "record.created")
