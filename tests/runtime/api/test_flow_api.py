"""The approval flow API: the inbox, a task and its actions, batches, and a record's approval."""
from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from support_flows import build_org, definition, install

QUOTES = "/api/v1/apps/deals/forms/quote/records"


@pytest.fixture
def org(any_db, make):
    """The org of support_flows, on SQLite and on PostgreSQL."""
    return build_org(make)


@pytest.fixture
def rt(make, org):
    return install(make, org)


@pytest.fixture
def as_(org, api_as):
    """`as_("max")` -> an API client acting as that person of the org."""
    return lambda name, **kw: api_as(getattr(org, name), **kw)


def submit(api, **fields) -> dict:
    resp = api.post(QUOTES, json={"fields": {"title": "Q1", "amount": 1000, "discount": 15, "cost": 700, **fields}})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def pending_ids(api) -> list[int]:
    return [t["id"] for t in api.get("/api/v1/tasks").get_json()["items"]]


def act(api, task_id: int, **body):
    return api.post(f"/api/v1/tasks/{task_id}/actions", json=body)


# -- the inbox --------------------------------------------------------------------------------------
def test_the_inbox_lists_tasks_newest_first_by_cursor_and_counts_them(rt, org, as_):
    rita, max_ = as_("rita"), as_("max")
    quotes = [submit(rita, title=f"Q{i}") for i in range(3)]
    first = max_.get("/api/v1/tasks?limit=2").get_json()
    assert [t["record_id"] for t in first["items"]] == [quotes[2]["id"], quotes[1]["id"]]
    item = first["items"][0]
    assert {k: item[k] for k in ("app", "form", "step", "status", "assignee", "title", "step_name")} == {
        "app": "deals", "form": "quote", "step": "manager", "status": "pending", "assignee": org.max.id,
        "title": "Q2", "step_name": "Manager"}
    assert "due_at" in item and item["submitter_name"] == "Rita"
    rest = max_.get(f"/api/v1/tasks?limit=2&cursor={first['next_cursor']}").get_json()
    assert [t["record_id"] for t in rest["items"]] == [quotes[0]["id"]] and rest["next_cursor"] is None
    assert max_.get("/api/v1/tasks/counts").get_json() == {"pending": 3, "cc": 0, "submitted": 0}
    assert rita.get("/api/v1/tasks/counts").get_json() == {"pending": 0, "cc": 0, "submitted": 3}
    mine = rita.get("/api/v1/tasks?box=submitted").get_json()["items"]
    assert [(i["record_id"], i["status"], i["step"]) for i in mine] == [
        (q["id"], "in_progress", "manager") for q in reversed(quotes)]
    assert rita.get("/api/v1/tasks").get_json() == {"items": [], "next_cursor": None}


def test_the_inbox_refuses_unknown_lists_and_cursors(rt, org, as_):
    max_ = as_("max")
    for query, field in (("status=archived", "status"), ("box=all", "box"), ("cursor=abc", "cursor"),
                         ("limit=0", "limit")):
        resp = max_.get(f"/api/v1/tasks?{query}")
        assert resp.status_code == 422 and resp.get_json()["errors"][0]["field"] == field, query


def test_done_and_cc_lists(rt, org, as_):
    rita, max_, dora = as_("rita"), as_("max"), as_("dora")
    quote = submit(rita, owner=org.rita.id)
    assert act(max_, pending_ids(max_)[0], action="approve").status_code == 200
    assert act(dora, pending_ids(dora)[0], action="approve").status_code == 200
    done = max_.get("/api/v1/tasks?status=done").get_json()["items"]
    assert [(t["record_id"], t["status"]) for t in done] == [(quote["id"], "approved")]
    cc = rita.get("/api/v1/tasks?status=cc").get_json()["items"]
    assert [(t["kind"], t["status"]) for t in cc] == [("cc", "unread")]
    assert rita.get("/api/v1/tasks/counts").get_json()["cc"] == 1
    rita.get(f"/api/v1/tasks/{cc[0]['id']}")  # opening a copy reads it
    assert rita.get("/api/v1/tasks/counts").get_json()["cc"] == 0


# -- one task -----------------------------------------------------------------------------------------
def test_a_task_shows_the_record_as_its_step_does(rt, org, as_):
    quote = submit(as_("rita"), notes="first")
    max_ = as_("max")
    [task_id] = pending_ids(max_)
    body = max_.get(f"/api/v1/tasks/{task_id}").get_json()
    assert body["task"]["id"] == task_id and body["task"]["step_name"] == "Manager"
    assert body["record"]["id"] == quote["id"] and body["record"]["fields"]["notes"] == "first"
    assert "cost" not in body["record"]["fields"]  # the manager's step hides it
    assert body["editable"] == ["notes"]
    assert body["actions"] == ["approve", "reject", "return", "transfer", "add_signer"]
    assert body["returnable"] == []
    assert [e["action"] for e in body["timeline"]] == ["submitted"]
    assert body["timeline"][0]["actor_name"] == "Rita"
    assert body["instance"]["status"] == "in_progress" and body["instance"]["flow_name"] == "Quote approval"
    # Somebody else's task does not exist for Sam.
    assert as_("sam").get(f"/api/v1/tasks/{task_id}").status_code == 404
    assert as_("max").get("/api/v1/tasks/999999").status_code == 404


def test_approve_with_an_editable_field_then_a_second_approve_is_a_conflict(rt, org, as_):
    quote = submit(as_("rita"))
    max_ = as_("max")
    [task_id] = pending_ids(max_)
    refused = act(max_, task_id, action="approve", fields={"amount": 1})
    assert refused.status_code == 403 and refused.get_json()["errors"][0]["field"] == "amount"
    resp = act(max_, task_id, action="approve", comment="fine", fields={"notes": "checked"})
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "approved" and resp.get_json()["comment"] == "fine"
    again = act(max_, task_id, action="approve")
    assert again.status_code == 409 and again.headers["Content-Type"] == "application/problem+json"
    owner = as_("ann").get(f"{QUOTES}/{quote['id']}").get_json()
    assert owner["fields"]["notes"] == "checked" and owner["flow_status"] == "in_progress"
    assert len(pending_ids(as_("dora"))) == 1  # one transition, not two


def test_an_unknown_action_or_a_bad_target_is_refused(rt, org, as_):
    submit(as_("rita"))
    max_ = as_("max")
    [task_id] = pending_ids(max_)
    for body, field in (({"action": "bless"}, "action"), ({}, "action"),
                        ({"action": "approve", "fields": ["notes"]}, "fields"),
                        ({"action": "return", "to": "nowhere"}, "to"),
                        ({"action": "transfer", "to": "sam"}, "to"),
                        ({"action": "add_signer", "to": org.sam.id, "position": "beside"}, "position"),
                        ({"action": "submit"}, "action")):
        resp = act(max_, task_id, **body)
        assert resp.status_code == 422, body
        assert resp.get_json()["errors"][0]["field"] == field, body
    assert pending_ids(max_) == [task_id]  # nothing happened


def test_transfer_and_add_signer(rt, org, as_):
    submit(as_("rita"))
    max_, sam, fay = as_("max"), as_("sam"), as_("fay")
    [task_id] = pending_ids(max_)
    resp = act(max_, task_id, action="transfer", to=org.sam.id, comment="yours")
    assert resp.get_json()["status"] == "transferred" and pending_ids(max_) == []
    [sam_task] = pending_ids(sam)
    assert act(sam, sam_task, action="add_signer", to=org.fay.id, position="before").status_code == 200
    assert pending_ids(sam) == [] and len(pending_ids(fay)) == 1
    assert act(fay, pending_ids(fay)[0], action="approve").status_code == 200
    assert pending_ids(sam) == [sam_task]


def test_return_to_the_submitter_who_submits_again_with_changes(rt, org, as_):
    quote = submit(as_("rita"))
    rita, max_, dora = as_("rita"), as_("max"), as_("dora")
    act(max_, pending_ids(max_)[0], action="approve")
    [dora_task] = pending_ids(dora)
    assert dora.get(f"/api/v1/tasks/{dora_task}").get_json()["returnable"] == [{"step": "manager", "name": "Manager"}]
    assert act(dora, dora_task, action="return", to="submitter", comment="lower it").status_code == 200
    [back] = rita.get("/api/v1/tasks").get_json()["items"]
    assert (back["kind"], back["step"]) == ("submit", "submitter")
    assert rita.get(f"/api/v1/tasks/{back['id']}").get_json()["actions"] == ["submit"]
    resp = act(rita, back["id"], action="submit", fields={"discount": 12, "cost": 650}, comment="done")
    assert resp.status_code == 200
    assert rita.get(f"{QUOTES}/{quote['id']}").get_json()["fields"]["discount"] == 12
    [again] = dora.get("/api/v1/tasks").get_json()["items"]
    assert again["step"] == "director"  # continues where it was returned
    assert act(dora, again["id"], action="return", to="manager").status_code == 200
    [manager_again] = max_.get("/api/v1/tasks").get_json()["items"]
    assert manager_again["step"] == "manager"
    # The timeline shows the manager the resubmitted changes, but not those to the hidden cost.
    timeline = max_.get(f"/api/v1/tasks/{manager_again['id']}").get_json()["timeline"]
    [resubmitted] = [e for e in timeline if e["action"] == "resubmitted"]
    assert resubmitted["detail"]["changes"] == {"discount": [15, 12]}


# -- tokens -------------------------------------------------------------------------------------------
def test_a_read_only_token_reads_tasks_but_cannot_act(rt, org, as_):
    submit(as_("rita"))
    reader = as_("max", read_only=True)
    [task_id] = pending_ids(reader)
    assert reader.get(f"/api/v1/tasks/{task_id}").status_code == 200
    assert act(reader, task_id, action="approve").status_code == 403
    assert reader.post("/api/v1/tasks/batch", json={"action": "approve", "ids": [task_id]}).status_code == 403
    assert pending_ids(as_("max")) == [task_id]


def test_a_token_for_another_app_does_not_reach_the_tasks(rt, org, make, as_):
    other = make.install("sales-mini", owner=org.ann, members=[org.max])
    submit(as_("rita"))
    [task_id] = pending_ids(as_("max"))
    limited = as_("max", app_id=other.app_id)
    assert limited.get("/api/v1/tasks").get_json()["items"] == []
    assert limited.get(f"/api/v1/tasks/{task_id}").status_code == 404
    assert act(limited, task_id, action="approve").status_code == 404
    batch = limited.post("/api/v1/tasks/batch", json={"action": "approve", "ids": [task_id]}).get_json()
    assert batch["results"][0]["status"] == 404
    own_app = as_("max", app_id=rt.app_id)
    assert act(own_app, task_id, action="approve").status_code == 200


# -- batches ------------------------------------------------------------------------------------------
def test_a_batch_acts_on_each_task_on_its_own(rt, org, as_):
    rita, max_ = as_("rita"), as_("max")
    submit(rita, title="A")
    submit(rita, title="B")
    first, second = sorted(pending_ids(max_))
    act(max_, first, action="approve")
    resp = max_.post("/api/v1/tasks/batch", json={"action": "approve", "ids": [first, second, 999999],
                                                  "comment": "all good"})
    assert resp.status_code == 200
    body = resp.get_json()
    by_id = {r["id"]: r for r in body["results"]}
    assert (by_id[first]["ok"], by_id[first]["status"]) == (False, 409)
    assert by_id[second]["ok"] is True and by_id[second]["task"]["status"] == "approved"
    assert by_id[second]["task"]["comment"] == "all good"
    assert (by_id[999999]["ok"], by_id[999999]["status"]) == (False, 404)
    assert (body["done"], body["failed"]) == (1, 2)
    assert len(pending_ids(as_("dora"))) == 2  # both quotes reached the director


def test_a_batch_refuses_other_actions_and_bad_ids(rt, org, as_):
    max_ = as_("max")
    for body, field in (({"action": "return", "ids": [1]}, "action"), ({"action": "approve", "ids": []}, "ids"),
                        ({"action": "approve", "ids": ["1"]}, "ids"), ({"action": "approve"}, "ids")):
        resp = max_.post("/api/v1/tasks/batch", json=body)
        assert resp.status_code == 422 and resp.get_json()["errors"][0]["field"] == field, body


# -- a record's approval ------------------------------------------------------------------------------
def test_withdraw_then_submit_again(rt, org, as_):
    rita = as_("rita")
    quote = submit(rita)
    url = f"{QUOTES}/{quote['id']}"
    assert as_("sam").post(f"{url}/withdraw").status_code == 403  # not the submitter
    resp = rita.post(f"{url}/withdraw", json={"comment": "wrong price"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "withdrawn"
    assert rita.post(f"{url}/withdraw").status_code == 409  # not in an approval any more
    flow = rita.get(f"{url}/flow").get_json()
    assert flow["instance"]["status"] == "withdrawn" and flow["can_withdraw"] is False
    assert [e["action"] for e in flow["timeline"]][-2:] == ["withdrawn", "finished"]
    assert flow["timeline"][-2]["comment"] == "wrong price"
    assert pending_ids(as_("max")) == []
    again = rita.post(f"{url}/submit")
    assert again.status_code == 201 and again.get_json()["status"] == "in_progress"
    assert rita.post(f"{url}/submit").status_code == 409  # in an approval already
    assert rita.get(url).get_json()["flow_status"] == "in_progress"
    assert len(pending_ids(as_("max"))) == 1


def test_the_record_flow_urge_and_comments(rt, org, as_):
    rita, max_ = as_("rita"), as_("max")
    quote = submit(rita)
    url = f"{QUOTES}/{quote['id']}"
    flow = rita.get(f"{url}/flow").get_json()
    assert flow["instance"]["step"] == "manager" and flow["instance"]["step_name"] == "Manager"
    assert (flow["can_withdraw"], flow["can_urge"], flow["my_task"]) == (True, True, None)
    assert [(t["assignee_name"], t["status"]) for t in flow["tasks"]] == [("Max", "pending")]
    assert max_.get(f"{url}/flow").get_json()["my_task"] == pending_ids(max_)[0]
    assert rita.post(f"{url}/urge").get_json() == {"told": 1}
    assert rita.post(f"{url}/urge").status_code == 409  # a moment ago
    assert as_("sam").post(f"{url}/urge").status_code == 403
    assert max_.post(f"{url}/comments", json={"comment": "Looking at it"}).status_code == 201
    assert max_.post(f"{url}/comments", json={"comment": "  "}).status_code == 422
    assert as_("sam").post(f"{url}/comments", json={"comment": "me too"}).status_code == 403
    timeline = rita.get(f"{url}/flow").get_json()["timeline"]
    assert [(e["action"], e["actor_name"], e["comment"]) for e in timeline][-2:] == [
        ("urged", "Rita", None), ("commented", "Max", "Looking at it")]
    draft = rita.post(QUOTES, json={"fields": {"title": "D"}, "draft": True}).get_json()
    assert rita.get(f"{QUOTES}/{draft['id']}/flow").get_json()["instance"] is None


def test_the_record_flow_is_not_found_for_someone_who_cannot_see_the_record(make, org, as_, api_as):
    defn = definition()
    defn["forms"][0]["members"] = "own"
    install(make, org, defn)
    rita, sam = as_("rita"), as_("sam")
    quote = submit(rita, owner=org.rita.id)
    url = f"{QUOTES}/{quote['id']}"
    assert rita.get(f"{url}/flow").status_code == 200
    for resp in (sam.get(f"{url}/flow"), sam.post(f"{url}/withdraw"), sam.post(f"{url}/urge"),
                 sam.post(f"{url}/comments", json={"comment": "hi"}), sam.post(f"{url}/submit")):
        assert resp.status_code == 404
    # The manager cannot open the record, but takes part in its approval: he may comment.
    assert as_("max").post(f"{url}/comments", json={"comment": "seen"}).status_code == 201
    assert api_as(make.user("Olga")).get(f"{url}/flow").status_code == 404  # not in the app


def test_the_openapi_document_lists_the_flow_routes(rt, org, as_):
    doc = as_("rita").get("/api/v1/openapi.json").get_json()
    validate(doc)
    for path in ("/api/v1/tasks", "/api/v1/tasks/counts", "/api/v1/tasks/batch", "/api/v1/tasks/{id}",
                 "/api/v1/tasks/{id}/actions"):
        assert path in doc["paths"]
    for route in ("flow", "submit", "withdraw", "urge", "comments"):
        assert f"{QUOTES}/{{id}}/{route}" in doc["paths"]
    assert "/api/v1/apps/deals/forms/order/records/{id}/flow" not in doc["paths"]  # no flow there
