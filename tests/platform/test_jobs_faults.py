"""A fault test on real Redis and PostgreSQL, as operators run it: two workers, a burst of
events with an automation (a record and a webhook call) and a webhook subscription, a receiver
that fails at random; a worker killed mid-job; Redis stopped and started again empty; creates
while it is down. Afterwards every event was handled exactly once in effect and nothing was lost.

Bounded in count (40 + 10 events); the waits poll another process's progress, and their bound
only stops a hang. Skipped (with the reason) without FORMLOOM_TEST_DATABASE_URL or
FORMLOOM_TEST_REDIS_URL.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from formloom.builder import webhooks
from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import AutomationRun, Job, OutboxEvent, Webhook
from formloom.runtime.records import service as records

from support_formloom import DATA, Api, Factory
from support_rq import worker_env

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def any_db():
    return "postgres"


class FlakyReceiver:
    """Answers 500 to a fifth of requests (seeded), never more than twice in a row for one
    delivery; keeps every request's delivery id, event id and outcome."""

    def __init__(self, seed: int):
        self.rng, self.lock = random.Random(seed), threading.Lock()
        self.seen: list[dict] = []
        self.fails: dict[str, int] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                delivery = self.headers["X-Formloom-Delivery"]
                with receiver.lock:
                    fail = receiver.rng.random() < 0.2 and receiver.fails.get(delivery, 0) < 2
                    receiver.fails[delivery] = receiver.fails.get(delivery, 0) + 1 if fail else 0
                    receiver.seen.append({"path": self.path, "delivery": delivery, "ok": not fail,
                                          "event": self.headers["X-Formloom-Event-Id"], "body": body})
                self.send_response(500 if fail else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def ok(self, path: str) -> dict[str, set[str]]:
        """Event id -> the delivery ids of the successful requests to `path`."""
        found: dict[str, set[str]] = {}
        with self.lock:
            for r in self.seen:
                if r["path"] == path and r["ok"]:
                    found.setdefault(r["event"], set()).add(r["delivery"])
        return found


def _wait_for(condition, seconds: float = 180.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return bool(condition())


STATE: dict = {}


def _settled() -> bool:
    db.session.rollback()
    STATE["jobs"] = db.session.execute(sa.select(Job.kind, Job.status, sa.func.count()).group_by(Job.kind, Job.status)
                                       ).all()
    STATE["errors"] = db.session.execute(sa.select(Job.kind, Job.error, Job.handed_at, Job.run_at).where(
        Job.status.in_(("failed", "queued"))).limit(3)).all()
    undispatched = db.session.execute(sa.select(sa.func.count()).where(OutboxEvent.dispatched_at.is_(None))).scalar()
    open_jobs = db.session.execute(sa.select(sa.func.count()).where(Job.status.in_(("queued", "running", "held")))).scalar()
    off = db.session.execute(sa.select(Webhook.id).where(Webhook.active.is_(False))).scalars().all()
    db.session.rollback()
    for hook_id in off:  # a receiver failing at random may switch it off: the admin switches it on again
        hook = db.session.get(Webhook, hook_id)
        webhooks.update_webhook(Actor.system(), "sales_mini", hook.id, {"active": True})
    return undispatched == 0 and open_jobs == 0


def test_two_workers_a_killed_job_and_redis_restarting_empty_lose_nothing_and_double_nothing(
        any_db, app_with, redis_server, tmp_path):
    import jobs_fixture_handlers  # noqa: F401  (test.stall_once, known here too)

    receiver = FlakyReceiver(seed=21)
    app = app_with(REDIS_URL=redis_server["url"], FORMLOOM_WEBHOOK_ALLOWED_HOSTS="127.0.0.1")
    assert db.engine.dialect.name == "postgresql"
    defn = json.loads((DATA / "sales-mini.json").read_text("utf-8"))
    defn["automations"] = [{"key": "welcome", "trigger": {"on": "record_created", "form": "company"},
                            "actions": [{"type": "create_record", "form": "deal",
                                         "values": {"title": {"var": "record.name"},
                                                    "company": {"var": "record.$id"}}},
                                        {"type": "webhook", "url": receiver.base + "/automation"}]}]
    factory = Factory(app)
    owner = factory.user("Owner")
    rt = factory.install(defn, owner=owner)
    with app.app_context():
        webhooks.create_webhook(factory.actor(owner), rt.key, {"url": receiver.base + "/hook",
                                                              "events": ["record.created"], "form": "company"})
    stall = tmp_path / "stall"
    env = worker_env(app, redis_server["url"], FORMLOOM_TICK_SECONDS="0.2", FORMLOOM_JOB_LEASE_SECONDS="2",
                     FORMLOOM_RECONCILE_SECONDS="0.5", FORMLOOM_JOB_BACKOFF_SECONDS="0.2",
                     FORMLOOM_JOB_BACKOFF_MAX_SECONDS="1", FORMLOOM_WEBHOOK_ALLOWED_HOSTS="127.0.0.1")
    workers, logs = [], []

    def start_worker(n: int):
        logs.append(tmp_path / f"worker{n}.log")
        with logs[-1].open("w") as sink:
            workers.append(subprocess.Popen(
                [sys.executable, "-c", "from formloom.cli import main; main()", "worker"], env=env,
                stdout=sink, stderr=subprocess.STDOUT, start_new_session=True))

    system = Actor.system()
    try:
        start_worker(0)
        start_worker(1)
        from formloom.platform import jobs
        from formloom.platform.extensions import write_transaction

        with write_transaction():  # a job that hangs the first time: its worker is killed in it
            jobs.enqueue("test.stall_once", {"n": 1, "file": str(stall)})
        names = [f"Co {n}" for n in range(40)]
        for name in names[:20]:
            records.create(system, rt, "company", {"name": name})
        started = tmp_path / "stall.started"
        assert _wait_for(lambda: started.exists() and started.read_text()), "no worker took the stalling job"
        horse = int(started.read_text())
        with open(f"/proc/{horse}/stat") as stat:
            parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        victim = next(w for w in workers if w.pid in (horse, parent))  # the job runs in it, or in its horse
        os.kill(horse, signal.SIGKILL)  # mid-job, with its worker
        try:
            os.killpg(victim.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # that was the worker itself
        victim.wait(10)
        start_worker(2)  # a supervisor starts it again; the other worker went on meanwhile
        for name in names[20:]:
            records.create(system, rt, "company", {"name": name})
        # Redis goes away and comes back empty; creates meanwhile answer what they committed
        redis_server["proc"].terminate()
        redis_server["proc"].wait(5)
        api = Api(app.test_client(), factory.token(owner))
        down = [api.post(f"/api/v1/apps/{rt.key}/forms/company/records", json={"fields": {"name": f"Down {n}"}})
                for n in range(10)]
        assert [r.status_code for r in down] == [201] * 10
        names += [f"Down {n}" for n in range(10)]
        redis_server["proc"] = redis_server["start"]()
        if not _wait_for(_settled):
            import shutil

            for p in logs:
                shutil.copy(p, tmp_path.parent / f"fault-{p.name}")  # kept for reading after the run
            raise AssertionError(f"work left over: {STATE}")
    finally:
        for w in workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGKILL)
                w.wait(10)
        receiver.server.shutdown()
        receiver.server.server_close()

    db.session.rollback()
    events = dict(db.session.execute(sa.select(OutboxEvent.id, OutboxEvent.record_id).where(
        OutboxEvent.type == "record.created", OutboxEvent.form_key == "company")).all())
    assert len(events) == len(names) == 50
    # the automation ran once per event, and made one deal each
    run_events = db.session.execute(sa.select(AutomationRun.event_id, AutomationRun.status)).all()
    errors = db.session.execute(sa.select(AutomationRun.error).where(AutomationRun.status != "done").limit(2)).all()
    assert sorted(e for e, _ in run_events) == sorted(events) and {s for _, s in run_events} == {"done"}, errors
    deal = rt.form_tables("deal")
    titles = db.session.execute(sa.select(deal.columns["title"])).scalars().all()
    assert sorted(titles) == sorted(names)
    # each webhook delivered every event, under one delivery id per event however often it was sent
    for path in ("/hook", "/automation"):
        ok = receiver.ok(path)
        assert sorted(int(e) for e in ok) == sorted(events), path
        assert all(len(ids) == 1 for ids in ok.values()), path
    assert stall.read_text().split() == ["1"]  # the killed job ran again, to its end, once
    assert db.session.execute(sa.select(sa.func.count()).where(Job.status == "failed")).scalar() == 0
