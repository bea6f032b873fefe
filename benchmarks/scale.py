"""Background work at scale, as operators run it: 2 `formloom serve` + 2 `formloom worker` on
PostgreSQL and a Redis of its own, 2,000 creates over HTTP, each starting an automation (a record
and a webhook call) and a webhook subscription delivery to a local receiver.

Reported: the time from the last create's answer until the backlog is empty (no undispatched
event, no queued or running job), Redis memory (the most sampled while it ran, and Redis's own
peak), and jobs/s through RQ (jobs finished / time from the first create to an empty backlog).
Needs PostgreSQL (`--db postgres`) and `redis-server` on the PATH; otherwise it says why and
reports nothing.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import sqlalchemy as sa

from benchmarks import report
from benchmarks.env import definition, server_version
from formloom.builder import webhooks
from formloom.builder.apps import publish, save_draft
from formloom.platform.extensions import db
from formloom.platform.models import Job, OutboxEvent

NAME = "scale"
CREATES = 2_000
CLIENTS = 4
HANG = 1800  # seconds: a guard against a hung run, not a target


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Receiver:
    def __init__(self):
        self.count = 0
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    receiver.count += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _skip(env, scale: float, why: str) -> dict:
    return {"benchmark": NAME, "db": env.db, "scale": scale, "machine": report.machine(), "skipped": why,
            "params": {}, "results": {}}


def run(env, scale: float = 1.0, **_options) -> dict:
    binary = shutil.which("redis-server")
    if env.db != "postgres":
        return _skip(env, scale, "runs on PostgreSQL only (--db postgres)")
    if binary is None:
        return _skip(env, scale, "redis-server is not on the PATH")
    n = max(20, round(CREATES * scale))
    receiver = _Receiver()
    with env.app.app_context():
        actor, key = env.actor(), env.runtime().key
        # The receiver is local: the publish check (and every send) allows this host only.
        env.app.config["FORMLOOM_WEBHOOK_ALLOWED_HOSTS"] = "127.0.0.1"
        defn = definition()
        defn["automations"] = [{"key": "welcome", "trigger": {"on": "record_created", "form": "company"},
                                "actions": [{"type": "create_record", "form": "deal",
                                             "values": {"title": {"var": "record.name"},
                                                        "company": {"var": "record.$id"}}},
                                            {"type": "webhook", "url": receiver.url + "/automation"}]}]
        save_draft(actor, key, defn)
        publish(actor, key)
        webhooks.create_webhook(actor, key, {"url": receiver.url + "/hook", "events": ["record.created"],
                                             "form": "company"})
        version = server_version()
        url = env.app.config["SQLALCHEMY_DATABASE_URI"]
    scratch = Path(tempfile.mkdtemp(prefix="formloom-scale-"))
    redis_port = _free_port()
    procs: list[subprocess.Popen] = []
    try:
        procs.append(subprocess.Popen([binary, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                       "--appendonly", "no", "--dir", str(scratch)], stdout=subprocess.DEVNULL))
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        from redis import Redis

        redis = Redis.from_url(redis_url)
        for _ in range(200):
            try:
                redis.ping()
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.05)
        child_env = {**os.environ, "DATABASE_URL": url.replace("postgresql+psycopg://", "postgresql://"),
                     "REDIS_URL": redis_url, "FORMLOOM_INSTANCE": str(env.folder), "SECRET_KEY": "bench",
                     "FORMLOOM_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "FORMLOOM_LOGIN_RATE_LIMIT": "100000 per minute"}
        formloom = str(Path(sys.executable).parent / "formloom")
        ports = [_free_port(), _free_port()]
        for port in ports:
            procs.append(subprocess.Popen([formloom, "serve", "--port", str(port), "--workers", "2"], env=child_env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True))
        for _ in range(2):
            procs.append(subprocess.Popen([formloom, "worker"], env=child_env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True))
        for port in ports:
            _wait_up(port)
        result = _drive(env, n, ports, redis)
        result["results"]["receiver_requests"] = receiver.count
    finally:
        for proc in reversed(procs):
            try:
                os.killpg(proc.pid, signal.SIGTERM) if proc.args[0] != binary else proc.terminate()
            except ProcessLookupError:
                pass
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        receiver.server.shutdown()
        receiver.server.server_close()
        shutil.rmtree(scratch, ignore_errors=True)
    return {"benchmark": NAME, "db": env.db, "scale": scale, "machine": report.machine(version),
            "params": {"creates": n, "clients": CLIENTS, "web": "2 x formloom serve --workers 2",
                       "workers": "2 x formloom worker", "per create": "1 automation run (a record + a webhook "
                       "call) and 1 webhook delivery"}, **result}


def _wait_up(port: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"formloom serve on port {port} did not answer")


def _drive(env, n: int, ports: list[int], redis) -> dict:
    peak = {"used": 0}
    done = threading.Event()

    def sample():
        while not done.is_set():
            try:
                peak["used"] = max(peak["used"], int(redis.info("memory")["used_memory"]))
            except Exception:  # noqa: BLE001 - a missed sample
                pass
            done.wait(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    head = {"Authorization": f"Bearer {env.token}", "Content-Type": "application/json"}
    key = "sales_mini"
    errors: list[str] = []

    def client(c: int):
        for i in range(c, n, CLIENTS):
            port = ports[i % len(ports)]
            body = json.dumps({"fields": {"name": f"Company {i}"}}).encode()
            req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/apps/{key}/forms/company/records",
                                         data=body, headers=head, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=60) as resp:
                    resp.read()
            except Exception as exc:  # noqa: BLE001 - counted and reported
                errors.append(str(exc))

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    created = time.perf_counter()
    with env.app.app_context():
        deadline = time.monotonic() + HANG
        while time.monotonic() < deadline:
            db.session.rollback()
            waiting = db.session.execute(sa.select(sa.func.count()).where(OutboxEvent.dispatched_at.is_(None))).scalar()
            open_jobs = db.session.execute(sa.select(sa.func.count()).where(
                Job.status.in_(("queued", "running")))).scalar()
            if not waiting and not open_jobs:
                break
            time.sleep(0.2)
        drained = time.perf_counter()
        finished = db.session.execute(sa.select(sa.func.count()).where(Job.status == "done")).scalar()
        failed = db.session.execute(sa.select(sa.func.count()).where(Job.status.in_(("failed", "held")))).scalar()
        db.session.rollback()
    done.set()
    sampler.join()
    info = redis.info("memory")
    return {"results": {"creates": n, "create_errors": len(errors), "create_seconds": round(created - started, 1),
                        "creates_per_second": round(n / (created - started), 1),
                        "drain_after_last_create_seconds": round(drained - created, 1),
                        "jobs_done": finished, "jobs_failed_or_held": failed,
                        "jobs_per_second": round(finished / (drained - started), 1),
                        "redis_used_mb_max_sampled": round(peak["used"] / 2 ** 20, 1),
                        "redis_peak_mb": round(int(info["used_memory_peak"]) / 2 ** 20, 1)}}


def format_result(result: dict) -> str:
    if result.get("skipped"):
        return f"scale ({result['db']}): skipped: {result['skipped']}"
    r = result["results"]
    return report.table(
        f"scale: 2 web + 2 workers on PostgreSQL + Redis, {r['creates']} creates with an automation and a webhook",
        ["creates", "errors", "creates/s", "drain after last create s", "jobs done", "jobs/s", "Redis max MB",
         "Redis peak MB"],
        [[r["creates"], r["create_errors"], r["creates_per_second"], r["drain_after_last_create_seconds"],
          r["jobs_done"], r["jobs_per_second"], r["redis_used_mb_max_sampled"], r["redis_peak_mb"]]])
