"""The approval flow as people see it: the SVG diagram, and the approval card of a record page
with its buttons (withdraw, remind, submit again, comment)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa

from formloom.platform.extensions import db
from formloom.platform.models import Department, FlowInstance, FlowTask
from formloom.runtime.flows import diagram, queries
from formloom.runtime.flows import service as flows
from formloom.runtime.records import service as records

from support_flows import build_org, definition, install

SVG = "{http://www.w3.org/2000/svg}"


def big_flow(org) -> dict:
    """A parallel step whose cases differ in length, with a branch nested in one of them."""
    company = db.session.execute(sa.select(Department.id).where(Department.name == "Company")).scalar()
    return {"key": "big_deal", "form": "quote", "name": "Big deal", "steps": [
        {"type": "approval", "key": "intake", "name": "Intake", "assignees": {"users": [org.ann.id]}},
        {"type": "parallel", "name": "Reviews", "cases": [
            {"name": "Finance", "steps": [
                {"type": "approval", "key": "finance", "name": "Finance check", "assignees": {"role": "finance"}},
                {"type": "approval", "key": "cfo", "name": "Head of company", "mode": "all",
                 "assignees": {"department_head": company}}]},
            {"name": "Sales", "steps": [
                {"type": "branch", "name": "Deal size", "cases": [
                    {"name": "Large amount", "when": {"field": "amount", "op": "gt", "value": 5000}, "steps": [
                        {"type": "approval", "key": "legal", "name": "Legal", "mode": "sequential",
                         "assignees": {"users": [org.max.id, org.sam.id]}}]}],
                 "default": [{"type": "cc", "name": "Tell the team", "assignees": {"field": "owner"}}]}]}]},
        {"type": "action", "name": "Mark sent", "set": {"stage": "sent"}},
        {"type": "cc", "assignees": {"field": "owner"}}]}


@pytest.fixture
def org(make):
    return build_org(make)


@pytest.fixture
def rt(make, org):
    return install(make, org)


def quote(rt, org, who="rita", **fields):
    data = {"title": "Q1", "amount": 1000, "discount": 15, "owner": getattr(org, who).id, **fields}
    return records.create(org.actor(who), rt, "quote", data)


def task_of(user, record_id) -> FlowTask:
    db.session.rollback()
    return db.session.execute(sa.select(FlowTask).where(
        FlowTask.assignee_id == user.id, FlowTask.record_id == record_id, FlowTask.status == "pending")).scalar_one()


def drawn(rt, org, record_id, who="rita", locale="en"):
    """The diagram of a record's approval, parsed; and its steps' classes by step id."""
    db.session.rollback()
    rf = queries.record_flow(org.actor(who), rt, "quote", record_id, locale)
    tree = ET.fromstring(str(diagram.svg(rf.flow, rf.tasks, rf.instance, locale)))
    return tree, {g.get("data-step"): g.get("class").split() for g in tree.iter(SVG + "g") if g.get("data-step")}


def texts(tree) -> list[str]:
    return [t.text for t in tree.iter(SVG + "text")]


# -- the diagram -----------------------------------------------------------------------------------
def test_a_flow_without_an_instance_is_drawn_with_every_step_in_words(rt):
    flow = rt.definition.flows["quote_approval"]
    tree = ET.fromstring(str(diagram.svg(flow, locale="en", form=rt.form("quote"))))
    assert tree.get("role") == "img" and tree.get("aria-label") == "Approval flow: Quote approval"
    assert tree.find(SVG + "title").text == "Approval flow: Quote approval"
    width, height = float(tree.get("width")), float(tree.get("height"))
    assert tree.get("viewBox") == f"0 0 {width:g} {height:g}" and tree.get("class") == "fld"
    words = texts(tree)
    assert words[0] == "Submit" and words[-1] == "End"
    assert {"Manager", "Director", "Manager of the submitter", "Level 2 manager of the submitter",
            "Small discount", "Otherwise", "Field: Owner", "Copy to"} <= set(words)
    # Nothing has happened: no step is marked.
    assert not any(c in (g.get("class") or "") for g in tree.iter() for c in ("fld-done", "fld-current", "fld-todo"))


def test_names_are_escaped_and_users_and_roles_are_named(rt, make, org):
    defn = definition(flow={"key": "odd", "form": "quote", "name": "<b>Odd</b>", "steps": [
        {"type": "approval", "key": "one", "name": "<script>x", "assignees": {"users": [org.max.id, org.sam.id]}},
        {"type": "approval", "key": "two", "name": "R&D", "assignees": {"role": "finance"}}]})
    defn["key"] = "odd_app"
    odd = make.install(defn, owner=org.ann)
    out = str(diagram.svg(odd.definition.flows["odd"], locale="en"))
    assert "<script" not in out and "<b>" not in out
    tree = ET.fromstring(out)
    assert tree.get("aria-label") == "Approval flow: <b>Odd</b>"
    assert {"<script>x", "R&D", "Users: Max, Sam", "Role: Finance"} <= set(texts(tree))


def test_progress_is_drawn_done_waiting_rejected_and_not_reached(rt, org):
    rec = quote(rt, org)
    tree, steps = drawn(rt, org, rec["id"])
    assert "fld-current" in steps["manager"] and "fld-todo" in steps["director"]
    cases = [g for g in tree.iter(SVG + "g") if "fld-case" in g.get("class", "").split()]
    skipped = ["fld-skipped" in g.get("class") for g in cases]
    assert skipped == [True, False]  # "Small discount" was not taken; the default was
    flows.act(org.actor("max"), task_of(org.max, rec["id"]).id, "approve")
    tree, steps = drawn(rt, org, rec["id"])
    assert "fld-done" in steps["manager"] and "fld-current" in steps["director"]
    flows.act(org.actor("dora"), task_of(org.dora, rec["id"]).id, "reject", comment="Too cheap")
    tree, steps = drawn(rt, org, rec["id"])
    assert "fld-rejected" in steps["director"] and "fld-todo" in steps["cc_1"]
    assert texts(tree)[-1] == "Rejected"


def test_a_small_discount_goes_past_the_branch_and_dims_the_manager(rt, org):
    rec = quote(rt, org, discount=5)
    tree, steps = drawn(rt, org, rec["id"])
    cases = [g for g in tree.iter(SVG + "g") if "fld-case" in g.get("class", "").split()]
    assert ["fld-skipped" in g.get("class") for g in cases] == [False, True]
    assert "fld-current" in steps["director"]


def test_a_parallel_step_lays_its_cases_side_by_side_with_a_nested_branch(make, org):
    rt = install(make, org, definition(big_flow(org)))
    rec = quote(rt, org, amount=9000)
    flows.act(org.actor("ann"), task_of(org.ann, rec["id"]).id, "approve")
    tree, steps = drawn(rt, org, rec["id"])
    assert "fld-done" in steps["intake"]
    assert "fld-current" in steps["finance"] and "fld-current" in steps["legal"]
    assert "fld-todo" in steps["cfo"] and "fld-todo" in steps["action_1"]
    words = texts(tree)
    assert {"Reviews · all branches", "Finance", "Sales", "Deal size", "Large amount", "Otherwise",
            "Role: Finance", "Head of Company", "Sets: Stage", "Mark sent"} <= set(words)

    def centre(step):
        box = next(g for g in tree.iter(SVG + "g") if g.get("data-step") == step).find(SVG + "rect")
        return float(box.get("x")) + float(box.get("width")) / 2, float(box.get("y"))

    assert centre("finance")[0] == centre("cfo")[0] < centre("legal")[0]  # cases side by side, each stacked
    assert centre("finance")[1] < centre("cfo")[1]
    cases = {g.find(SVG + "text").text: g for g in tree.iter(SVG + "g") if "fld-case" in g.get("class", "")}
    assert "fld-skipped" in cases["Otherwise"].get("class") and "fld-skipped" not in cases["Large amount"].get("class")
    width = float(tree.get("width"))
    assert width >= 3 * diagram.BOX_W  # two cases, one of them two cases wide


# -- the record page ---------------------------------------------------------------------------------
def page_of(client, rt, record_id, html):
    return html(client.get(f"/a/deals/f/quote/r/{record_id}"))


def flashes(page) -> str:
    return " ".join(a.text for a in page.select(cls="alert"))


def test_the_record_page_shows_the_approval(client, auth, rt, org, html):
    rec = quote(rt, org)
    auth.login(org.rita.email)
    page = page_of(client, rt, rec["id"], html)
    card = page.one(id="approval")
    assert card.one(cls="fl-badge").text == "In progress"
    assert "Waiting for: Max (Manager)" in card.text
    assert card.select("svg", role="img")
    assert card.one("g", data_step="manager").attrs["class"].split()[-1] == "fld-current"
    [line] = card.select("li", cls="fl-timeline-item")
    assert line.text.startswith("Rita submitted the record")
    buttons = [b.text for b in card.select("button")]
    assert "Withdraw" in buttons and "Remind" in buttons and "Submit again" not in buttons
    assert not card.select("a", href=f"/tasks/{task_of(org.max, rec['id']).id}")
    auth.logout()
    auth.login(org.max.email)
    card = page_of(client, rt, rec["id"], html).one(id="approval")
    assert card.select("a", href=f"/tasks/{task_of(org.max, rec['id']).id}")
    assert "Withdraw" not in [b.text for b in card.select("button")]


def test_a_form_without_a_flow_has_no_approval_card(client, auth, make, org, html):
    rt = install(make, org, definition(flows=[]))
    rec = quote(rt, org)
    auth.login(org.rita.email)
    page = page_of(client, rt, rec["id"], html)
    assert page.select(id="approval") == [] and page.select(cls="fl-dl")


def test_withdraw_and_submit_again_from_the_page(client, auth, rt, org, html):
    rec = quote(rt, org)
    auth.login(org.rita.email)
    url = f"/a/deals/f/quote/r/{rec['id']}"
    page = html(client.post(url + "/approval/withdraw", follow_redirects=True))
    assert "The record was withdrawn from approval." in flashes(page)
    card = page.one(id="approval")
    assert card.one(cls="fl-badge").text == "Withdrawn"
    assert "Rita withdrew the record" in card.text
    assert "Withdraw" not in [b.text for b in card.select("button")]
    assert "Submit again" in [b.text for b in card.select("button")]
    page = html(client.post(url + "/approval/submit", follow_redirects=True))
    assert "The record was submitted for approval." in flashes(page)
    assert page.one(id="approval").one(cls="fl-badge").text == "In progress"
    assert task_of(org.max, rec["id"]).status == "pending"


def test_withdraw_is_refused_once_an_approver_acted(client, auth, rt, org, html):
    rec = quote(rt, org)
    flows.act(org.actor("max"), task_of(org.max, rec["id"]).id, "approve", comment="Fine by me",
              fields={"notes": "Checked the margin"})
    auth.login(org.rita.email)
    url = f"/a/deals/f/quote/r/{rec['id']}"
    card = page_of(client, rt, rec["id"], html).one(id="approval")
    assert "Withdraw" not in [b.text for b in card.select("button")]
    approved = [li for li in card.select("li", cls="fl-timeline-item") if "approved" in li.text][0]
    assert "Max approved at Manager" in approved.text and "Fine by me" in approved.one("blockquote").text
    assert "Notes" in approved.one(cls="fl-changes").text and "Checked the margin" in approved.text
    page = html(client.post(url + "/approval/withdraw", follow_redirects=True))
    assert "An approver has acted already" in flashes(page)
    assert page.one(id="approval").one(cls="fl-badge").text == "In progress"
    db.session.rollback()
    assert db.session.execute(sa.select(FlowInstance.status).where(
        FlowInstance.record_id == rec["id"])).scalar() == "in_progress"


def test_remind_once_then_refused_for_a_while(client, auth, rt, org, html):
    rec = quote(rt, org)
    auth.login(org.rita.email)
    url = f"/a/deals/f/quote/r/{rec['id']}/approval/urge"
    assert "A reminder was sent to 1 person." in flashes(html(client.post(url, follow_redirects=True)))
    page = html(client.post(url, follow_redirects=True))
    assert "A reminder was sent a moment ago" in flashes(page)
    assert sum("sent a reminder" in li.text for li in page.select("li", cls="fl-timeline-item")) == 1


def test_a_comment_appears_in_the_timeline(client, auth, rt, org, html):
    rec = quote(rt, org)
    auth.login(org.max.email)
    url = f"/a/deals/f/quote/r/{rec['id']}/approval/comment"
    page = html(client.post(url, data={"comment": "Is <b>cost</b> right?"}, follow_redirects=True))
    assert "Your comment was added." in flashes(page)
    line = page.one(id="approval").select("li", cls="fl-timeline-item")[-1]
    assert line.text.startswith("Max commented") and line.one("blockquote").text == "Is <b>cost</b> right?"
    page = html(client.post(url, data={"comment": "  "}, follow_redirects=True))
    assert "Write a comment" in flashes(page)


def test_a_returned_record_says_so(client, auth, rt, org, html):
    rec = quote(rt, org)
    flows.act(org.actor("max"), task_of(org.max, rec["id"]).id, "return", comment="Add the cost")
    auth.login(org.rita.email)
    card = page_of(client, rt, rec["id"], html).one(id="approval")
    assert card.one(cls="fl-badge").text == "Returned to the submitter"
    assert "returned to the person who submitted it" in card.text
    assert "fld-returned" in card.one("g", data_step="manager").attrs["class"]
    assert card.select("a", href=f"/tasks/{task_of(org.rita, rec['id']).id}")


def test_someone_who_cannot_see_the_record_gets_404(client, auth, make, rt, org):
    rec = quote(rt, org)
    outsider = make.user("Otto")
    auth.login(outsider.email)
    url = f"/a/deals/f/quote/r/{rec['id']}"
    assert client.get(url).status_code == 404
    assert client.post(url + "/approval/comment", data={"comment": "hi"}).status_code == 404
    assert client.post(url + "/approval/urge").status_code == 404


def test_a_draft_shows_the_flow_it_will_go_through(client, auth, rt, org, html):
    data = {"title": "Q1", "amount": 1000, "discount": 15, "owner": org.rita.id}
    rec = records.create(org.actor("rita"), rt, "quote", data, draft=True)
    auth.login(org.rita.email)
    card = page_of(client, rt, rec["id"], html).one(id="approval")
    assert card.one(cls="fl-badge").text == "Draft: not submitted"
    assert "it goes to approval once it is completed and saved" in card.text
    assert card.select("button") == [] and card.select("textarea") == []
    assert "fld-current" not in card.one("g", data_step="manager").attrs["class"]
    assert "Nothing has happened yet." in card.text
