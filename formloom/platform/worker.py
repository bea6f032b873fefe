"""Background work outside requests: `formloom worker` (RQ on Redis) and the embedded ticker.

Both run `outbox.tick()` every FORMLOOM_TICK_SECONDS: outbox events become jobs and due
jobs not handed over yet go to the runner; every FORMLOOM_RECONCILE_SECONDS the reconciler
revives jobs whose heartbeat stopped and hands over again what Redis lost. That is what makes
a SIGKILLed worker or a Redis that restarted empty lose nothing.

A worker outlives Redis: when the connection breaks it says so once, waits (1 s, doubling up
to 30 s), connects again and goes on; the ticker keeps trying meanwhile.
"""
from __future__ import annotations

import logging
import threading
import time

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from formloom.platform import jobs, outbox
from formloom.platform.extensions import db

log = logging.getLogger(__name__)
RECONNECT_MAX_SECONDS = 30.0


def _tick(app: Flask, reconcile: bool | None = None) -> None:
    with app.app_context():
        try:
            outbox.tick(reconcile)
        except Exception as exc:  # noqa: BLE001 - the next tick tries again; say why in the log (once)
            if _is_connection_error(exc):
                jobs.handover_failed(exc, 0)
            else:
                log.exception("background tick failed")
        else:
            jobs.handover_ok()
        finally:
            db.session.remove()


def _is_connection_error(exc: BaseException) -> bool:
    from redis.exceptions import (
        ConnectionError as RedisConnectionError,  # loaded only with REDIS_URL (the in-process runner needs neither)
    )
    from redis.exceptions import (
        TimeoutError as RedisTimeoutError,  # loaded only with REDIS_URL (the in-process runner needs neither)
    )

    return isinstance(exc, (RedisConnectionError, RedisTimeoutError))


def tick_seconds(app: Flask) -> float:
    with app.app_context():
        return float(jobs.setting("FORMLOOM_TICK_SECONDS"))


class Ticker(threading.Thread):
    """Calls `outbox.tick()` every `seconds` until stopped."""

    def __init__(self, app: Flask, seconds: float | None = None):
        super().__init__(name="formloom-ticker", daemon=True)
        self.app, self.seconds = app, seconds or tick_seconds(app)
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.seconds):
            _tick(self.app)

    def stop(self) -> None:
        self.stopped.set()


def start_embedded(app: Flask) -> Ticker | None:
    """Without Redis, a ticker thread in this process runs what is due (not under tests)."""
    if app.config.get("REDIS_URL") or app.testing or not app.config.get("FORMLOOM_TICKER", True):
        return None
    ticker = Ticker(app)
    ticker.start()
    return ticker


@click.command("worker")
@click.option("--burst", is_flag=True, help="run what is queued, then stop")
@click.option("--fork/--no-fork", default=False, show_default=True,
              help="run each job in a forked work horse (RQ's default: isolation, at a fork and new "
                   "database connections per job) or in the worker itself")
@click.option("--queues", default=",".join(jobs.QUEUES), show_default=True, help="queues to listen to, in order")
@with_appcontext
def worker_command(burst: bool, fork: bool, queues: str) -> None:
    """Run an RQ worker and the outbox ticker, on REDIS_URL."""
    app = current_app._get_current_object()
    if not app.config.get("REDIS_URL"):
        raise click.UsageError("REDIS_URL is not set: without Redis, jobs run inside the web processes "
                               "and no worker is needed")
    names = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = sorted(set(names) - set(jobs.QUEUES))
    if unknown:
        raise click.UsageError(f"unknown queues: {', '.join(unknown)}; known: {', '.join(jobs.QUEUES)}")
    jobs._worker_app = app
    _tick(app, reconcile=True)  # before listening: what was lost while no worker ran is queued again
    ticker = None if burst else Ticker(app)
    if ticker:
        ticker.start()
    try:
        work(app, names, burst, fork)
    finally:
        if ticker:
            ticker.stop()


def _burst_worker(base):
    class BurstWorker(base):
        """No command channel: RQ's listener thread can hold a burst's exit up to a minute."""

        def subscribe(self):
            pass

        def unsubscribe(self):
            pass

    return BurstWorker


def work(app: Flask, names: list[str], burst: bool, fork: bool = False) -> None:
    """Run RQ's worker; when Redis goes away, say so once, reconnect with backoff and go on."""
    from redis import Redis  # loaded only with REDIS_URL (the in-process runner needs neither)
    from rq import (  # loaded only with REDIS_URL (the in-process runner needs neither)
        Queue,
        SimpleWorker,
        Worker,
    )

    base = Worker if fork else SimpleWorker  # SimpleWorker: jobs run in this process, one after another
    BurstWorker = _burst_worker(base)  # noqa: N806 - a class
    wait, down_since = 1.0, None
    while True:
        try:
            redis = Redis.from_url(app.config["REDIS_URL"], health_check_interval=30)
            redis.ping()
            if down_since is not None:
                log.warning("Redis is back after %.0f s; the worker goes on", time.monotonic() - down_since)
                down_since, wait = None, 1.0
            kind = BurstWorker if burst else base
            kind([Queue(n, connection=redis) for n in names], connection=redis).work(burst=burst)
            return
        except Exception as exc:
            if not _is_connection_error(exc):
                raise
            if down_since is None:
                down_since = time.monotonic()
                log.warning("Redis is unreachable (%s); the worker reconnects every %.0f s at most until it is back",
                            exc, RECONNECT_MAX_SECONDS)
            time.sleep(wait)
            wait = min(wait * 2, RECONNECT_MAX_SECONDS)
