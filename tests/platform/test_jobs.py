"""The job API on both runners: in-process (eager) and RQ on a real Redis, with nothing lost."""
from __future__ import annotations

import os
import signal
import subprocess
from datetime import timedelta

import pytest
import sqlalchemy as sa

from formloom.platform import jobs, outbox
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import Job, OutboxEvent, utcnow

from support_formloom import Factory
from support_rq import WORKER, burst, worker_env

RAN: list = []


@jobs.handler("test.record")
def _record(payload: dict):
    RAN.append(payload["n"])
    return {"seen": payload["n"]}


@jobs.handler("test.flaky")
def _flaky(payload: dict):
    RAN.append(payload["n"])
    if len(RAN) < payload["fail_times"] + 1:
        raise RuntimeError(f"boom {len(RAN)}")
    return None


@pytest.fixture(autouse=True)
def _clean():
    RAN.clear()
    yield
    RAN.clear()


def _enqueue(kind="test.record", **payload) -> str:
    with write_transaction():
        return jobs.enqueue(kind, payload)


def _job(job_id: str) -> Job:
    db.session.expire_all()
    return db.session.get(Job, job_id)


def _make_due(job_id: str) -> None:
    with write_transaction():
        db.session.execute(sa.update(Job).where(Job.id == job_id).values(run_at=utcnow() - timedelta(seconds=1)))


@pytest.fixture
def eager(app_with):
    return app_with(FORMLOOM_JOBS_EAGER=True)


def test_a_job_runs_after_commit_and_not_after_rollback(eager):
    job_id = _enqueue(n=1)
    assert RAN == [1] and _job(job_id).status == "done" and _job(job_id).result == {"seen": 1}
    try:
        with write_transaction():
            jobs.enqueue("test.record", {"n": 2})
            raise RuntimeError("the change fails")
    except RuntimeError:
        pass
    assert RAN == [1] and db.session.execute(sa.select(sa.func.count()).select_from(Job)).scalar() == 1


def test_a_failing_job_is_retried_with_backoff_then_fails_for_good(eager):
    with write_transaction():
        job_id = jobs.enqueue("test.flaky", {"n": 0, "fail_times": 99}, max_attempts=3)
    job = _job(job_id)
    assert job.status == "queued" and job.attempts == 1 and "boom 1" in job.error
    assert job.run_at > utcnow() + timedelta(seconds=5)  # backed off, not due yet
    assert jobs.run_job(job_id) == "skipped"
    for expected in (2, 3):
        _make_due(job_id)
        jobs.run_job(job_id)
        assert _job(job_id).attempts == expected
    job = _job(job_id)
    assert job.status == "failed" and "boom 3" in job.error and job.finished_at is not None


def test_retry_and_cancel(eager):
    with write_transaction():
        job_id = jobs.enqueue("test.flaky", {"n": 0, "fail_times": 1}, max_attempts=1)
    assert _job(job_id).status == "failed"
    assert jobs.retry(job_id) and _job(job_id).status == "done"  # ran again at once, and passed
    with write_transaction():
        later = jobs.enqueue("test.record", {"n": 5}, run_at=utcnow() + timedelta(hours=1))
    assert jobs.cancel(later) and _job(later).status == "cancelled"
    _make_due(later)
    assert jobs.run_job(later) == "skipped" and 5 not in RAN
    assert not jobs.cancel(job_id)  # done jobs stay done


def test_a_job_claimed_once_runs_once(eager):
    with write_transaction():
        job_id = jobs.enqueue("test.record", {"n": 7}, run_at=utcnow() + timedelta(hours=1))
    _make_due(job_id)
    assert [jobs.run_job(job_id) for _ in range(3)] == ["done", "skipped", "skipped"]
    assert RAN == [7]


def test_dedupe_key_makes_one_job(eager):
    with write_transaction():
        first = jobs.enqueue("test.record", {"n": 1}, dedupe_key="k1")
        again = jobs.enqueue("test.record", {"n": 1}, dedupe_key="k1")
    assert first == again and RAN == [1]


def test_a_job_whose_worker_died_is_revived_by_reconcile(eager):
    with write_transaction():
        job_id = jobs.enqueue("test.record", {"n": 3}, run_at=utcnow() + timedelta(hours=1))
        db.session.flush()
        db.session.execute(sa.update(Job).where(Job.id == job_id).values(
            status="running", attempts=1, started_at=utcnow() - timedelta(hours=1),
            heartbeat_at=utcnow() - timedelta(hours=1)))
    assert jobs.reconcile() == {"revived": 1, "resubmitted": 1}
    assert RAN == [3] and _job(job_id).status == "done" and _job(job_id).attempts == 2


def _event(app_id: int, n: int) -> None:
    db.session.add(OutboxEvent(app_id=app_id, form_key="deal", record_id=n, type="record.created",
                               payload={"form": "deal", "record_id": n}))


@jobs.handler("test.on_event")
def _on_event(payload: dict):
    RAN.append(payload["event_id"])


def test_outbox_events_become_one_job_each_even_when_dispatched_twice(eager):
    rt = Factory(eager).install("sales-mini")
    outbox.subscribe("test.on_event", lambda e: e.type == "record.created")
    try:
        with write_transaction():
            for n in range(3):
                _event(rt.app_id, n)
        ids = sorted(db.session.execute(sa.select(OutboxEvent.id).where(OutboxEvent.type == "record.created")).scalars())
        waiting = db.session.execute(sa.select(sa.func.count()).where(OutboxEvent.dispatched_at.is_(None))).scalar()
        assert outbox.dispatch() == waiting  # the app's publish event too, which this subscriber skips
        assert sorted(RAN) == ids
        with write_transaction():  # as if a crash had lost the mark: the jobs are not made twice
            db.session.execute(sa.update(OutboxEvent).values(dispatched_at=None))
        outbox.dispatch()
        assert sorted(RAN) == ids
    finally:
        outbox.SUBSCRIBERS[:] = [s for s in outbox.SUBSCRIBERS if s.kind != "test.on_event"]


# -- RQ on a real Redis -------------------------------------------------------------------------

@pytest.fixture
def rq_app(app_with, redis_server):
    import jobs_fixture_handlers  # noqa: F401  (the handlers, known here too)

    app = app_with(REDIS_URL=redis_server["url"])
    return app


def _wait_for(condition, seconds: float = 30.0) -> None:
    """Poll another process's progress (not a fixed sleep: it returns as soon as it holds)."""
    import time

    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


def _lines(path) -> list[str]:
    return path.read_text().split() if path.exists() else []


@pytest.mark.redis
def test_a_burst_worker_runs_jobs_end_to_end(rq_app, redis_server, tmp_path):
    out = tmp_path / "effects.txt"
    with write_transaction():
        ids = [jobs.enqueue("test.mark", {"n": n, "file": str(out)}) for n in range(5)]
    run = burst(rq_app, redis_server["url"])
    assert run.returncode == 0, run.stderr[-2000:]
    assert sorted(_lines(out)) == [str(n) for n in range(5)]
    assert {_job(i).status for i in ids} == {"done"}


@pytest.mark.redis
def test_a_job_whose_worker_is_killed_completes_once_after_recovery(rq_app, redis_server, tmp_path):
    out = tmp_path / "effects.txt"
    with write_transaction():
        job_id = jobs.enqueue("test.stall_once", {"n": 1, "file": str(out)})
    worker = subprocess.Popen(WORKER, env=worker_env(rq_app, redis_server["url"]), start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = tmp_path / "effects.txt.started"
    try:
        _wait_for(lambda: started.exists() and started.read_text())  # the job is inside its handler
        assert started.exists(), "the worker never started the job"
        assert _job(job_id).status == "running"
    finally:
        os.killpg(worker.pid, signal.SIGKILL)  # the worker and its work horse, mid-job
        worker.wait(10)
    assert _lines(out) == []
    # RQ alone would leave it lost; the reconciler revives the stale running job.
    assert jobs.reconcile(stale_after=timedelta(0))["revived"] == 1
    run = burst(rq_app, redis_server["url"])
    assert run.returncode == 0, run.stderr[-2000:]
    assert _lines(out) == ["1"] and _job(job_id).status == "done" and _job(job_id).attempts == 2


@pytest.mark.redis
def test_jobs_and_events_survive_redis_restarting_empty(rq_app, redis_server, tmp_path):
    out = tmp_path / "effects.txt"
    rt = Factory(rq_app).install("sales-mini")
    outbox.subscribe("test.mark_event", lambda e: e.type == "record.created")  # as the worker's module does
    try:
        with write_transaction():
            ids = [jobs.enqueue("test.mark", {"n": n, "file": str(out)}) for n in range(3)]
            for n in range(4):
                _event(rt.app_id, 100 + n)
        redis_server["proc"].terminate()
        redis_server["proc"].wait(5)
        redis_server["proc"] = redis_server["start"]()  # back, and empty
        from redis import Redis
        assert Redis.from_url(redis_server["url"]).dbsize() == 0
        # its first tick finds what Redis lost (a lease this short has expired already) and requeues it
        run = burst(rq_app, redis_server["url"], FORMLOOM_TEST_EFFECTS=str(out), FORMLOOM_JOB_LEASE_SECONDS="0.001")
        assert run.returncode == 0, run.stderr[-2000:]
        assert {_job(i).status for i in ids} == {"done"}
        events = db.session.execute(sa.select(OutboxEvent.id).where(OutboxEvent.type == "record.created")).scalars()
        assert sorted(_lines(out)) == sorted(["0", "1", "2"] + [f"e{e}" for e in events])
    finally:
        outbox.SUBSCRIBERS[:] = [s for s in outbox.SUBSCRIBERS if s.kind != "test.mark_event"]


@jobs.handler("test.chain")
def _chain(payload: dict):
    RAN.append(payload["n"])
    if payload["n"] < 3:
        with write_transaction():
            jobs.enqueue("test.chain", {"n": payload["n"] + 1})


def test_a_job_that_asks_for_another_runs_it_after_itself(eager):
    _enqueue("test.chain", n=1)
    assert RAN == [1, 2, 3]


@pytest.mark.redis
def test_an_automation_runs_end_to_end_on_an_rq_worker(rq_app, redis_server):
    import json

    from formloom.platform.actor import Actor
    from formloom.platform.models import AutomationRun
    from formloom.runtime.records import service as records

    from support_formloom import DATA

    defn = json.loads((DATA / "sales-mini.json").read_text("utf-8"))
    defn["automations"] = [{"key": "won", "trigger": {"on": "record_updated", "form": "deal", "fields": ["stage"],
                                                      "when": {"field": "stage", "op": "eq", "value": "won"}},
                            "actions": [{"type": "update_records", "form": "company",
                                         "where": {"field": "$id", "op": "eq", "value": {"var": "record.company"}},
                                         "set": {"tier": "A"}}]}]
    rt = Factory(rq_app).install(defn)
    system = Actor.system()
    acme = records.create(system, rt, "company", {"name": "Acme"})
    deal = records.create(system, rt, "deal", {"title": "Big", "company": acme["id"]})
    records.update(system, rt, "deal", deal["id"], {"stage": "won"})
    run = burst(rq_app, redis_server["url"])  # its first tick turns the events into jobs
    assert run.returncode == 0, run.stderr[-2000:]
    db.session.rollback()
    [done] = db.session.execute(sa.select(AutomationRun)).scalars()
    assert (done.automation_key, done.status) == ("won", "done")
    assert records.get(system, rt, "company", acme["id"])["fields"]["tier"] == "A"
