"""Background work outside requests: `formloom worker` (RQ on Redis) and the embedded ticker.

Both run `outbox.tick()` every few seconds: outbox events become jobs, jobs whose worker
died are revived, and every due job is handed to the runner again (harmless twice: claims
are conditional). That is what makes a SIGKILLed worker or a Redis that restarted empty
lose nothing.
"""
from __future__ import annotations

import logging
import threading

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from formloom.platform import jobs, outbox
from formloom.platform.extensions import db

log = logging.getLogger(__name__)
TICK_SECONDS = 2.0


def _tick(app: Flask) -> None:
    with app.app_context():
        try:
            outbox.tick()
        except Exception:  # noqa: BLE001 - the next tick tries again; say why in the log
            log.exception("background tick failed")
        finally:
            db.session.remove()


class Ticker(threading.Thread):
    """Calls `outbox.tick()` every `seconds` until stopped."""

    def __init__(self, app: Flask, seconds: float = TICK_SECONDS):
        super().__init__(name="formloom-ticker", daemon=True)
        self.app, self.seconds = app, seconds
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
    ticker = Ticker(app, float(app.config.get("FORMLOOM_TICK_SECONDS", TICK_SECONDS)))
    ticker.start()
    return ticker


@click.command("worker")
@click.option("--burst", is_flag=True, help="run what is queued, then stop")
@click.option("--queues", default=",".join(jobs.QUEUES), show_default=True, help="queues to listen to, in order")
@with_appcontext
def worker_command(burst: bool, queues: str) -> None:
    """Run an RQ worker (with RQ's scheduler) and the outbox ticker, on REDIS_URL."""
    from redis import Redis
    from rq import Queue, Worker

    app = current_app._get_current_object()
    if not app.config.get("REDIS_URL"):
        raise click.UsageError("REDIS_URL is not set: without Redis, jobs run inside the web processes "
                               "and no worker is needed")
    names = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = sorted(set(names) - set(jobs.QUEUES))
    if unknown:
        raise click.UsageError(f"unknown queues: {', '.join(unknown)}; known: {', '.join(jobs.QUEUES)}")
    jobs._worker_app = app
    redis = Redis.from_url(app.config["REDIS_URL"])
    _tick(app)  # before listening: what was lost while no worker ran is queued again
    ticker = None if burst else Ticker(app, float(app.config.get("FORMLOOM_TICK_SECONDS", TICK_SECONDS)))
    if ticker:
        ticker.start()
    try:
        Worker([Queue(n, connection=redis) for n in names], connection=redis).work(with_scheduler=not burst,
                                                                                   burst=burst)
    finally:
        if ticker:
            ticker.stop()
