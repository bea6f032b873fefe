"""The jobs page for organisation administrators: tabs with counts, filters, errors, retry and cancel."""
from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest
import sqlalchemy as sa

from formloom.platform import jobs
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import App, AuditEvent, Job, utcnow

RAN: list = []


@jobs.handler("test.page")
def _page_job(payload: dict):
    RAN.append(payload.get("n"))


@pytest.fixture
def app(app_with):
    """Eager jobs: a retried job runs inside the request that retried it."""
    RAN.clear()
    return app_with(FORMLOOM_JOBS_EAGER=True)


@pytest.fixture
def admin(make, auth):
    user = make.user("Ada Admin", admin=True)
    auth.login(user.email)
    return user


def add_job(status: str, kind: str = "test.page", ago: int = 60, **fields) -> Job:
    """A job row written directly, `ago` seconds old."""
    now = utcnow()
    values = {"run_at": now - timedelta(seconds=ago), "attempts": 0, "max_attempts": 5, **fields}
    with write_transaction():
        job = Job(id=secrets.token_hex(16), kind=kind, payload={"n": ago}, queue="default", status=status,
                  created_at=now - timedelta(seconds=ago), **values)
        db.session.add(job)
    return job


def shown(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return re.findall(r'data-job-id="([0-9a-f]+)"', response.get_data(as_text=True))


def count(response, tab: str) -> int:
    return int(re.search(rf'data-count="{tab}">(\d+)<', response.get_data(as_text=True)).group(1))


def status_of(job_id: str) -> str:
    return db.session.execute(sa.select(Job.status).where(Job.id == job_id)).scalar()


def test_tabs_count_and_filter_newest_first(any_db, client, admin):
    due = add_job("queued", ago=30)
    later = add_job("queued", ago=20, run_at=utcnow() + timedelta(hours=1))
    running = add_job("running", ago=40)
    failed = add_job("failed", ago=50, attempts=5, error="RuntimeError: boom")
    done = add_job("done", ago=10)
    cancelled = add_job("cancelled", ago=70)
    other = add_job("failed", kind="webhook.deliver", ago=5, error="ConnectionError: refused")

    page = client.get("/admin/jobs")
    assert shown(page) == [other.id, done.id, later.id, due.id, running.id, failed.id, cancelled.id]
    assert [count(page, t) for t in ("all", "due", "later", "running", "failed", "done", "cancelled")] == \
        [7, 1, 1, 1, 2, 1, 1]
    assert shown(client.get("/admin/jobs?status=due")) == [due.id]
    assert shown(client.get("/admin/jobs?status=later")) == [later.id]
    assert shown(client.get("/admin/jobs?status=failed")) == [other.id, failed.id]
    only_test = client.get("/admin/jobs?status=failed&kind=test.page")
    assert shown(only_test) == [failed.id] and count(only_test, "all") == 6  # counts follow the kind
    kept = client.get("/admin/jobs?status=due&kind=test.page").get_data(as_text=True)
    assert '<input type="hidden" name="kind" value="test.page">' in kept  # the action forms carry the filters
    assert shown(client.get("/admin/jobs?status=nonsense")) == shown(page)  # unknown tab: all
    empty = client.get("/admin/jobs?kind=no.such.kind")
    assert shown(empty) == [] and "No jobs here" in empty.get_data(as_text=True)


def test_error_app_retrying_and_attempts_are_shown(client, admin):
    with write_transaction():
        crm = App(key="crm", name="Customer CRM")
        db.session.add(crm)
    failed = add_job("failed", attempts=5, app_id=crm.id,
                     error="Traceback line one: it broke\nsecond line with details")
    retrying = add_job("queued", attempts=2, run_at=utcnow() + timedelta(minutes=5), error="TimeoutError: slow")
    html = client.get("/admin/jobs").get_data(as_text=True)
    failed_row = html[html.index(f'data-job-id="{failed.id}"'):].split("</tr>")[0]
    assert "Customer CRM" in failed_row and "5 of 5" in failed_row
    assert "<details>" in failed_row and "Traceback line one: it broke</summary>" in failed_row
    assert "second line with details" in failed_row and "Retry" in failed_row and "Cancel job" not in failed_row
    retry_row = html[html.index(f'data-job-id="{retrying.id}"'):].split("</tr>")[0]
    assert 'data-status="retrying"' in retry_row and "Retrying" in retry_row and "Next run" in retry_row
    assert "TimeoutError: slow" in retry_row and "Cancel job" in retry_row and "2 of 5" in retry_row


def test_retry_runs_a_failed_job_again_and_keeps_the_filters(any_db, client, admin):
    failed = add_job("failed", attempts=5, error="RuntimeError: boom")
    response = client.post(f"/admin/jobs/{failed.id}/retry", data={"status": "failed", "kind": "test.page",
                                                                     "was": "failed"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/jobs?status=failed&kind=test.page")
    assert status_of(failed.id) == "done" and RAN == [60]  # eager: it ran at once, and passed this time
    line = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "job")).scalar_one()
    assert (line.object_id, line.detail) == (failed.id, "retried")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The job is queued again" in page


def test_cancel_a_queued_job(client, admin):
    later = add_job("queued", run_at=utcnow() + timedelta(hours=1))
    response = client.post(f"/admin/jobs/{later.id}/cancel", data={"status": "later"})
    assert response.headers["Location"].endswith("/admin/jobs?status=later")
    assert status_of(later.id) == "cancelled" and RAN == []
    assert "The job is cancelled" in client.get("/admin/jobs").get_data(as_text=True)


def test_a_job_that_changed_meanwhile_gets_a_warning(client, admin):
    done = add_job("done")
    response = client.post(f"/admin/jobs/{done.id}/retry", data={"was": "failed"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "This job is no longer failed: it is done now" in html and "alert-warning" in html
    assert status_of(done.id) == "done"
    running = add_job("running")
    html = client.post(f"/admin/jobs/{running.id}/cancel", follow_redirects=True).get_data(as_text=True)
    assert "This job is no longer queued: it is running now" in html and status_of(running.id) == "running"
    html = client.post("/admin/jobs/0000/cancel", follow_redirects=True).get_data(as_text=True)
    assert "This job no longer exists" in html


def test_keyset_paging_by_created_at_and_id(any_db, client, admin):
    made = [add_job("done", ago=i) for i in range(1, 56)]
    first = client.get("/admin/jobs?status=done")
    assert shown(first) == [j.id for j in made[:50]]
    next_url = re.search(r'href="([^"]+)" rel="next"', first.get_data(as_text=True)).group(1).replace("&amp;", "&")
    assert "status=done" in next_url
    assert shown(client.get(next_url)) == [j.id for j in made[50:]]


def test_non_admins_get_403_and_no_nav_link(client, make, auth):
    carl = make.user("Carl")
    job = add_job("queued")
    auth.login(carl.email)
    assert client.get("/admin/jobs").status_code == 403
    assert client.post(f"/admin/jobs/{job.id}/cancel").status_code == 403
    assert status_of(job.id) == "queued"
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "/admin/jobs" not in home


def test_nav_link_for_admins(client, admin):
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert 'href="/admin/jobs"' in home
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert re.search(r'class="nav-link active" href="/admin/jobs" aria-current="page"', page)
    assert "No jobs yet" in page
