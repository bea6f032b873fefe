"""Throughput over HTTP: `formloom serve` on a fresh instance, driven over loopback.

The server runs as operators run it: gunicorn with its default number of workers, in its
own processes; with PostgreSQL and FORMLOOM_BENCH_REDIS_URL set, a separate `formloom
worker` runs the jobs. The phases follow one seeded workload (the example app's `deal`
form): single creates one after another, single creates from 4 clients at once, rows by
bulk in batches, list pages (a 2-condition filter, a sort, 50 rows), reads by id and
updates by id. For each phase: requests per second, latency percentiles and the server's
CPU per request, read from /proc (every gunicorn process, and the job worker apart).
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa

from benchmarks import data, report
from benchmarks.env import APP_KEY, server_version
from formloom.platform.extensions import db
from formloom.platform.models import Job, OutboxEvent

NAME = "http"
# (phase, requests at scale 1); bulk counts rows, sent in batches of BATCH.
PHASES = {"create_sequential": 2_000, "create_4_clients": 2_000, "bulk": 100_000, "list": 200,
          "read": 1_000, "update": 1_000}
BATCH = 1_000
CLIENTS = 4
RECORDS = f"/api/v1/apps/{APP_KEY}/forms/deal/records"
LIST_FILTER = json.dumps({"all": [{"field": "stage", "op": "in", "value": ["won", "negotiation"]},
                                  {"field": "amount", "op": "gte", "value": 100_000}]})
# How long the backlog may take to drain before the run says so (not a speed limit).
DRAIN_LIMIT_SECONDS = 1800
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def run(env, scale: float = 1.0, **_options) -> dict:
    counts = {phase: max(2, round(n * scale)) for phase, n in PHASES.items()}
    counts["bulk"] = max(BATCH // 10, counts["bulk"])
    redis_url = os.environ.get("FORMLOOM_BENCH_REDIS_URL", "") if env.db == "postgres" else ""
    with env.app.app_context():
        company_ids = data.create_companies(env.actor(), env.runtime())
        version = server_version()
    with serve(env, redis_url) as server:
        client = Client(server.port, env.token)
        phases = {}
        rows = data.deals(counts["create_sequential"], company_ids, seed=11)
        phases["create_sequential"] = server.measure(lambda: _timed(
            [lambda row=row: client.send("POST", RECORDS, {"fields": row}, 201) for row in rows]))
        rows = data.deals(counts["create_4_clients"], company_ids, seed=12)
        phases["create_4_clients"] = server.measure(lambda: _parallel(server.port, env.token, [
            ("POST", RECORDS, {"fields": row}, 201) for row in rows]))
        rows = data.deals(counts["bulk"], company_ids, seed=13)
        batches = [rows[i:i + BATCH] for i in range(0, len(rows), BATCH)]
        phases["bulk"] = server.measure(lambda: _timed([
            lambda batch=batch: client.send("POST", f"{RECORDS}/bulk", {"records": [{"fields": r} for r in batch]}, 201)
            for batch in batches]))
        phases["bulk"]["rows_per_second"] = round(len(rows) / phases["bulk"]["seconds"], 1)
        drained = server.measure(lambda: _drain(env))
        query = urlencode({"filter": LIST_FILTER, "sort": "-amount", "limit": 50})
        phases["list"] = server.measure(lambda: _timed(
            [lambda: client.send("GET", f"{RECORDS}?{query}", None, 200)] * counts["list"]))
        ids = client.ids(counts["read"])
        phases["read"] = server.measure(lambda: _timed(
            [lambda i=i: client.send("GET", f"{RECORDS}/{i}", None, 200) for i in ids]))
        phases["update"] = server.measure(lambda: _timed(
            [lambda i=i, n=n: client.send("PATCH", f"{RECORDS}/{i}", {"fields": {"amount": 1_000 + n}}, 200)
             for n, i in enumerate(ids[:counts["update"]])]))
        memory = server.memory_mb()
    with env.app.app_context():
        stored = db.session.execute(sa.select(sa.func.count()).select_from(
            env.runtime().form_tables("deal").table)).scalar()
    return {
        "benchmark": NAME, "db": env.db, "scale": scale, "machine": report.machine(version),
        "params": {"server": f"formloom serve (gunicorn, {server.workers} workers)",
                   "jobs": "formloom worker (RQ)" if redis_url else "embedded runner in each web process",
                   "requests": counts, "bulk_batch": BATCH, "clients_in_parallel_phase": CLIENTS,
                   "list": {"filter": json.loads(LIST_FILTER), "sort": "-amount", "limit": 50}},
        "results": {"phases": phases, "backlog_after_bulk": drained, "stored": stored,
                    "web_rss_mb": memory},
    }


class Client:
    """One keep-alive connection to the server, sending JSON with the token."""

    def __init__(self, port: int, token: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def send(self, method: str, path: str, body, expect: int) -> dict:
        self.conn.request(method, path, body=None if body is None else json.dumps(body), headers=self.headers)
        resp = self.conn.getresponse()
        payload = resp.read()
        if resp.status != expect:
            raise RuntimeError(f"{method} {path} answered {resp.status}, not {expect}: {payload[:500]!r}")
        return json.loads(payload) if payload else {}

    def ids(self, n: int) -> list[int]:
        """The ids of `n` deals, newest first, spread over the whole table."""
        found, cursor = [], None
        while len(found) < n:
            query = {"limit": 200, "sort": "-$created_at", **({"cursor": cursor} if cursor else {})}
            page = self.send("GET", f"{RECORDS}?{urlencode(query)}", None, 200)
            found.extend(item["id"] for item in page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                break
        return found[:n]


def _timed(calls) -> dict:
    samples = []
    start = time.perf_counter()
    for call in calls:
        t0 = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1000)
    return _summary(samples, time.perf_counter() - start)


def _parallel(port: int, token: str, requests: list[tuple]) -> dict:
    """Send `requests` from CLIENTS connections at once, each taking the next one waiting."""
    samples: list[float] = []
    lock = threading.Lock()
    waiting = list(reversed(requests))
    failures: list[Exception] = []

    def worker():
        client = Client(port, token)
        while True:
            with lock:
                if not waiting or failures:
                    return
                request = waiting.pop()
            t0 = time.perf_counter()
            try:
                client.send(*request)
            except Exception as exc:  # noqa: BLE001 - reported after the run
                failures.append(exc)
                return
            with lock:
                samples.append((time.perf_counter() - t0) * 1000)

    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return _summary(samples, time.perf_counter() - start)


def _summary(samples: list[float], seconds: float) -> dict:
    return {"requests": len(samples), "seconds": round(seconds, 3),
            "per_second": round(len(samples) / seconds, 1), **report.latency(samples),
            "p99_ms": round(report.percentile(samples, 99), 2)}


def _drain(env) -> dict:
    """Wait until every outbox event is dispatched and every job has ended."""
    start = time.perf_counter()
    with env.app.app_context():
        while True:
            events = db.session.execute(sa.select(sa.func.count()).select_from(OutboxEvent).where(
                OutboxEvent.dispatched_at.is_(None))).scalar()
            jobs = db.session.execute(sa.select(sa.func.count()).select_from(Job).where(
                Job.status.in_(("queued", "running")))).scalar()
            db.session.rollback()
            waited = time.perf_counter() - start
            if (events == 0 and jobs == 0) or waited > DRAIN_LIMIT_SECONDS:
                return {"seconds": round(waited, 3), "events_left": events, "jobs_left": jobs,
                        "requests": 0}
            time.sleep(0.2)


class Server:
    def __init__(self, web: subprocess.Popen, worker: subprocess.Popen | None, port: int, workers: int):
        self.web, self.worker, self.port, self.workers = web, worker, port, workers

    def _web_pids(self) -> list[int]:
        return [self.web.pid, *_children(self.web.pid)]

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU used so far by the web processes and by the job worker."""
        web = sum(_cpu(pid) for pid in self._web_pids())
        jobs = sum(_cpu(pid) for pid in [self.worker.pid, *_children(self.worker.pid)]) if self.worker else 0.0
        return web, jobs

    def measure(self, phase) -> dict:
        """Run `phase`, adding the server CPU it cost (per request where it sent any)."""
        web0, jobs0 = self.cpu_seconds()
        result = phase()
        web1, jobs1 = self.cpu_seconds()
        result["server_cpu_seconds"] = round(web1 - web0, 2)
        result["worker_cpu_seconds"] = round(jobs1 - jobs0, 2)
        if result.get("requests"):
            result["server_cpu_ms_per_request"] = round((web1 - web0) * 1000 / result["requests"], 2)
        return result

    def memory_mb(self) -> list[float]:
        """Resident memory of each gunicorn worker (the master is left out)."""
        return sorted(round(_rss_kb(pid) / 1024, 1) for pid in _children(self.web.pid))


def _cpu(pid: int) -> float:
    """User + system CPU seconds of a live process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                found.append(int(entry.name))
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _formloom() -> str:
    beside = Path(sys.executable).parent / "formloom"
    return str(beside) if beside.exists() else shutil.which("formloom") or "formloom"


@contextmanager
def serve(env, redis_url: str):
    """`formloom serve` (and `formloom worker` with Redis) on the benchmark's instance."""
    port = _free_port()
    url = env.app.config["SQLALCHEMY_DATABASE_URI"]
    environ = {**os.environ, "FORMLOOM_INSTANCE": str(env.folder), "DATABASE_URL": url, "SECRET_KEY": "bench",
               "REDIS_URL": redis_url, "FORMLOOM_LOGIN_RATE_LIMIT": "100000 per minute"}
    log = open(env.folder / "server.log", "w")  # noqa: SIM115 - closed below
    web = subprocess.Popen([_formloom(), "serve", "--host", "127.0.0.1", "--port", str(port)],
                           env=environ, stdout=log, stderr=subprocess.STDOUT, cwd=env.folder)
    worker = None
    if redis_url:
        worker = subprocess.Popen([_formloom(), "worker"], env=environ, stdout=log, stderr=subprocess.STDOUT,
                                  cwd=env.folder)
    try:
        _wait_for(port, web, env.folder / "server.log")
        workers = len(_children(web.pid))
        yield Server(web, worker, port, workers)
    finally:
        for process in (web, worker):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
        log.close()


def _wait_for(port: int, web: subprocess.Popen, log: Path) -> None:
    """Until the server answers (or has exited, which is an error with its log)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise RuntimeError(f"formloom serve exited with {web.returncode}:\n{log.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/login")
            if conn.getresponse().status == 200:
                conn.close()
                time.sleep(0.5)  # let every worker finish importing before measuring
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"formloom serve did not answer on port {port}:\n{log.read_text()[-3000:]}")


def format_result(result: dict) -> str:
    r = result["results"]
    rows = []
    for name, phase in r["phases"].items():
        rows.append([name, phase["requests"], phase["per_second"], phase["p50_ms"], phase["p95_ms"], phase["p99_ms"],
                     phase.get("server_cpu_ms_per_request", 0.0), phase["worker_cpu_seconds"]])
    backlog = r["backlog_after_bulk"]
    return report.table(
        f"http: {result['params']['server']}, jobs by {result['params']['jobs']} ({result['db']}); "
        f"bulk {r['phases']['bulk']['rows_per_second']} rows/s; backlog drained in {backlog['seconds']} s; "
        f"web RSS MB {r['web_rss_mb']}",
        ["phase", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "server CPU ms/req", "worker CPU s"], rows)
