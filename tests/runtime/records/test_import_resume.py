"""An import whose worker dies goes on where it stopped (no row twice, none lost); a cancel
stops it (with "stop" nothing is written). The worker's death is a BaseException raised
between two batches: the job stays "running", as after a SIGKILL, until the reconciler
queues it again after its lease. The in-process runner is stopped, so the test runs each
job itself (`jobs.run_job`, as a worker would)."""
from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from formloom.platform import jobs
from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import ImportRun
from formloom.runtime.imports import batches, service
from formloom.runtime.records import query

from support_formloom import Factory

DEFINITION = {"key": "shop", "name": "Shop", "forms": [
    {"key": "order", "name": "Order", "title_field": "title", "fields": [
        {"key": "title", "type": "text", "label": "Title", "required": True},
        {"key": "ref", "type": "text", "label": "Ref", "unique": True}]}]}
CSV = "Title,Ref\n" + "".join(f"order {i},R{i}\n" for i in range(1, 8))  # 7 rows: batches of 2, 2, 2, 1


class WorkerDied(BaseException):
    """What a killed worker looks like from inside: nothing after it runs."""


@pytest.fixture
def shop(any_db, app_with, monkeypatch):
    app = app_with()
    jobs.runner().stop()
    make = Factory(app)
    owner = make.user("Owner")
    rt = make.install(json.loads(json.dumps(DEFINITION)), owner=owner)
    monkeypatch.setattr(batches, "BATCH", 2)
    return Actor.from_user(owner), rt


def die_at(monkeypatch, call: int) -> None:
    """The worker dies when it looks for a cancel the `call`-th time (before a batch)."""
    seen = {"n": 0}
    real = batches.Runner._cancel_asked

    def looking(self):
        seen["n"] += 1
        if seen["n"] == call:
            raise WorkerDied
        return real(self)

    monkeypatch.setattr(batches.Runner, "_cancel_asked", looking)


def titles(actor, rt) -> list[str]:
    db.session.rollback()
    records, _cursor = query.list_records(actor, rt, "order", limit=100, sort="ref")
    return [r["fields"]["title"] for r in records]


def the_import() -> ImportRun:
    db.session.rollback()
    return db.session.execute(sa.select(ImportRun)).scalar_one()


def revive() -> None:
    """What the reconciler does once the dead worker's lease has run out; then a worker runs it."""
    assert jobs.reconcile(stale_after=timedelta(0))["revived"] == 1
    assert jobs.run_job(the_import().job_id) == "done"


def start(actor, rt, options: dict):
    """Start an import and run its job, which dies."""
    row = service.start(actor, rt, "order", io.BytesIO(CSV.encode()), "orders.csv", options)
    with pytest.raises(WorkerDied):
        jobs.run_job(row.job_id)
    db.session.rollback()


def test_skip_resumes_after_the_last_written_batch(shop, monkeypatch):
    actor, rt = shop
    die_at(monkeypatch, 3)  # batches 1 and 2 written, then the worker dies
    start(actor, rt, {"on_error": "skip"})
    row = the_import()
    assert (row.status, row.done, row.created) == ("running", 4, 4)
    assert titles(actor, rt) == [f"order {i}" for i in range(1, 5)]
    monkeypatch.undo()
    monkeypatch.setattr(batches, "BATCH", 2)
    revive()
    row = the_import()
    assert (row.status, row.done, row.created, row.failed_rows) == ("finished", 7, 7, 0)
    assert titles(actor, rt) == [f"order {i}" for i in range(1, 8)]  # each once


def test_stop_dying_while_writing_leaves_nothing_and_the_rerun_writes_all(shop, monkeypatch):
    actor, rt = shop
    die_at(monkeypatch, 6)  # the check pass looks 4 times; the write pass dies before its second batch
    start(actor, rt, {"on_error": "stop"})
    row = the_import()
    assert (row.status, row.phase) == ("running", "writing")
    assert titles(actor, rt) == []  # the one transaction was rolled back
    monkeypatch.undo()
    monkeypatch.setattr(batches, "BATCH", 2)
    revive()
    row = the_import()
    assert (row.status, row.created) == ("finished", 7)
    assert titles(actor, rt) == [f"order {i}" for i in range(1, 8)]


@pytest.mark.parametrize("on_error, kept", [("stop", 0), ("skip", 2)])
def test_a_cancelled_import_stops(shop, monkeypatch, on_error, kept):
    actor, rt = shop
    die_at(monkeypatch, 2 if on_error == "skip" else 5)
    start(actor, rt, {"on_error": on_error})
    row = service.cancel(actor, the_import().id)
    assert row.cancel_asked
    monkeypatch.undo()
    monkeypatch.setattr(batches, "BATCH", 2)
    revive()
    row = the_import()
    assert row.status == "cancelled" and len(titles(actor, rt)) == kept
