"""The automation pages (/a/<app>/automations, its run history, run now, retry) and their API."""
from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from formloom.platform import jobs, outbox
from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import AutomationRun, Job, utcnow
from formloom.runtime.automations import engine
from formloom.runtime.records import service as records

from support_formloom import DATA, browser

KEY = "sales_mini"
LIST = f"/a/{KEY}/automations"
API = f"/api/v1/apps/{KEY}/automations"
SYSTEM = Actor.system()

TOUCH = {"key": "touch", "name": "Touch the company",
         "trigger": {"on": "record_created", "form": "follow_up"},
         "actions": [{"type": "update_records", "form": "company",
                      "where": {"field": "$id", "op": "eq", "value": {"var": "record.company"}},
                      "set": {"note": {"var": "record.summary"}}}]}
# The deal it creates has no company (required): the second action fails, the first is rolled back.
BAD = {"key": "bad", "name": "Open a deal",
       "trigger": {"on": "record_created", "form": "follow_up"},
       "actions": [{"type": "update_records", "form": "company",
                    "where": {"field": "$id", "op": "eq", "value": {"var": "record.company"}},
                    "set": {"note": "touched"}},
                   {"type": "create_record", "form": "deal", "values": {"title": {"var": "record.summary"}}}]}
WEEKLY = {"key": "weekly", "name": "Weekly reminder", "trigger": {"on": "schedule", "cron": "0 9 * * 1"},
          "actions": [{"type": "notify", "to": [{"app_admins": True}], "title": "Review the open deals"}]}


@pytest.fixture
def app(app_with):
    return app_with(FORMLOOM_JOBS_EAGER=True)


def definition(automations) -> dict:
    defn = json.loads((DATA / "sales-mini.json").read_text("utf-8"))
    next(f for f in defn["forms"] if f["key"] == "company")["fields"].append(
        {"key": "note", "type": "text", "label": "Note"})
    defn["forms"].append({"key": "follow_up", "name": "Follow-up", "fields": [
        {"key": "company", "type": "link", "form": "company", "label": "Company", "required": True},
        {"key": "summary", "type": "text", "label": "Summary"}]})
    defn["automations"] = automations
    return defn


@pytest.fixture
def owner(make):
    return make.user("Owner")


@pytest.fixture
def member(make):
    return make.user("Member")


@pytest.fixture
def rt(make, owner, member):
    return make.install(definition([TOUCH, BAD, WEEKLY]), owner=owner, members=[member])


@pytest.fixture
def olga(app, owner, rt):
    return browser(app, owner)


def said(text: str) -> str:
    """HTML as a reader reads it: tags removed, spaces squeezed."""
    text = re.sub(r"<script.*?</script>|<style.*?</style>", " ", text, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text))).strip()


def page(resp) -> str:
    return said(resp.get_data(as_text=True))


def part(resp, tag: str, attr: str, value) -> str:
    """What a reader reads in the element <tag attr="value">."""
    found = re.search(rf'<{tag}[^>]*{attr}="{value}"[^>]*>(.*?)</{tag}>', resp.get_data(as_text=True), flags=re.S)
    assert found, f"no <{tag} {attr}={value}>"
    return said(found.group(1))


def settle() -> None:
    for _ in range(20):
        if not outbox.dispatch():
            return
    raise AssertionError("events keep coming")


def follow_up(rt, summary="Called"):
    """A company and a follow-up on it, with the automations it starts run."""
    acme = records.create(SYSTEM, rt, "company", {"name": f"Acme {summary}"})
    made = records.create(SYSTEM, rt, "follow_up", {"company": acme["id"], "summary": summary})
    settle()
    db.session.rollback()
    return acme, made


def runs(key: str) -> list[AutomationRun]:
    db.session.rollback()
    return list(db.session.execute(sa.select(AutomationRun).where(AutomationRun.automation_key == key)
                                   .order_by(AutomationRun.id)).scalars())


def run_job(rt, key: str, slot: str) -> Job:
    return db.session.execute(sa.select(Job).where(Job.dedupe_key == f"automation:{rt.app_id}:{key}:{slot}")).scalar()


def exhaust(rt, key: str, slot: str) -> Job:
    """Let a failing run's job use up its attempts (the clock moves on: each retry is due)."""
    job = run_job(rt, key, slot)
    for _ in range(engine.MAX_ATTEMPTS - 1):
        db.session.execute(sa.update(Job).where(Job.id == job.id).values(run_at=utcnow()))
        db.session.commit()
        jobs.run_job(job.id)
    db.session.refresh(job)
    assert job.status == "failed"
    return job


def insert_runs(rt, key: str, statuses) -> None:
    at = utcnow() - timedelta(days=3)
    db.session.execute(sa.insert(AutomationRun), [
        {"app_id": rt.app_id, "automation_key": key, "slot": f"cron:test-{i}", "trigger": "schedule",
         "status": status, "attempts": 1, "depth": 0, "results": [], "started_at": at + timedelta(minutes=i),
         "finished_at": at + timedelta(minutes=i)} for i, status in enumerate(statuses)])
    db.session.commit()


# --- the list -------------------------------------------------------------------------------

def test_the_list_says_what_each_automation_does_and_how_its_runs_went(olga, rt):
    resp = olga.get(LIST)
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert re.search(rf'class="nav-link active" href="{LIST}" aria-current="page"', body)
    touch = part(resp, "section", "data-automation", "touch")
    assert "Touch the company" in touch and "On" in touch
    assert "When a Follow-up record is created" in touch and "Update the matching Company records" in touch
    assert "Not run yet" in touch
    weekly = part(resp, "section", "data-automation", "weekly")
    assert 'On the schedule "0 9 * * 1"' in weekly and "Notify: Review the open deals" in weekly
    assert re.findall(r'data-run-now="(\w+)"', body) == ["weekly"]  # only a schedule without records

    follow_up(rt)
    resp = olga.get(LIST)
    assert re.search(r"Last run Done .* Runs, last 24 h 1 Failures, last 24 h 0", part(
        resp, "section", "data-automation", "touch"))
    bad = part(resp, "section", "data-automation", "bad")
    assert re.search(r"Last run Failed .*action 2 \(create_record\) failed: .*company.* Runs, last 24 h 1 "
                     r"Failures, last 24 h 1", bad), bad


def test_without_automations_the_list_says_where_they_come_from(make, owner, app):
    make.install("sales-mini", owner=owner)
    resp = browser(app, owner).get(LIST)
    assert resp.status_code == 200
    text = page(resp)
    assert "No automations yet" in text and "“automations” list" in text and "For example" in text
    assert "data-automation=" not in resp.get_data(as_text=True)


# --- a run history --------------------------------------------------------------------------

def test_the_history_shows_what_each_action_did_and_why_a_run_failed(olga, rt):
    _acme, made = follow_up(rt, "Demo booked")
    [done] = runs("touch")
    resp = olga.get(f"{LIST}/touch")
    assert resp.status_code == 200
    row = part(resp, "tr", "data-run", done.id)
    assert row.startswith(f"Done #{done.id} 1 attempt")
    assert f"A record was added (event #{done.event_id}) Follow-up #{made['id']}" in row
    assert "Update the matching Company records Updated 1 of 1 matched" in row
    assert f'href="/a/{KEY}/f/follow_up/r/{made["id"]}"' in resp.get_data(as_text=True)
    assert "data-retry" not in resp.get_data(as_text=True)

    [failed] = runs("bad")
    resp = olga.get(f"{LIST}/bad")
    row = part(resp, "tr", "data-run", failed.id)
    error = said(re.search(r"<div[^>]*data-run-error>(.*?)</div>", resp.get_data(as_text=True), flags=re.S).group(1))
    assert error.startswith("action 2 (create_record) failed:") and "company" in error
    assert "Update the matching Company records Rolled back: a later action failed" in row
    assert re.search(r"Create a Deal record Failed: .*company", row)
    assert "Retry" in row


def test_the_history_filters_by_status_and_pages_back(olga, rt):
    insert_runs(rt, "weekly", ["done"] * 53 + ["failed", "stopped"])
    everything = runs("weekly")
    first = olga.get(f"{LIST}/weekly")
    ids = [int(i) for i in re.findall(r'<tr data-run="(\d+)"', first.get_data(as_text=True))]
    assert ids == [r.id for r in reversed(everything)][:50]  # newest first
    nxt = re.search(r'href="([^"]*before=(\d+))" rel="next"', html.unescape(first.get_data(as_text=True)))
    assert nxt and int(nxt.group(2)) == ids[-1]
    second = olga.get(nxt.group(1))
    ids2 = [int(i) for i in re.findall(r'<tr data-run="(\d+)"', second.get_data(as_text=True))]
    assert ids2 == [r.id for r in reversed(everything)][50:]
    assert 'rel="next"' not in second.get_data(as_text=True) and "Newest" in page(second)

    failed = olga.get(f"{LIST}/weekly?status=failed")
    assert [int(i) for i in re.findall(r'<tr data-run="(\d+)"', failed.get_data(as_text=True))] == [everything[53].id]
    assert 'aria-current="page">Failed</a>' in failed.get_data(as_text=True)
    stopped = olga.get(f"{LIST}/weekly?status=stopped")
    assert re.findall(r'<tr data-run="(\d+)"', stopped.get_data(as_text=True)) == [str(everything[54].id)]
    assert "No runs with this status" in page(olga.get(f"{LIST}/touch?status=failed"))
    assert "No runs yet" in page(olga.get(f"{LIST}/touch"))
    assert olga.get(f"{LIST}/weekly?status=exploded").status_code == 422
    assert olga.get(f"{LIST}/nope").status_code == 404


def test_retry_queues_a_failed_run_again(olga, rt):
    follow_up(rt)
    [failed] = runs("bad")
    job = exhaust(rt, "bad", failed.slot)
    resp = olga.post(f"{LIST}/bad/runs/{failed.id}/retry", follow_redirects=True)
    assert resp.request.path == f"{LIST}/bad"
    assert f"Run #{failed.id} is queued again" in page(resp)
    db.session.refresh(job)
    # Queued again with fresh attempts; it ran at once (eager jobs), failed again and waits to retry.
    assert (job.status, job.attempts) == ("queued", 1)
    [again] = runs("bad")
    assert (again.status, again.attempts) == ("failed", engine.MAX_ATTEMPTS + 1)

    [done] = runs("touch")
    resp = olga.post(f"{LIST}/touch/runs/{done.id}/retry", follow_redirects=True)
    assert f"Run #{done.id} is not waiting for a retry" in page(resp)


def test_retry_runs_a_run_waiting_out_its_backoff_at_once(olga, rt):
    follow_up(rt)
    [failed] = runs("bad")
    assert failed.attempts == 1  # its job waits a while before the second attempt
    resp = olga.post(f"{LIST}/bad/runs/{failed.id}/retry", follow_redirects=True)
    assert f"Run #{failed.id} is queued again" in page(resp)
    [again] = runs("bad")
    assert (again.status, again.attempts) == ("failed", 2)


def test_run_now_runs_a_schedule(olga, rt, owner):
    resp = olga.post(f"{LIST}/weekly/run", follow_redirects=True)
    assert resp.request.path == f"{LIST}/weekly"
    assert "“Weekly reminder” is running now" in page(resp)
    [run] = runs("weekly")
    assert run.status == "done" and run.slot.startswith("manual:")
    row = part(resp, "tr", "data-run", run.id)
    assert "Run now by an administrator" in row and "Notify: Review the open deals Notified 1 person" in row

    resp = olga.post(f"{LIST}/touch/run", follow_redirects=True)
    assert "Only a schedule that does not go through records can be run by hand" in page(resp)
    assert runs("touch") == []


# --- who may ----------------------------------------------------------------------------------

def test_members_are_refused_and_outsiders_do_not_see_the_app(app, make, rt, member, api_as):
    follow_up(rt)
    [failed] = runs("bad")
    them = browser(app, member)
    for url in (LIST, f"{LIST}/bad"):
        assert them.get(url).status_code == 403
    assert them.post(f"{LIST}/weekly/run").status_code == 403
    assert them.post(f"{LIST}/bad/runs/{failed.id}/retry").status_code == 403
    assert api_as(member).get(API).status_code == 403
    assert api_as(member).post(f"{API}/weekly/run").status_code == 403
    assert runs("weekly") == []

    outsider = make.user("Outsider")
    for url in (LIST, f"{LIST}/bad"):
        assert browser(app, outsider).get(url).status_code == 404
    assert api_as(outsider).get(f"{API}/bad/runs").status_code == 404


def test_a_read_only_token_reads_but_cannot_run_or_retry(rt, owner, api_as):
    follow_up(rt)
    [failed] = runs("bad")
    exhaust(rt, "bad", failed.slot)
    reader = api_as(owner, read_only=True)
    assert reader.get(API).status_code == 200
    assert reader.post(f"{API}/weekly/run").status_code == 403
    assert reader.post(f"{API}/bad/runs/{failed.id}/retry").status_code == 403
    assert runs("weekly") == [] and run_job(rt, "bad", failed.slot).status == "failed"


# --- the API --------------------------------------------------------------------------------

def test_the_api_lists_automations_and_runs_runs_now_and_retries(rt, owner, api_as):
    follow_up(rt)
    api = api_as(owner)
    items = {a["key"]: a for a in api.get(API, headers={"Accept-Language": "en"}).get_json()["items"]}
    assert list(items) == ["touch", "bad", "weekly"]
    weekly = items["weekly"]
    assert weekly["trigger"] == {"on": "schedule", "cron": "0 9 * * 1",
                                 "description": 'On the schedule "0 9 * * 1"'}
    assert weekly["actions"] == [{"type": "notify", "description": "Notify: Review the open deals"}]
    assert (weekly["enabled"], weekly["last_run"], weekly["runs_24h"]) == (True, None, 0)
    bad = items["bad"]
    assert (bad["last_run"]["status"], bad["runs_24h"], bad["failed_24h"]) == ("failed", 1, 1)
    assert [r["status"] for r in bad["last_run"]["results"]] == ["rolled_back", "failed"]

    resp = api.post(f"{API}/weekly/run")
    assert resp.status_code == 202 and resp.get_json()["slot"].startswith("manual:")
    [run] = runs("weekly")
    listed = api.get(f"{API}/weekly/runs").get_json()
    assert listed["next"] is None and [r["slot"] for r in listed["items"]] == [resp.get_json()["slot"]]
    assert listed["items"][0]["results"][0]["notified"] == 1
    assert api.get(f"{API}/weekly/runs?status=failed").get_json()["items"] == []
    assert api.get(f"{API}/weekly/runs?before=x").status_code == 422
    assert api.post(f"{API}/touch/run").status_code == 422

    [failed] = runs("bad")
    assert api.post(f"{API}/bad/runs/{failed.id}/retry").status_code == 202  # its next attempt, now
    assert runs("bad")[0].attempts == 2
    exhaust(rt, "bad", failed.slot)
    assert api.post(f"{API}/bad/runs/{failed.id}/retry").status_code == 202
    assert runs("bad")[0].attempts == engine.MAX_ATTEMPTS + 1
    [done] = runs("touch")
    assert api.post(f"{API}/touch/runs/{done.id}/retry").status_code == 409
    assert api.post(f"{API}/bad/runs/999999/retry").status_code == 404


def test_an_automation_calling_a_webhook_shows_its_signing_secret(app, make, owner):
    from formloom.runtime.automations.actions import webhook_secret

    # An address, not a name: publishing checks the URL, and a name would need DNS.
    hook = {"key": "hook", "trigger": {"on": "record_created", "form": "deal"},
            "actions": [{"type": "webhook", "url": "https://93.184.216.34/deals/secret-path"}]}
    runtime = make.install(definition([TOUCH, hook]), owner=owner)
    resp = browser(app, owner).get(LIST)
    assert "https://93.184.216.34/…" in resp.get_data(as_text=True) and "secret-path" not in resp.get_data(as_text=True)
    secret = webhook_secret(runtime.app_id, "hook")
    assert part(resp, "section", "data-automation", "hook").count(secret) == 1
    assert "signed" not in part(resp, "section", "data-automation", "touch")
