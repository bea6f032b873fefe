"""Automations: each trigger and action kind, conditions, failures and retries, the
self-trigger guard, schedules and dates in the app's time zone (with a moved clock)."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from formloom.platform import jobs, outbox
from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import AutomationRun, Job, Notification, OutboxEvent, utcnow
from formloom.runtime.automations import actions, engine, history, schedule
from formloom.runtime.exceptions import DefinitionError, NotFound
from formloom.runtime.records import service as records
from formloom.runtime.records.context import app_timezone
from formloom.runtime.schema import compile_app

from support_formloom import DATA

KEY = "sales_mini"


@pytest.fixture
def app(app_with):
    return app_with(FORMLOOM_JOBS_EAGER=True, FORMLOOM_WEBHOOK_ALLOWED_HOSTS="127.0.0.1")


def definition(automations, tz=None, extra_company_fields=(), permissions=None) -> dict:
    defn = json.loads((DATA / "sales-mini.json").read_text("utf-8"))
    company = next(f for f in defn["forms"] if f["key"] == "company")
    company["fields"] += [
        {"key": "last_contact", "type": "date", "label": "Last contact"},
        {"key": "touches", "type": "number", "label": "Touches", "default": 0},
        {"key": "note", "type": "text", "label": "Note"},
        *extra_company_fields,
    ]
    defn["forms"].append({"key": "follow_up", "name": "Follow-up", "fields": [
        {"key": "company", "type": "link", "form": "company", "label": "Company", "required": True},
        {"key": "at", "type": "date", "label": "When"},
        {"key": "summary", "type": "text", "label": "Summary"},
        {"key": "minutes", "type": "number", "label": "Minutes"}]})
    defn["automations"] = automations
    if tz:
        defn["timezone"] = tz
    if permissions is not None:
        defn["permissions"] = permissions
    return defn


@pytest.fixture
def owner(make):
    return make.user("Owner")


@pytest.fixture
def install(make, owner):
    def go(automations, **kw):
        return make.install(definition(automations, **kw), owner=owner)
    return go


def settle(rounds: int = 20) -> None:
    """Dispatch outbox events until none are left (jobs run eagerly after each commit)."""
    for _ in range(rounds):
        if not outbox.dispatch():
            return
    raise AssertionError("events keep coming")


def runs(key: str | None = None) -> list[AutomationRun]:
    db.session.rollback()
    stmt = sa.select(AutomationRun).order_by(AutomationRun.id)
    if key:
        stmt = stmt.where(AutomationRun.automation_key == key)
    return list(db.session.execute(stmt).scalars())


def errors_of(automations, **kw) -> dict[str, str]:
    with pytest.raises(DefinitionError) as info:
        compile_app(definition(automations, **kw))
    return {e["pointer"]: e["message"] for e in info.value.errors}


SYSTEM = Actor.system()

TOUCH = {"key": "touch", "name": "Touch the company",
         "trigger": {"on": "record_created", "form": "follow_up"},
         "actions": [{"type": "update_records", "form": "company",
                      "where": {"field": "$id", "op": "eq", "value": {"var": "record.company"}},
                      "set": {"last_contact": {"var": "record.at"},
                              "touches": {"formula": "minutes / 10"},
                              "note": {"var": "record.summary"}}}]}


def company(rt, **fields):
    return records.create(SYSTEM, rt, "company", {"name": fields.pop("name", "Acme"), **fields})


# -- checks at publish ------------------------------------------------------------------------------
def test_publish_names_every_mistake_with_its_pointer():
    errs = errors_of([
        {"key": "a", "trigger": {"on": "record_exploded", "form": "company"}, "actions": [{"type": "notify"}]},
        {"key": "b", "trigger": {"on": "record_updated", "form": "nope"}, "actions": [{"type": "delete_records",
                                                                                       "form": "deal", "where": {}}]},
        {"key": "c", "trigger": {"on": "record_updated", "form": "deal", "fields": ["stage", "colour"]},
         "actions": [{"type": "update_records", "form": "company",
                      "where": {"field": "$id", "op": "eq", "value": {"var": "record.compnay"}},
                      "set": {"revenue": {"formula": "amount & 'x'"}, "colour": 1, "name": {"var": "target.name"}}}]},
        {"key": "d", "trigger": {"on": "schedule", "cron": "every day"}, "actions": [
            {"type": "create_record", "form": "deal", "values": {"title": {"var": "record.title"}}}]},
        {"key": "e", "trigger": {"on": "date_reached", "form": "deal", "field": "stage"},
         "actions": [{"type": "webhook", "url": "ftp://example.com/x"}]},
        {"key": "f", "trigger": {"on": "record_created", "form": "deal"},
         "actions": [{"type": "notify", "to": [{"field": "title"}], "title": "{titel} is new"},
                     {"type": "explode"}]},
        {"key": "f", "trigger": {"on": "record_created", "form": "deal"},
         "actions": [{"type": "create_record", "form": "company", "values": {"tier": "Z", "name": {"today": "x"}}}]},
    ])
    assert errs["/automations/0/trigger/on"].startswith('"record_exploded" is not a trigger')
    assert "/automations/0/actions/0" not in errs  # actions of an unknown trigger are not judged
    assert errs["/automations/1/trigger/form"] == '"nope" is not a form of this app'
    assert errs["/automations/2/trigger/fields/1"] == '"colour" is not a field of form "deal"'
    assert errs["/automations/2/actions/0/where/value/var"] == 'unknown field "compnay" in variable "record.compnay"'
    assert "/automations/2/actions/0/set/revenue/formula" in errs
    assert errs["/automations/2/actions/0/set/colour"] == '"colour" is not a field of form "company"'
    assert "/automations/2/actions/0/set/name" not in errs  # target.* is fine in an update
    assert "cron expression" in errs["/automations/3/trigger/cron"]
    assert errs["/automations/3/actions/0/values/title/var"] == \
        '"record.title" cannot be used here: this trigger has no record'
    assert errs["/automations/4/trigger/field"] == '"stage" is not a date or date-time field of form "deal"'
    assert errs["/automations/4/actions/0/url"] == "must be an http:// or https:// URL"
    assert errs["/automations/5/actions/0/to/0/field"] == '"title" is not a user field of form "deal"'
    assert errs["/automations/5/actions/0/title"] == '"{titel}" is not a field of form "deal"'
    assert errs["/automations/5/actions/1/type"].startswith('"explode" is not an action')
    assert errs["/automations/6/key"] == 'automation key "f" is used twice'
    assert errs["/automations/6/actions/0/values/tier"].startswith('not a valid value for field "tier"')
    assert errs["/automations/6/actions/0/values/name/today"] == \
        '"today" takes a whole number of days, such as -7 or 3'


def test_a_webhook_url_must_be_http():
    errs = errors_of([{"key": "w", "trigger": {"on": "record_created", "form": "deal"},
                       "actions": [{"type": "webhook", "url": "ftp://example.com/x"}]}])
    assert errs == {"/automations/0/actions/0/url": "must be an http:// or https:// URL"}


# -- record triggers and record actions -------------------------------------------------------------
def test_a_follow_up_updates_its_company_with_values_vars_and_formulas(install, any_db):
    rt = install([TOUCH])
    acme, other = company(rt), company(rt, name="Other")
    records.create(SYSTEM, rt, "follow_up", {"company": acme["id"], "at": "2026-11-20", "summary": "Called",
                                             "minutes": 25})
    settle()
    [run] = runs("touch")
    assert run.status == "done" and run.slot.startswith("event:") and run.record_ids
    assert run.results == [{"type": "update_records", "status": "ok", "form": "company", "matched": 1,
                            "updated": [acme["id"]], "unchanged": 0}]
    got = records.get(SYSTEM, rt, "company", acme["id"])["fields"]
    assert (str(got["last_contact"]), got["touches"], got["note"]) == ("2026-11-20", 2.5, "Called")
    assert records.get(SYSTEM, rt, "company", other["id"])["fields"]["note"] is None
    # The change is a revision like any other, and its event names the automation behind it.
    event = db.session.execute(sa.select(OutboxEvent).where(OutboxEvent.record_id == acme["id"],
                                                            OutboxEvent.type == "record.updated")).scalar()
    assert event.payload["chain"] == ["touch"]


def test_updated_fires_only_when_a_watched_field_changes_and_the_condition_holds(install):
    rt = install([{"key": "won", "trigger": {"on": "record_updated", "form": "deal", "fields": ["stage"],
                                             "when": {"field": "stage", "op": "eq", "value": "won"}},
                   "actions": [{"type": "create_record", "form": "follow_up",
                                "values": {"company": {"var": "record.company"}, "at": {"today": 7},
                                           "summary": {"formula": "\"Thank \" & title"}}}]}])
    acme = company(rt)
    deal = records.create(SYSTEM, rt, "deal", {"title": "Big", "company": acme["id"], "amount": 100})
    records.update(SYSTEM, rt, "deal", deal["id"], {"amount": 200})  # not watched
    records.update(SYSTEM, rt, "deal", deal["id"], {"stage": "proposal"})  # watched, condition false
    settle()
    assert runs("won") == []
    records.update(SYSTEM, rt, "deal", deal["id"], {"stage": "won"})
    settle()
    [run] = runs("won")
    [fid] = run.results[0]["created"]
    made = records.get(SYSTEM, rt, "follow_up", fid)["fields"]
    # "today" is the app's date: in Asia/Shanghai it turns eight hours before UTC's
    today = datetime.now(ZoneInfo(app_timezone(rt))).date()
    assert made["company"] == acme["id"] and made["summary"] == "Thank Big"
    assert (made["at"] - today).days == 7


def test_deleted_records_trigger_and_actions_delete_and_upsert(install):
    rt = install([
        {"key": "gone", "trigger": {"on": "record_deleted", "form": "company"},
         "actions": [{"type": "delete_records", "form": "deal",
                      "where": {"field": "company", "op": "eq", "value": {"var": "record.$id"}}}]},
        {"key": "tally", "trigger": {"on": "record_created", "form": "deal"},
         "actions": [{"type": "upsert_record", "form": "follow_up",
                      "where": {"all": [{"field": "company", "op": "eq", "value": {"var": "record.company"}},
                                        {"field": "summary", "op": "eq", "value": "tally"}]},
                      "set": {"minutes": {"formula": "amount"}},
                      "create": {"company": {"var": "record.company"}, "summary": "tally"}}]}])
    acme, other = company(rt), company(rt, name="Other")
    d1 = records.create(SYSTEM, rt, "deal", {"title": "One", "company": acme["id"], "amount": 5})
    records.create(SYSTEM, rt, "deal", {"title": "Two", "company": acme["id"], "amount": 7})
    keep = records.create(SYSTEM, rt, "deal", {"title": "Three", "company": other["id"], "amount": 1})
    settle()
    first, second, third = runs("tally")
    assert "created" in first.results[0] and second.results[0]["updated"] and "created" in third.results[0]
    follow_ups = db.session.execute(sa.select(sa.func.count()).select_from(
        rt.form_tables("follow_up").table)).scalar()
    assert follow_ups == 2  # one per company: the second deal updated the first's
    records.delete(SYSTEM, rt, "company", acme["id"])
    settle()
    [gone] = runs("gone")
    assert gone.results[0]["matched"] == 2
    with pytest.raises(NotFound):
        records.get(SYSTEM, rt, "deal", d1["id"])
    assert records.get(SYSTEM, rt, "deal", keep["id"])


def test_flow_events_start_flow_triggers_by_outcome_and_step(install):
    """The contract with the flow engine: it writes "flow.finished" (with the outcome) and
    "flow.step" (with the step) events for the record."""
    rt = install([
        {"key": "approved", "trigger": {"on": "flow_finished", "form": "deal", "outcome": "approved"},
         "actions": [{"type": "update_records", "form": "deal",
                      "where": {"field": "$id", "op": "eq", "value": {"var": "record.$id"}},
                      "set": {"stage": "won"}}]},
        {"key": "at_finance", "trigger": {"on": "flow_step", "form": "deal", "step": "finance"},
         "actions": [{"type": "update_records", "form": "deal",
                      "where": {"field": "$id", "op": "eq", "value": {"var": "record.$id"}},
                      "set": {"probability": 90}}]}])
    acme = company(rt)
    deal = records.create(SYSTEM, rt, "deal", {"title": "Big", "company": acme["id"]})

    def flow_event(kind: str, **payload) -> None:
        db.session.add(OutboxEvent(app_id=rt.app_id, form_key="deal", record_id=deal["id"], type=kind,
                                   payload={"form": "deal", "record_id": deal["id"], **payload}))
        db.session.commit()

    flow_event("flow.step", step="manager")
    flow_event("flow.finished", outcome="rejected")
    settle()
    assert runs() == []
    flow_event("flow.step", step="finance")
    flow_event("flow.finished", outcome="approved")
    settle()
    assert [r.automation_key for r in runs()] == ["at_finance", "approved"]
    got = records.get(SYSTEM, rt, "deal", deal["id"])["fields"]
    assert (got["stage"], got["probability"]) == ("won", 90)


def test_a_disabled_automation_and_an_app_without_automations_make_no_jobs(install):
    rt = install([{**TOUCH, "enabled": False}])
    acme = company(rt)
    records.create(SYSTEM, rt, "follow_up", {"company": acme["id"], "summary": "x"})
    settle()
    assert db.session.execute(sa.select(sa.func.count()).select_from(Job).where(
        Job.kind == engine.RUN_JOB)).scalar() == 0


def test_a_failing_action_rolls_back_the_run_says_why_and_is_retried(install, any_db):
    rt = install([{"key": "bad", "trigger": {"on": "record_created", "form": "follow_up"},
                   "actions": [{"type": "update_records", "form": "company",
                                "where": {"field": "$id", "op": "eq", "value": {"var": "record.company"}},
                                "set": {"note": "touched"}},
                               {"type": "create_record", "form": "deal",
                                "values": {"title": {"var": "record.summary"}}}]}])  # deal needs a company
    acme = company(rt)
    records.create(SYSTEM, rt, "follow_up", {"company": acme["id"], "summary": "x"})
    settle()
    [run] = runs("bad")
    assert run.status == "failed" and run.attempts == 1
    assert [r["status"] for r in run.results] == ["rolled_back", "failed"]
    assert "company" in run.results[1]["error"] and "required" in run.results[1]["error"]
    assert run.error.startswith("action 2 (create_record) failed:")
    assert records.get(SYSTEM, rt, "company", acme["id"])["fields"]["note"] is None  # action 1 undone
    job = db.session.execute(sa.select(Job).where(Job.kind == engine.RUN_JOB)).scalar()
    assert job.status == "queued" and job.run_at > utcnow() and "required" in job.error
    for _ in range(engine.MAX_ATTEMPTS - 1):  # the clock moves on: each retry is due
        db.session.execute(sa.update(Job).where(Job.id == job.id).values(run_at=utcnow()))
        db.session.commit()
        jobs.run_job(job.id)
    [run] = runs("bad")
    db.session.refresh(job)
    assert (job.status, run.status, run.attempts) == ("failed", "failed", engine.MAX_ATTEMPTS)


def test_a_run_answers_its_event_once(install):
    rt = install([TOUCH])
    acme = company(rt)
    records.create(SYSTEM, rt, "follow_up", {"company": acme["id"], "minutes": 10})
    settle()
    [run] = runs("touch")
    event_id = run.event_id
    again = engine.run_automation({"app_id": rt.app_id, "automation": "touch", "slot": f"event:{event_id}",
                                   "event_id": event_id})
    assert again["status"] == "skipped"
    assert records.get(SYSTEM, rt, "company", acme["id"])["version"] == 2


def test_an_automation_that_triggers_itself_stops_at_the_depth_limit(install, any_db):
    rt = install([{"key": "loop", "trigger": {"on": "record_updated", "form": "company", "fields": ["touches"]},
                   "actions": [{"type": "update_records", "form": "company",
                                "where": {"field": "$id", "op": "eq", "value": {"var": "record.$id"}},
                                "set": {"touches": {"formula": "touches + 1"}}}]}])
    acme = company(rt)
    records.update(SYSTEM, rt, "company", acme["id"], {"touches": 1})
    settle()
    history = runs("loop")
    assert [r.status for r in history] == ["done"] * engine.MAX_DEPTH + ["stopped"]
    assert [r.depth for r in history] == list(range(engine.MAX_DEPTH + 1))
    assert history[-1].error == ("stopped: 5 automations in a row triggered each other "
                                 "(loop -> loop -> loop -> loop -> loop -> loop); at most 5 may")
    assert records.get(SYSTEM, rt, "company", acme["id"])["fields"]["touches"] == 1 + engine.MAX_DEPTH


# -- notifications ----------------------------------------------------------------------------------
def test_notify_tells_each_recipient_only_what_they_may_see(install, any_db, make, owner):
    rep = make.user("Rep")
    rt = install([{"key": "tell", "trigger": {"on": "record_created", "form": "company",
                                              "when": {"field": "tier", "op": "eq", "value": "A"}},
                   "actions": [{"type": "notify", "to": [{"field": "owner"}, {"app_admins": True}],
                                "title": "New key account {name}", "message": "Revenue {revenue}, owner {owner}"}]}],
                 permissions=[{"form": "company", "to": {"members": True}, "preset": "view_all",
                               "fields": {"hidden": ["revenue"]}}])
    from formloom.builder.apps import add_member
    add_member(Actor.from_user(owner), KEY, rep.id)
    company(rt, name="Small", tier="C", owner=rep.id)
    big = company(rt, name="Big", tier="A", owner=rep.id, revenue=12345)
    settle()
    notes = {n.user_id: n for n in db.session.execute(sa.select(Notification)).scalars()}
    assert set(notes) == {rep.id, owner.id}
    assert notes[rep.id].title == "New key account Big"
    assert notes[rep.id].body == "Revenue —, owner Rep"
    assert "12345" in notes[owner.id].body.replace(",", "")
    assert notes[rep.id].url == f"/a/{KEY}/f/company/r/{big['id']}"
    assert notes[rep.id].kind == "automation"


def test_notify_names_linked_records_people_and_dates(install, owner):
    rt = install([{"key": "tell", "trigger": {"on": "record_created", "form": "deal"},
                   "actions": [{"type": "notify", "to": [{"user": owner.id}],
                                "title": "{title} for {company}", "message": "closes {close_date}, by {$created_by}"}]}])
    acme = company(rt, name="Acme")
    records.create(Actor.from_user(owner), rt, "deal", {"title": "Big", "company": acme["id"],
                                                        "close_date": "2026-12-24"})
    settle()
    [note] = db.session.execute(sa.select(Notification)).scalars()
    assert (note.title, note.body) == ("Big for Acme", "closes 2026-12-24, by Owner")


# -- schedules and dates ------------------------------------------------------------------------------
def next_local(hour: int, tz: str, after: datetime) -> datetime:
    """The first `hour`:00 in `tz` after the UTC instant `after`, as naive UTC."""
    local = after.replace(tzinfo=UTC).astimezone(ZoneInfo(tz))
    at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if at <= local:
        at += timedelta(days=1)
    return at.astimezone(UTC).replace(tzinfo=None)


def test_a_cron_schedule_runs_once_per_slot_in_the_app_time_zone(install, any_db, owner):
    install([{"key": "daily", "trigger": {"on": "schedule", "cron": "0 9 * * *"},
                   "actions": [{"type": "notify", "to": [{"user": owner.id}], "title": "Good morning"}]}],
                 tz="Asia/Shanghai")
    nine = next_local(9, "Asia/Shanghai", utcnow())
    assert nine.hour == 1  # 09:00 in Shanghai is 01:00 UTC
    assert schedule.scan(nine - timedelta(minutes=1)) == {"scheduled": 0}
    assert schedule.scan(nine + timedelta(seconds=30)) == {"scheduled": 1}
    assert schedule.scan(nine + timedelta(minutes=5)) == {"scheduled": 0}  # claimed already
    [run] = runs("daily")
    assert run.status == "done" and run.slot == f"cron:{(nine + timedelta(hours=8)):%Y-%m-%dT%H:%M}"
    assert schedule.scan(nine + timedelta(days=1, seconds=1)) == {"scheduled": 1}
    assert db.session.execute(sa.select(sa.func.count()).select_from(Notification)).scalar() == 2


def test_a_missed_slot_runs_late_but_not_before_publishing(install, owner):
    install([{"key": "daily", "trigger": {"on": "schedule", "cron": "0 9 * * *"},
                   "actions": [{"type": "notify", "to": [{"user": owner.id}], "title": "Morning"}]}],
                 tz="Europe/Berlin")
    nine = next_local(9, "Europe/Berlin", utcnow())
    assert schedule.scan(nine + timedelta(hours=5)) == {"scheduled": 1}  # the worker was down for 5 hours
    # Yesterday's 09:00 was before the app was published: never run.
    assert [r.slot for r in runs("daily")] == [f"cron:{nine.replace(tzinfo=UTC).astimezone(ZoneInfo('Europe/Berlin')):%Y-%m-%dT%H:%M}"]


def test_a_schedule_over_a_form_runs_for_each_matching_record(install, owner):
    rt = install([{"key": "stale", "trigger": {"on": "schedule", "cron": "30 8 * * 1-5", "form": "company",
                                               "when": {"field": "tier", "op": "eq", "value": "A"}},
                   "actions": [{"type": "update_records", "form": "company",
                                "where": {"field": "$id", "op": "eq", "value": {"var": "record.$id"}},
                                "set": {"note": {"formula": "\"checked \" & name"}}}]}])
    a1, a2, c = company(rt, name="A1", tier="A"), company(rt, name="A2", tier="A"), company(rt, name="C", tier="C")
    start = utcnow()
    fired = 0
    for hours in range(0, 24 * 4):  # some day in the next four is a weekday
        fired = schedule.scan(start + timedelta(hours=hours))["scheduled"]
        if fired:
            break
    settle()
    assert fired == 2
    notes = {r: records.get(SYSTEM, rt, "company", r)["fields"]["note"] for r in (a1["id"], a2["id"], c["id"])}
    assert notes == {a1["id"]: "checked A1", a2["id"]: "checked A2", c["id"]: None}


def test_a_date_reached_fires_three_days_before_at_nine_local(install, owner):
    tz = "America/New_York"
    rt = install([{"key": "soon", "trigger": {"on": "date_reached", "form": "deal", "field": "close_date",
                                              "offset": -3, "at": "09:00",
                                              "when": {"field": "stage", "op": "ne", "value": "lost"}},
                   "actions": [{"type": "notify", "to": [{"user": owner.id}], "title": "{title} closes in 3 days"}]}],
                 tz=tz)
    nine = next_local(9, tz, utcnow() + timedelta(hours=1))
    day = nine.replace(tzinfo=UTC).astimezone(ZoneInfo(tz)).date()
    acme = company(rt)
    due = records.create(SYSTEM, rt, "deal", {"title": "Due", "company": acme["id"],
                                              "close_date": (day + timedelta(days=3)).isoformat()})
    records.create(SYSTEM, rt, "deal", {"title": "Lost", "company": acme["id"], "stage": "lost", "lost_reason": "price",
                                        "close_date": (day + timedelta(days=3)).isoformat()})
    records.create(SYSTEM, rt, "deal", {"title": "Later", "company": acme["id"],
                                        "close_date": (day + timedelta(days=4)).isoformat()})
    assert schedule.scan(nine - timedelta(minutes=1))["scheduled"] == 0
    assert schedule.scan(nine)["scheduled"] == 1
    assert schedule.scan(nine + timedelta(hours=2))["scheduled"] == 0
    [run] = runs("soon")
    assert run.slot == f"date:{due['id']}:{(day + timedelta(days=3)).isoformat()}"
    [note] = db.session.execute(sa.select(Notification)).scalars()
    assert note.title == "Due closes in 3 days"
    # Moving the date makes a new slot: it fires again when that day comes.
    records.update(SYSTEM, rt, "deal", due["id"], {"close_date": (day + timedelta(days=4)).isoformat()})
    assert schedule.scan(nine + timedelta(days=1))["scheduled"] == 2  # "Due" again, and "Later"


# -- webhooks ---------------------------------------------------------------------------------------
def test_a_webhook_action_posts_the_record_signed_and_its_outcome_reaches_the_run(install, receiver, app):
    hook = receiver((503, {}), (200, {}))
    rt = install([{"key": "hook", "trigger": {"on": "record_created", "form": "company"},
                   "actions": [{"type": "webhook", "url": hook.url}]}])
    acme = company(rt, name="Acme", tier="A")
    settle()
    [run] = runs("hook")
    assert run.status == "done"
    assert run.results[0]["status"] == "retrying" and run.results[0]["attempt"] == 1
    job = db.session.execute(sa.select(Job).where(Job.kind == actions.WEBHOOK_JOB)).scalar()
    db.session.execute(sa.update(Job).where(Job.id == job.id).values(run_at=utcnow()))
    db.session.commit()
    assert jobs.run_job(job.id) == "done"
    [run] = runs("hook")
    assert run.results[0]["status"] == "ok" and run.results[0]["http_status"] == 200
    # The run history says where it went with the path masked, also for runs kept whole before.
    masked = run.results[0]["url"]
    assert masked.endswith("/…") and hook.url.startswith(masked[:-1]) and masked != hook.url
    run.results = [{**run.results[0], "url": hook.url}]
    assert history.run_json(run)["results"][0]["url"] == masked
    db.session.rollback()
    first, second = hook.requests
    body = json.loads(second["body"])
    assert body["automation"] == "hook" and body["record"]["id"] == acme["id"]
    assert body["record"]["fields"]["name"] == "Acme" and body["run"] == run.slot
    secret = actions.webhook_secret(rt.app_id, "hook")
    head = second["headers"]
    mac = hmac.new(secret.encode(), head["X-Formloom-Timestamp"].encode() + b"." + second["body"], hashlib.sha256)
    assert head["X-Formloom-Signature"] == "sha256=" + mac.hexdigest()
    # a delivery id receivers deduplicate by: the same on each attempt, the job's; and the event's id
    assert first["headers"]["X-Formloom-Delivery"] == head["X-Formloom-Delivery"] == job.id
    assert head["X-Formloom-Event-Id"] == str(run.event_id) and run.event_id


def test_a_webhook_action_to_an_internal_address_is_refused_at_send(install, app, monkeypatch):
    # Publishing refuses it too (tests/builder/test_definition_access.py); allowed then, not at send.
    monkeypatch.setitem(app.config, "FORMLOOM_WEBHOOK_ALLOWED_HOSTS", "169.254.169.254")
    rt = install([{"key": "hook", "trigger": {"on": "record_created", "form": "company"},
                   "actions": [{"type": "webhook", "url": "http://169.254.169.254/latest/meta-data"}]}])
    monkeypatch.setitem(app.config, "FORMLOOM_WEBHOOK_ALLOWED_HOSTS", "")
    company(rt)
    settle()
    [run] = runs("hook")
    assert run.results[0]["status"] == "refused" and "refused" in run.results[0]["error"]
