"""Rate limits hold across processes (counted in the database without Redis), per client
address and per account, on every endpoint that takes a guessable secret; sign-in takes as
long for an unknown email as for a known one."""
import json
import os
import subprocess
import sys
import time
import uuid

import pytest
import sqlalchemy as sa

from formloom.platform import auth, ratelimit
from formloom.platform.extensions import db
from formloom.platform.models import RateLimitCounter

from support_formloom import REDIS_URL, Factory

# One app instance in its own process, on the test's database, with the production storage
# (no RATELIMIT_STORAGE_URI given: what load_config chooses without Redis). It waits for a
# line on stdin, so every process starts its attempts at the same moment.
CHILD = r"""
import json, sys
from formloom import create_app
from formloom.platform.extensions import limiter
uri, folder, prefix, email, n = sys.argv[1:6]
app = create_app({"TESTING": True, "FORMLOOM_INSTANCE": folder, "SQLALCHEMY_DATABASE_URI": uri,
                  "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False, "RATELIMIT_KEY_PREFIX": prefix,
                  "LOGIN_RATE_LIMIT": "5 per hour", "FORMLOOM_LOGIN_ACCOUNT_LIMIT": "1000 per hour",
                  "FORMLOOM_PASSWORD_METHOD": "pbkdf2:sha256:1000"})
client = app.test_client()
client.get("/login")
print("ready", flush=True)
sys.stdin.readline()
codes = [client.post("/login", data={"email": email, "password": "wrong"}).status_code for _ in range(int(n))]
with app.app_context():
    counts = [limiter.storage.incr(prefix, 3600) for _ in range(40)]
print(json.dumps({"codes": codes, "counts": counts}), flush=True)
"""


def _in_processes(app, email: str, n: int, processes: int = 3) -> list[dict]:
    """Run CHILD in `processes` separate processes at once; what each returned."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "FORMLOOM_INSTANCE")}
    prefix = f"fl-test-{uuid.uuid4().hex}"
    args = [sys.executable, "-c", CHILD, app.config["SQLALCHEMY_DATABASE_URI"], app.config["FORMLOOM_INSTANCE"],
            prefix, email, str(n)]
    db.session.commit()
    procs = [subprocess.Popen(args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(processes)]
    try:
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()[-3000:]
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err[-3000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()


def test_the_sign_in_limit_holds_across_processes(any_db, app, make):
    user = make.user("Pam")
    runs = _in_processes(app, user.email, 6)  # three processes, 18 wrong passwords, limit 5
    codes = [c for run in runs for c in run["codes"]]
    assert codes.count(401) == 5 and codes.count(429) == 13, runs
    # Each process then adds 40 to one counter at once: no two increments saw the same count.
    assert sorted(c for run in runs for c in run["counts"]) == list(range(1, 121))


def _limited(app_with, **config):
    return app_with(RATELIMIT_ENABLED=True, RATELIMIT_KEY_PREFIX=f"fl-test-{uuid.uuid4().hex}",
                    BABEL_DEFAULT_LOCALE="en", **config)


@pytest.mark.parametrize("storage", ["database", pytest.param("redis", marks=pytest.mark.redis)])
def test_sign_in_attempts_are_rate_limited(app_with, storage):
    extra = {"RATELIMIT_STORAGE_URI": REDIS_URL} if storage == "redis" else {}  # Redis outlives runs: prefix
    flask_app = _limited(app_with, LOGIN_RATE_LIMIT="3 per minute", **extra)
    user = Factory(flask_app).user("Rita")
    client = flask_app.test_client()
    codes = [client.post("/login", data={"email": user.email, "password": "bad"}).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    # the right password is refused too until the window passes, and the page says when
    refused = client.post("/login", data={"email": user.email, "password": "secret-pass-1"})
    assert refused.status_code == 429
    assert "try again in 1 minute." in refused.get_data(as_text=True)
    chinese = client.post("/login", data={"email": user.email, "password": "bad"}, headers={"Accept-Language": "zh-CN"})
    assert "请在 1 分钟后再试" in chinese.get_data(as_text=True)


def _from(address: str) -> dict:
    return {"REMOTE_ADDR": address}


def test_one_account_is_limited_whatever_the_address_but_not_locked_for_ever(any_db, app_with, monkeypatch):
    flask_app = _limited(app_with, LOGIN_RATE_LIMIT="100 per hour", FORMLOOM_LOGIN_ACCOUNT_LIMIT="3 per 15 minutes")
    user = Factory(flask_app).user("Vic")
    owner = flask_app.test_client()  # the person's own browser, signed in before
    assert owner.post("/login", data={"email": user.email, "password": "secret-pass-1"},
                      environ_base=_from("198.51.100.7")).status_code == 302
    owner.post("/logout")
    attacker = flask_app.test_client()
    codes = [attacker.post("/login", data={"email": user.email.upper() if i % 2 else user.email, "password": "guess"},
                           environ_base=_from(f"203.0.113.{i}")).status_code for i in range(3)]
    assert codes == [401, 401, 429]  # the owner's sign-in counted once
    stranger = flask_app.test_client()
    page = stranger.post("/login", data={"email": user.email, "password": "secret-pass-1"},
                         environ_base=_from("192.0.2.1"))
    assert page.status_code == 429
    assert "try again in 15 minutes" in page.get_data(as_text=True)
    # The owner's browser is not locked out by the guessing, and its attempts count apart.
    assert owner.post("/login", data={"email": user.email, "password": "secret-pass-1"},
                      environ_base=_from("198.51.100.7")).status_code == 302
    # An unknown email is limited the same way: the answer does not tell who has an account.
    nobody = [attacker.post("/login", data={"email": "nobody@example.com", "password": "x"},
                            environ_base=_from(f"203.0.113.{50 + i}")).status_code for i in range(4)]
    assert nobody == [401, 401, 401, 429]
    # The window passes: the lock lifts by itself.
    later = time.time() + 15 * 60 + 1
    monkeypatch.setattr(ratelimit, "now", lambda: later)
    assert stranger.post("/login", data={"email": user.email, "password": "secret-pass-1"},
                         environ_base=_from("192.0.2.1")).status_code == 302


def test_a_forged_device_cookie_gets_no_pass(app_with):
    flask_app = _limited(app_with, LOGIN_RATE_LIMIT="100 per hour", FORMLOOM_LOGIN_ACCOUNT_LIMIT="2 per 15 minutes")
    user = Factory(flask_app).user("Wes")
    client = flask_app.test_client()
    client.set_cookie(auth.DEVICE_COOKIE, '{"account": "x", "device": "mine"}')
    codes = [client.post("/login", data={"email": user.email, "password": "guess"}).status_code for _ in range(3)]
    assert codes == [401, 401, 429]


def test_guessing_api_tokens_is_limited_and_valid_tokens_still_work(any_db, app_with):
    flask_app = _limited(app_with, FORMLOOM_SECRET_RATE_LIMIT="3 per hour")
    user = Factory(flask_app).user("Tia")
    token = Factory(flask_app).token(user)
    client = flask_app.test_client()
    codes = [client.get("/api/v1/apps", headers={"Authorization": f"Bearer flt_guess{i}"}).status_code
             for i in range(4)]
    assert codes == [401, 401, 401, 429]
    refused = client.get("/api/v1/apps", headers={"Authorization": "Bearer flt_more"})
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert client.get("/api/v1/apps", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    # Invitation links share the budget: guessing there instead gains nothing.
    assert client.get("/invite/some-guess").status_code == 429


def test_guessing_invitation_links_is_limited_and_real_ones_still_open(any_db, app_with):
    flask_app = _limited(app_with, FORMLOOM_SECRET_RATE_LIMIT="3 per hour")
    make = Factory(flask_app)
    from formloom.platform import org

    _user, link_token = org.create_user(make.actor(make.user("Admin", admin=True)),
                                        {"email": "new@example.com", "name": "New"})
    client = flask_app.test_client()
    codes = [client.get(f"/invite/guess{i}").status_code for i in range(3)]
    codes.append(client.post("/invite/guess9", data={"password": "x" * 10, "confirm": "x" * 10}).status_code)
    assert codes == [410, 410, 410, 429]
    assert client.get(f"/invite/{link_token}").status_code == 200


def test_expired_counters_are_removed(app_with, monkeypatch):
    flask_app = _limited(app_with, LOGIN_RATE_LIMIT="3 per minute")
    client = flask_app.test_client()
    client.post("/login", data={"email": "a@example.com", "password": "x"})
    assert _counters() == 2  # per address, per account
    assert ratelimit.purge_expired() == 0
    later = time.time() + 16 * 60
    monkeypatch.setattr(ratelimit, "now", lambda: later)
    assert ratelimit.purge_expired() == 2
    assert _counters() == 0


def _counters() -> int:
    db.session.rollback()  # a fresh look: the counters are written on their own connections
    return db.session.execute(sa.select(sa.func.count()).select_from(RateLimitCounter)).scalar()


def test_an_unknown_email_costs_the_same_password_check_as_a_known_one(client, make, monkeypatch):
    checked = []
    real = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash", lambda stored, given: checked.append(stored.split("$")[0])
                        or real(stored, given))
    known = make.user("Kim")
    invited = make.user("Ivy", password=None)
    gone = make.user("Gus", active=False)
    for email in (known.email, "nobody@example.com", invited.email, gone.email):
        checked.clear()
        assert client.post("/login", data={"email": email, "password": "wrong-password"}).status_code == 401
        assert checked == ["pbkdf2:sha256:1000"], email  # one check, as slow as a real one
    checked.clear()
    assert client.post("/login", data={"email": gone.email, "password": "secret-pass-1"}).status_code == 401
    assert client.post("/login", data={"email": known.email, "password": "secret-pass-1"}).status_code == 302
    assert checked == ["pbkdf2:sha256:1000"] * 2
