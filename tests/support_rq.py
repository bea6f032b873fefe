"""RQ on a Redis of the test's own, and `formloom worker --burst` in a subprocess."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from support_formloom import REDIS_URL


@pytest.fixture
def redis_server(tmp_path):
    """A Redis of this test's own on a free port (it is restarted empty below)."""
    import shutil
    import socket

    binary = shutil.which("redis-server")
    if not REDIS_URL or binary is None:
        pytest.skip("RQ tests need FORMLOOM_TEST_REDIS_URL and redis-server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def start():
        proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                                 "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
        from redis import Redis
        client = Redis(port=port)
        for _ in range(200):
            try:
                client.ping()
                break
            except Exception:  # noqa: BLE001 - not up yet
                import time
                time.sleep(0.02)
        return proc

    server = {"url": f"redis://127.0.0.1:{port}/0", "proc": start(), "start": start}
    yield server
    server["proc"].terminate()
    server["proc"].wait(5)


def worker_env(app, redis_url: str, **extra) -> dict:
    tests_dir = os.path.dirname(os.path.abspath(__file__))
    return {**os.environ, **extra, "FORMLOOM_INSTANCE": app.config["FORMLOOM_INSTANCE"],
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": redis_url,
            "SECRET_KEY": "test", "FORMLOOM_JOB_MODULES": "jobs_fixture_handlers",
            "PYTHONPATH": os.pathsep.join([tests_dir, os.environ.get("PYTHONPATH", "")])}


WORKER = [sys.executable, "-c", "from formloom.cli import main; main()", "worker", "--burst"]


def burst(app, redis_url: str, **extra) -> subprocess.CompletedProcess:
    """`formloom worker --burst`: run what is queued on Redis, then stop."""
    return subprocess.run(WORKER, env=worker_env(app, redis_url, **extra), capture_output=True, text=True,
                          timeout=120)
