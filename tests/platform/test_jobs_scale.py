"""Background work at scale: no error after a commit, one hand-over per job, a bounded runner."""
from __future__ import annotations

import logging
import socket
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from formloom.platform import jobs, outbox
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import Job, User, utcnow

from support_formloom import Api, Factory


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


def test_a_request_answers_what_it_committed_when_redis_is_down(app_with, caplog):
    jobs._outage["since"] = None
    app = app_with(REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0", FORMLOOM_SMTP_HOST="127.0.0.1",
                   FORMLOOM_BASE_URL="http://forms.example.com")
    make = Factory(app)
    api = Api(app.test_client(), make.token(make.user("Admin", admin=True, password=None)))
    with caplog.at_level(logging.WARNING, logger="formloom.platform.jobs"):
        answers = [api.post("/api/v1/users", json={"email": f"u{n}@example.com", "name": f"U{n}"})
                   for n in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 201]
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count()).select_from(User).where(
        User.email.like("u%@example.com"))).scalar() == 3
    waiting = db.session.execute(sa.select(Job.status).where(Job.kind == "email.invite")).scalars().all()
    assert waiting == ["queued"] * 3  # the reconciler hands them over once Redis is back
    said = [r for r in caplog.records if "could not hand" in r.getMessage()]
    assert len(said) == 1  # logged once for the outage, not once per request


# -- one hand-over per job, leases and heartbeats -----------------------------------------------

@pytest.fixture
def rq_app(app_with, redis_server):
    import jobs_fixture_handlers  # noqa: F401  (the handlers)

    return app_with(REDIS_URL=redis_server["url"], FORMLOOM_JOB_LEASE_SECONDS=3600.0)


def _waiting(redis_url: str, kind: str = "test.mark") -> int:
    """How many entries of Redis's default queue are jobs of `kind` (the tick's own jobs aside)."""
    from redis import Redis

    ids = [i.decode() for i in Redis.from_url(redis_url).lrange("rq:queue:default", 0, -1)]
    kinds = dict(db.session.execute(sa.select(Job.id, Job.kind).where(Job.id.in_(ids))).all())
    db.session.rollback()
    return sum(1 for i in ids if kinds.get(i) == kind)


@pytest.mark.redis
def test_a_waiting_job_is_in_redis_once_however_often_the_tick_runs(rq_app, redis_server, tmp_path):
    with write_transaction():
        ids = [jobs.enqueue("test.mark", {"n": n, "file": str(tmp_path / "out")}) for n in range(5)]
        later = jobs.enqueue("test.mark", {"n": 9, "file": str(tmp_path / "out")},
                             run_at=utcnow() + timedelta(hours=1))
    assert _waiting(redis_server["url"]) == 5  # the later one goes when it is due
    for _ in range(3):
        outbox.tick(reconcile=True)
    assert _waiting(redis_server["url"]) == 5
    with write_transaction():
        db.session.execute(sa.update(Job).where(Job.id == later).values(run_at=utcnow()))
    outbox.tick()
    outbox.tick()
    assert _waiting(redis_server["url"]) == 6
    assert db.session.execute(sa.select(sa.func.count()).where(Job.id.in_(ids), Job.handed_at.is_not(None))).scalar() == 5


@pytest.mark.redis
def test_what_redis_lost_is_handed_over_again_once_its_lease_expired(rq_app, redis_server, tmp_path):
    from redis import Redis

    with write_transaction():
        for n in range(4):
            jobs.enqueue("test.mark", {"n": n, "file": str(tmp_path / "out")})
    Redis.from_url(redis_server["url"]).flushdb()  # Redis restarted empty
    assert outbox.tick(reconcile=True)["resubmitted"] == 0  # the lease runs: nothing yet
    rq_app.config["FORMLOOM_JOB_LEASE_SECONDS"] = 0.000001
    assert outbox.tick(reconcile=True)["resubmitted"] == 4
    assert _waiting(redis_server["url"]) == 4
    assert outbox.tick(reconcile=True)["resubmitted"] == 0  # Redis holds them: a new lease, not a copy
    assert _waiting(redis_server["url"]) == 4


@jobs.handler("test.wait_for_heartbeat")
def _wait_for_heartbeat(payload: dict):
    """Runs until its heartbeat was renewed at least once (the test asserts meanwhile)."""
    job_id = jobs.current_job_id()
    first = db.session.execute(sa.select(Job.heartbeat_at).where(Job.id == job_id)).scalar()
    db.session.rollback()
    for _ in range(2000):
        beat = db.session.execute(sa.select(Job.heartbeat_at).where(Job.id == job_id)).scalar()
        db.session.rollback()
        if beat > first:
            payload_seen.append(beat)
            return {"renewed": True}
        threading.Event().wait(0.01)
    return {"renewed": False}


payload_seen: list = []


def test_a_running_job_renews_its_lease_and_a_silent_one_is_revived(app_with):
    app = app_with(FORMLOOM_JOB_LEASE_SECONDS=0.3)
    payload_seen.clear()
    with write_transaction():
        job_id = jobs.enqueue("test.wait_for_heartbeat", {}, run_at=utcnow() + timedelta(hours=1))
    with write_transaction():
        db.session.execute(sa.update(Job).where(Job.id == job_id).values(run_at=utcnow()))
    assert jobs.run_job(job_id) == "done"
    db.session.expire_all()
    assert db.session.get(Job, job_id).result == {"renewed": True}
    # a job whose heartbeat stopped (its worker was killed) is queued again once the lease ran out
    with write_transaction():
        db.session.execute(sa.update(Job).where(Job.id == job_id).values(
            status="running", heartbeat_at=utcnow() - timedelta(seconds=1)))
    with app.app_context():
        assert jobs.reconcile()["revived"] == 1


def test_every_interval_is_read_from_the_environment(monkeypatch, tmp_path):
    from formloom.config import load_config

    for name, value in (("FORMLOOM_TICK_SECONDS", "0.5"), ("FORMLOOM_JOB_LEASE_SECONDS", "45"),
                        ("FORMLOOM_RECONCILE_SECONDS", "20"), ("FORMLOOM_JOB_BACKOFF_SECONDS", "3"),
                        ("FORMLOOM_JOB_BACKOFF_MAX_SECONDS", "600")):
        monkeypatch.setenv(name, value)
    config = load_config(tmp_path)
    assert (config["FORMLOOM_TICK_SECONDS"], config["FORMLOOM_JOB_LEASE_SECONDS"], config["FORMLOOM_RECONCILE_SECONDS"],
            config["FORMLOOM_JOB_BACKOFF_SECONDS"], config["FORMLOOM_JOB_BACKOFF_MAX_SECONDS"]) == (0.5, 45, 20, 3, 600)
    monkeypatch.setenv("FORMLOOM_TICK_SECONDS", "soon")
    with pytest.raises(ValueError, match="FORMLOOM_TICK_SECONDS"):
        load_config(tmp_path)


def test_retry_backoff_follows_the_settings(app_with):
    app_with(FORMLOOM_JOB_BACKOFF_SECONDS=3.0, FORMLOOM_JOB_BACKOFF_MAX_SECONDS=10.0)
    assert [jobs.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [3, 6, 10, 10]


# -- a worker outlives Redis -----------------------------------------------------------------------

def _wait_for(condition, seconds: float = 60.0) -> bool:
    """Poll another process's progress (returns as soon as it holds; the bound only stops a hang)."""
    import time

    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(condition())


@pytest.mark.redis
def test_a_worker_outlives_redis_going_away_and_goes_on(rq_app, redis_server, tmp_path):
    import subprocess
    import sys

    from support_rq import worker_env

    out, log = tmp_path / "effects.txt", tmp_path / "worker.log"
    with log.open("w") as sink:
        worker = subprocess.Popen([sys.executable, "-c", "from formloom.cli import main; main()", "worker"],
                                  env=worker_env(rq_app, redis_server["url"], FORMLOOM_TICK_SECONDS="0.2"),
                                  stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with write_transaction():
            jobs.enqueue("test.mark", {"n": 1, "file": str(out)})
        assert _wait_for(lambda: out.exists() and out.read_text().split() == ["1"])
        redis_server["proc"].terminate()
        redis_server["proc"].wait(5)
        # the worker notices (RQ's own dequeue retries, or our reconnect loop around it)
        assert _wait_for(lambda: "Redis is unreachable" in log.read_text()
                         or "could not connect to Redis" in log.read_text()), log.read_text()[-3000:]
        redis_server["proc"] = redis_server["start"]()  # back, and empty
        with write_transaction():
            jobs.enqueue("test.mark", {"n": 2, "file": str(out)})
        assert _wait_for(lambda: out.read_text().split() == ["1", "2"]), log.read_text()[-3000:]
        assert worker.poll() is None  # still running: nobody had to start it again
        text = log.read_text()
        assert text.count("Redis is unreachable") <= 1  # said once per outage, if the loop saw it
    finally:
        import os
        import signal

        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)


# -- the in-process runner: one thread, a bounded queue ---------------------------------------------

COUNTED: list = []


@jobs.handler("test.count")
def _count(payload: dict):
    COUNTED.append(payload["n"])


def test_a_backlog_of_ten_thousand_jobs_drains_with_a_constant_number_of_threads(app_with):
    app = app_with(FORMLOOM_EMBEDDED_QUEUE=2000, FORMLOOM_TICK_SECONDS=0.05)  # smaller than the backlog
    COUNTED.clear()
    before = threading.active_count()
    most = before
    try:
        for start in range(0, 10000, 100):  # 100 commits, each asking for 100 jobs
            with write_transaction():
                rows = [jobs.job_row("test.count", {"n": n}) for n in range(start, start + 100)]
                db.session.execute(sa.insert(Job), rows)
                jobs.submit_after_commit(rows)
            most = max(most, threading.active_count())
        for _ in range(100000):
            most = max(most, threading.active_count())
            if len(COUNTED) >= 10000 or not jobs.runner().thread.is_alive():
                break
            threading.Event().wait(0.01)
        assert sorted(COUNTED) == list(range(10000))  # each once
        assert most <= before + 2  # the runner's thread and the heartbeat's, however long the backlog
    finally:
        jobs.runner().stop()
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count()).where(Job.status != "done")).scalar() == 0
    assert app.extensions["formloom_runner"].queue.maxsize == 2000


def test_an_event_nobody_listens_to_costs_its_outbox_row_and_no_job(app_with):
    from formloom.platform.actor import Actor
    from formloom.platform.models import OutboxEvent
    from formloom.runtime.records import service as records

    app = app_with(FORMLOOM_JOBS_EAGER=True)
    rt = Factory(app).install("sales-mini")  # no webhook, no automation
    outbox.dispatch()
    with write_transaction():
        db.session.execute(sa.delete(Job))
    records.create(Actor.system(), rt, "company", {"name": "Acme"})
    assert outbox.dispatch() == 1
    # (other tests of this process may have subscribed test.* handlers to every record event)
    assert db.session.execute(sa.select(sa.func.count()).where(Job.kind.not_like("test.%"))).scalar() == 0
    assert db.session.execute(sa.select(sa.func.count()).where(OutboxEvent.dispatched_at.is_(None))).scalar() == 0


# -- webhook health in delivery order ---------------------------------------------------------------

def test_a_success_resets_only_the_failures_that_started_before_it(app_with):
    from formloom.platform.models import Webhook
    from formloom.platform.webhooks import delivery, send

    app = app_with(FORMLOOM_JOBS_EAGER=True)
    rt = Factory(app).install("sales-mini")
    with write_transaction():
        hook = Webhook(app_id=rt.app_id, name="h", url="http://example.com/", secret="s", events=["record.created"])
        db.session.add(hook)
    t0 = utcnow()
    failed, ok = send.Outcome(False, 500, "HTTP 500", 5), send.Outcome(True, 200, None, 5)
    delivery._log(hook.id, 1, "record.created", 1, "failed", failed, started=t0)
    delivery._log(hook.id, 3, "record.created", 1, "failed", failed, started=t0 + timedelta(seconds=2))
    # a slow success that started before the second failure ends after it: the second still counts
    delivery._log(hook.id, 2, "record.created", 1, "ok", ok, started=t0 + timedelta(seconds=1))
    db.session.expire_all()
    assert db.session.get(Webhook, hook.id).consecutive_failures == 1
    for n in range(4):  # four more failures after it: five in a row, and the webhook is off
        delivery._log(hook.id, 10 + n, "record.created", 1, "failed", failed, started=t0 + timedelta(seconds=3 + n))
    db.session.expire_all()
    assert (db.session.get(Webhook, hook.id).active, db.session.get(Webhook, hook.id).consecutive_failures) == (False, 5)
