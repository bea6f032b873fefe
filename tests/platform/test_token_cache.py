"""Each process keeps verified tokens, memberships and published versions (platform/epoch.py);
a revoke, a deactivation or a membership change made through another process is obeyed on
the very next request. Two Flask apps on one database stand for two gunicorn workers: each
keeps its own cache, as each process does."""
from __future__ import annotations

import pytest

from support_formloom import Api, statements

RECORDS = "/api/v1/apps/sales_mini/forms/deal/records"


@pytest.fixture
def two_workers(any_db, client, app_with, make):
    """(worker A's client, worker B's client, the owner, a member of the app and their token)."""
    other = app_with()  # pushed last: `make` and `statements` now use worker B's engine
    owner = make.user("Owner", admin=True)
    member = make.user("Member")
    make.install(owner=owner, members=[member])
    token = make.token(member)
    return client, other.test_client(), owner, member, token


def _cached_in(worker, token: str) -> None:
    """Use the token on `worker` until it is kept there (the second use reads no token)."""
    api = Api(worker, token)
    assert api.get(RECORDS).status_code == 200
    with statements() as seen:
        assert api.get(RECORDS).status_code == 200
    assert not [s for s in seen if "api_tokens" in s], seen  # kept: the refusal below is the epoch's doing


def test_a_token_revoked_through_one_worker_is_refused_by_the_other_at_once(two_workers):
    worker_a, worker_b, _owner, _member, token = two_workers
    _cached_in(worker_b, token)
    api_a = Api(worker_a, token)
    own = api_a.get("/api/v1/tokens").get_json()["items"]
    assert api_a.delete(f"/api/v1/tokens/{own[0]['id']}").status_code == 204
    refused = Api(worker_b, token).get(RECORDS)
    assert refused.status_code == 401
    assert "not valid" in refused.get_json()["detail"]


def test_a_user_deactivated_through_one_worker_is_refused_by_the_other_at_once(two_workers, make):
    worker_a, worker_b, owner, member, token = two_workers
    _cached_in(worker_b, token)
    admin = Api(worker_a, make.token(owner))
    assert admin.post(f"/api/v1/users/{member.id}/deactivate").status_code == 200
    assert Api(worker_b, token).get(RECORDS).status_code == 401


def test_a_member_removed_through_one_worker_loses_the_app_on_the_other_at_once(two_workers, make):
    worker_a, worker_b, owner, member, token = two_workers
    _cached_in(worker_b, token)
    admin = Api(worker_a, make.token(owner))
    members = admin.get("/api/v1/apps/sales_mini/members").get_json()["items"]
    row = next(m for m in members if m.get("user") == member.id)
    assert admin.delete(f"/api/v1/apps/sales_mini/members/{row['id']}").status_code == 204
    assert Api(worker_b, token).get(RECORDS).status_code == 404  # outsiders are not told the app exists


def test_a_token_last_use_is_not_a_change_to_who_may_do_what(two_workers):
    """Noting a token's last use (once a minute) leaves every process's cache in place."""
    _worker_a, worker_b, _owner, _member, token = two_workers
    api = Api(worker_b, token)
    with statements() as seen:
        assert api.get(RECORDS).status_code == 200  # first use: verified, and its use noted
    assert any(s.startswith("UPDATE api_tokens") for s in seen), seen
    assert not any(s.startswith("UPDATE cache_epoch") for s in seen), seen
