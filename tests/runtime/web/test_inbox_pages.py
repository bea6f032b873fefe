"""The approval inbox and the task page, as approvers and submitters use them."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from formloom.platform.extensions import db
from formloom.platform.models import FlowLog, FlowTask
from formloom.runtime.flows import service as flows
from formloom.runtime.records import service as records

from support_flows import build_org, install


@pytest.fixture
def org(make):
    return build_org(make)


@pytest.fixture
def rt(make, org):
    return install(make, org)


def quote(rt, org, title="Q1", who="rita", **fields):
    data = {"title": title, "amount": 1000, "discount": 15, "cost": 700, "owner": getattr(org, who).id, **fields}
    return records.create(org.actor(who), rt, "quote", data)


def pending(user) -> list[FlowTask]:
    db.session.rollback()
    return list(db.session.execute(sa.select(FlowTask).where(
        FlowTask.assignee_id == user.id, FlowTask.status == "pending").order_by(FlowTask.id)).scalars())


def fields_of(rt, record_id) -> dict:
    db.session.rollback()
    return records.get(flows.Actor.system(), rt, "quote", record_id)["fields"]


def flashes(page) -> str:
    return " ".join(a.text for a in page.select(cls="alert"))


@pytest.fixture
def three(rt, org):
    return [quote(rt, org, f"Quote {n}") for n in (1, 2, 3)]


@pytest.fixture
def as_user(client, auth):
    def sign_in(user):
        auth.logout()
        auth.login(user.email)
        return client
    return sign_in


# -- the inbox ------------------------------------------------------------------------------------
def test_the_top_bar_and_the_tabs_count_what_waits(as_user, org, three, html):
    page = html(as_user(org.max).get("/inbox"))
    assert page.one("span", data_fl_pending="").text.startswith("3")
    assert page.one(data_count="pending").text == "3"
    assert [r.one("a").text for r in page.one("tbody").select("tr")] == ["Quote 3", "Quote 2", "Quote 1"]
    # The submitter has nothing to do, and three approvals under way.
    page = html(as_user(org.rita).get("/"))
    assert page.select("span", data_fl_pending="") == []
    assert page.one("a", data_fl_inbox="").attrs["href"] == "/inbox"
    page = html(as_user(org.rita).get("/inbox?box=submitted"))
    assert page.one(data_count="submitted").text == "3" and page.one(data_count="pending").text == "0"


def test_each_list_shows_its_own_rows(as_user, rt, org, three, html):
    [first, *_rest] = pending(org.max)
    flows.act(org.actor("max"), first.id, "approve")
    page = html(as_user(org.max).get("/inbox?box=done"))
    [row] = page.one("tbody").select("tr")
    assert "Quote 1" in row.text and "Approved" in row.text and "Rita" in row.text
    assert row.one("a").attrs["href"] == f"/tasks/{first.id}"
    page = html(as_user(org.dora).get("/inbox"))
    [row] = page.one("tbody").select("tr")
    assert "Quote 1" in row.text and "Director" in row.text and "Deals" in row.text and "Quote" in row.text
    page = html(as_user(org.rita).get("/inbox?box=submitted"))
    rows = page.one("tbody").select("tr")
    assert len(rows) == 3 and rows[2].one("a").attrs["href"] == f"/a/deals/f/quote/r/{three[0]['id']}"
    assert "Director" in rows[2].text and "Manager" in rows[0].text
    # The director approves: a copy goes to the owner (Rita), unread (bold) until she opens it.
    [task] = pending(org.dora)
    flows.act(org.actor("dora"), task.id, "approve")
    page = html(as_user(org.rita).get("/inbox?box=cc"))
    [row] = page.one("tbody").select("tr")
    assert "is-unread" in row.attrs.get("class", "") and page.one(data_count="cc").text == "1"
    as_user(org.rita).get(row.one("a").attrs["href"])
    page = html(as_user(org.rita).get("/inbox?box=cc"))
    assert "is-unread" not in page.one("tbody").one("tr").attrs.get("class", "")
    assert page.one(data_count="cc").text == "0"
    # An empty list says so.
    page = html(as_user(org.sam).get("/inbox?box=submitted"))
    assert "You have not submitted anything" in page.one(cls="fl-empty").text
    assert as_user(org.sam).get("/inbox?box=everything").status_code == 404


def test_the_inbox_pages_through_older_tasks(as_user, org, three, html, monkeypatch):
    from formloom.runtime.web import tasks

    monkeypatch.setattr(tasks, "PAGE_SIZE", 2)
    page = html(as_user(org.max).get("/inbox"))
    assert [r.one("a").text for r in page.one("tbody").select("tr")] == ["Quote 3", "Quote 2"]
    older = page.one("a", rel="next").attrs["href"]
    page = html(as_user(org.max).get(older))
    assert [r.one("a").text for r in page.one("tbody").select("tr")] == ["Quote 1"]
    assert page.select("a", rel="next") == []


def test_batch_approve_reports_what_could_not_be_approved(as_user, rt, org, three, html):
    tasks = pending(org.max)
    flows.act(org.actor("max"), tasks[1].id, "approve")  # approved elsewhere meanwhile
    client = as_user(org.max)
    page = html(client.post("/inbox/approve", data={"task": [str(t.id) for t in tasks], "comment": "fine"},
                            follow_redirects=True))
    text = flashes(page)
    assert "2 approved; 1 could not be: Quote 2: This task is no longer waiting for you" in text
    db.session.rollback()
    approved = db.session.execute(sa.select(FlowLog).where(FlowLog.action == "approved")).scalars().all()
    assert len(approved) == 3 and sum(a.comment == "fine" for a in approved) == 2
    assert pending(org.max) == [] and len(pending(org.dora)) == 3
    assert "Nothing waits for you" in page.one(cls="fl-empty").text


# -- the task page ------------------------------------------------------------------------------
def test_the_manager_sees_the_record_without_cost_and_may_change_notes(as_user, rt, org, html):
    record = quote(rt, org, notes="first draft")
    [task] = pending(org.max)
    client = as_user(org.max)
    page = html(client.get(f"/tasks/{task.id}"))
    shown = {n.attrs["data-field"] for n in page.walk() if "data-field" in n.attrs}
    assert {"title", "amount", "discount", "notes"} <= shown and "cost" not in shown
    assert "700" not in page.one("main").text
    assert page.value("notes") == "first draft"
    assert page.select("textarea", name="amount") == [] and page.select("input", name="amount") == []
    response = client.post(f"/tasks/{task.id}", data={"action": "approve", "notes": "discount ok", "comment": "go"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox")
    assert fields_of(rt, record["id"])["notes"] == "discount ok"
    # The director's page tells the story: who approved, with what comment and which change.
    [next_task] = pending(org.dora)
    page = html(as_user(org.dora).get(f"/tasks/{next_task.id}"))
    story = page.one("ol", cls="fl-flow-timeline").text
    assert "Rita submitted the record" in story and "Max approved at Manager" in story
    assert "go" in story and "first draft" in story and "discount ok" in story


def test_reject_ends_the_approval(as_user, rt, org, html):
    record = quote(rt, org)
    [task] = pending(org.max)
    page = html(as_user(org.max).post(f"/tasks/{task.id}", data={"action": "reject", "comment": "too cheap"},
                                      follow_redirects=True))
    assert "Rejected." in flashes(page)
    assert records.get(flows.Actor.system(), rt, "quote", record["id"])["flow_status"] == "rejected"
    page = html(as_user(org.max).get(f"/tasks/{task.id}"))
    assert "Rejected" in page.one(data_my_part="").text and "too cheap" in page.one(data_my_part="").text
    assert page.select("form", id="task-form") == []


def test_returned_to_the_submitter_who_changes_and_submits_again(as_user, rt, org, html):
    record = quote(rt, org)
    [task] = pending(org.max)
    as_user(org.max).post(f"/tasks/{task.id}", data={"action": "return", "return_to": "submitter",
                                                      "comment": "Lower the discount"})
    [mine] = pending(org.rita)
    client = as_user(org.rita)
    page = html(client.get(f"/tasks/{mine.id}"))
    assert page.one(data_return_comment="").text == "Lower the discount"
    assert "Max returned this record to you" in page.one(data_returned="").text
    assert page.value("discount") == "15" and page.value("title") == "Q1"
    form = {"action": "submit", "title": "Q1", "amount": "1000", "discount": "12", "cost": "700",
            "owner": str(org.rita.id), "comment": "Now 12"}
    response = client.post(f"/tasks/{mine.id}", data=form)
    assert response.status_code == 302
    assert fields_of(rt, record["id"])["discount"] == 12
    assert len(pending(org.max)) == 1


def test_a_bad_value_on_resubmit_is_shown_at_its_field(as_user, rt, org, html):
    quote(rt, org)
    [task] = pending(org.max)
    flows.act(org.actor("max"), task.id, "return", comment="again")
    [mine] = pending(org.rita)
    page = html(as_user(org.rita).post(f"/tasks/{mine.id}", data={
        "action": "submit", "title": "", "amount": "1000", "discount": "500", "owner": str(org.rita.id)}))
    assert "Title" in page.one(id="fl-error-summary").text and "Discount" in page.one(id="fl-error-summary").text
    assert pending(org.rita) != [] and pending(org.max) == []


def test_return_to_an_earlier_step(as_user, rt, org, html):
    quote(rt, org)
    [task] = pending(org.max)
    flows.act(org.actor("max"), task.id, "approve")
    [director] = pending(org.dora)
    page = html(as_user(org.dora).get(f"/tasks/{director.id}"))
    options = [o.attrs["value"] for o in page.one("select", name="return_to").select("option")]
    assert options == ["submitter", "manager"]
    as_user(org.dora).post(f"/tasks/{director.id}", data={"action": "return", "return_to": "manager"})
    assert len(pending(org.max)) == 1 and pending(org.dora) == []


def test_transfer_passes_the_task_on(as_user, rt, org, html):
    quote(rt, org)
    [task] = pending(org.max)
    client = as_user(org.max)
    response = client.post(f"/tasks/{task.id}", data={"action": "transfer", "transfer_to": ""})
    assert response.status_code == 422
    page = html(response)
    assert "Choose an active user" in page.one(id="f-transfer_to-error").text
    assert "show" in page.one(id="panel-transfer").attrs["class"]
    client.post(f"/tasks/{task.id}", data={"action": "transfer", "transfer_to": str(org.sam.id), "comment": "yours"})
    assert pending(org.max) == [] and len(pending(org.sam)) == 1


def test_add_signer_before_me(as_user, rt, org, html):
    quote(rt, org)
    [task] = pending(org.max)
    as_user(org.max).post(f"/tasks/{task.id}", data={"action": "add_signer", "signer": str(org.fay.id),
                                                      "position": "before"})
    assert pending(org.max) == [] and len(pending(org.fay)) == 1
    page = html(as_user(org.max).get(f"/tasks/{task.id}"))
    assert "this task waits for them" in page.one(data_my_part="").text
    assert "Max asked Fay to sign before them" in page.one("ol", cls="fl-flow-timeline").text


def test_the_same_approval_sent_twice_moves_the_flow_once(as_user, rt, org, html):
    quote(rt, org)
    [task] = pending(org.max)
    client = as_user(org.max)
    assert client.post(f"/tasks/{task.id}", data={"action": "approve", "notes": ""}).status_code == 302
    again = client.post(f"/tasks/{task.id}", data={"action": "approve", "notes": ""}, follow_redirects=True)
    assert "Someone acted on this task already" in flashes(html(again))
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count()).select_from(FlowLog).where(
        FlowLog.action == "approved")).scalar() == 1
    assert len(pending(org.dora)) == 1


def test_only_the_assignee_sees_a_task_and_app_admins_only_read_it(as_user, rt, org, html):
    quote(rt, org)
    [task] = pending(org.max)
    assert as_user(org.sam).get(f"/tasks/{task.id}").status_code == 404
    assert as_user(org.sam).post(f"/tasks/{task.id}", data={"action": "approve"}).status_code == 404
    page = html(as_user(org.ann).get(f"/tasks/{task.id}"))
    assert "Only Max can act on it" in page.one(data_readonly_view="").text
    assert page.select("form", id="task-form") == []
    assert as_user(org.ann).post(f"/tasks/{task.id}", data={"action": "approve"}).status_code == 404
    assert len(pending(org.max)) == 1


def test_the_top_bar_count_costs_one_query(as_user, org, three, html):
    client = as_user(org.max)
    seen = []

    def count(conn, cursor, statement, *args):
        if "flow_tasks" in statement:
            seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        page = html(client.get("/"))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert page.one("span", data_fl_pending="").text.startswith("3")
    assert len(seen) == 1
