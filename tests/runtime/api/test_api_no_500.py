"""Ordinary requests with odd values get a 4xx problem+json that names the problem, never a 500.

Each case was a 500 before (security issue 12): integers too large for the database, ids
beyond 32 bits in paths, bodies and cursors, deeply nested JSON, lone surrogates and NUL
characters in text, and formulas that exceed their limits on a record.
"""
import base64
import json
from urllib.parse import quote

import pytest

from support_formloom import problem

BASE = "/api/v1/apps/sales_mini/forms"
HUGE = 10**20  # beyond 64 bits
BIG = 2**31  # beyond the 32-bit id columns
DEEP = "[" * 100_000


def cursor(signature, values) -> str:
    raw = json.dumps({"s": signature, "v": values}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def flt(condition) -> str:
    return "filter=" + quote(json.dumps(condition))


CASES = {
    # ids in paths (the int converter of every route)
    "path id > 64 bits": ("get", f"{BASE}/company/records/{HUGE}", None, 404),
    "path id > 32 bits": ("get", f"{BASE}/company/records/{BIG}", None, 404),
    "patch id > 32 bits": ("patch", f"{BASE}/company/records/{BIG}", {"fields": {}}, 404),
    "delete id > 64 bits": ("delete", f"{BASE}/company/records/{HUGE}", None, 404),
    "history id > 32 bits": ("get", f"{BASE}/company/records/{BIG}/history", None, 404),
    "restore id > 64 bits": ("post", f"{BASE}/company/records/{HUGE}/restore", None, 404),
    "flow id > 32 bits": ("get", f"{BASE}/company/records/{BIG}/flow", None, 404),
    "task id > 64 bits": ("get", f"/api/v1/tasks/{HUGE}", None, 404),
    "user id > 32 bits": ("patch", f"/api/v1/users/{BIG}", {"name": "x"}, 404),
    "department id > 64 bits": ("delete", f"/api/v1/departments/{HUGE}", None, 404),
    "member id > 32 bits": ("delete", f"/api/v1/apps/sales_mini/members/{BIG}", None, 404),
    "refresh id > 64 bits": ("get", f"/api/v1/apps/sales_mini/refreshes/{HUGE}", None, 404),
    "token id > 32 bits": ("delete", f"/api/v1/tokens/{BIG}", None, 404),
    # filters
    "filter number > 64 bits": ("get", f"{BASE}/deal/records?" + flt({"field": "amount", "op": "eq", "value": HUGE}), None, 422),
    "filter number list > 64 bits": ("get", f"{BASE}/deal/records?" + flt({"field": "amount", "op": "in", "value": [1, HUGE]}), None, 422),
    "filter $id > 32 bits": ("get", f"{BASE}/deal/records?" + flt({"field": "$id", "op": "eq", "value": BIG}), None, 422),
    "filter link > 64 bits": ("get", f"{BASE}/deal/records?" + flt({"field": "company", "op": "eq", "value": HUGE}), None, 422),
    "filter user > 32 bits": ("get", f"{BASE}/company/records?" + flt({"field": "owner", "op": "eq", "value": BIG}), None, 422),
    "filter $owner > 32 bits": ("get", f"{BASE}/company/records?" + flt({"field": "$owner", "op": "in", "value": [BIG]}), None, 422),
    "filter nested too deeply": ("get", f"{BASE}/deal/records?filter=" + DEEP, None, 422),
    # cursors
    "cursor number > 64 bits": ("get", f"{BASE}/deal/records?sort=amount&cursor=" + cursor(["amount", "$id"], [HUGE, 1]), None, 422),
    "cursor id > 32 bits": ("get", f"{BASE}/deal/records?cursor=" + cursor(["-$id"], [BIG]), None, 422),
    "cursor id > 64 bits": ("get", f"{BASE}/deal/records?cursor=" + cursor(["-$id"], [HUGE]), None, 422),
    # JSON bodies
    "body nested too deeply": ("post", f"{BASE}/company/records", DEEP, 422),
    "body nested too deeply, idempotent": ("post", f"{BASE}/company/records", DEEP, 422),
    "lone surrogate in a text value": ("post", f"{BASE}/company/records", '{"fields": {"name": "\\ud800"}}', 422),
    "NUL in a text value": ("post", f"{BASE}/company/records", '{"fields": {"name": "a\\u0000b"}}', 422),
    "NUL in a key": ("post", f"{BASE}/company/records", '{"fields": {"name": "a", "x\\u0000": 1}}', 422),
    "number field > 64 bits": ("post", f"{BASE}/company/records", {"fields": {"name": "a", "revenue": HUGE}}, 422),
    "number field beyond floats": ("post", f"{BASE}/company/records", '{"fields": {"name": "a", "revenue": 1e400}}', 422),
    "bulk user ids > 32 bits": ("post", f"{BASE}/company/records/bulk", {"records": [{"fields": {"name": "a", "owner": [BIG]}}]}, 422),
    "bulk user id in superscript digits": ("post", f"{BASE}/company/records/bulk", {"records": [{"fields": {"name": "a", "owner": "²"}}]}, 422),
    "link field > 64 bits": ("post", f"{BASE}/deal/records", {"fields": {"title": "a", "company": HUGE}}, 422),
    "notifications read id > 64 bits": ("post", "/api/v1/notifications/read", {"ids": [HUGE]}, 422),
    "notifications read id > 32 bits": ("post", "/api/v1/notifications/read", {"ids": [BIG]}, 422),
    "tasks batch id > 32 bits": ("post", "/api/v1/tasks/batch", {"action": "approve", "ids": [BIG]}, 422),
    "member user > 32 bits": ("post", "/api/v1/apps/sales_mini/members", {"user": BIG}, 422),
    "department parent > 64 bits": ("post", "/api/v1/departments", {"name": "D", "parent": HUGE}, 422),
    "user department > 32 bits": ("post", "/api/v1/users", {"email": "a@example.com", "name": "A", "department": BIG}, 422),
    "reassign to > 32 bits": ("post", "/api/v1/users/1/reassign", {"to": BIG}, 422),
    "tasks cursor > 64 bits": ("get", f"/api/v1/tasks?cursor={HUGE}", None, 422),
    "users department > 64 bits": ("get", f"/api/v1/users?department={HUGE}", None, 422),
    "users role in superscript digits": ("get", "/api/v1/users?role=%C2%B2", None, 422),
    "draft nested too deeply": ("put", "/api/v1/apps/sales_mini/draft", DEEP, 422),
}


@pytest.mark.parametrize("case", list(CASES))
def test_odd_values_are_4xx_problems(api, make, api_as, case):
    method, url, body, status = CASES[case]
    if url.startswith(("/api/v1/users", "/api/v1/departments")):
        api = api_as(make.user("Admin", admin=True, password=None))
    headers = {"Idempotency-Key": "k1"} if "idempotent" in case else {}
    if isinstance(body, str):
        resp = getattr(api, method)(url, data=body, headers={**headers, "Content-Type": "application/json"})
    else:
        resp = getattr(api, method)(url, json=body, headers=headers)
    got = problem(resp, status)
    if status == 422:
        assert got["errors"] and all("pointer" in e or "field" in e for e in got["errors"]), got


def with_formulas(echo: str, nul: bool = False) -> dict:
    from support_formloom import DATA

    definition = json.loads((DATA / "sales-mini.json").read_text("utf-8"))
    definition["forms"][0]["fields"] += [
        {"key": "blurb", "type": "textarea", "label": "Blurb", "max_length": 5000},
        {"key": "echo", "type": "formula", "label": "Echo", "expr": echo}]
    if nul:  # a definition made by a service (not the API, which refuses NUL): text with a NUL
        definition["forms"][0]["fields"].append(
            {"key": "nul", "type": "formula", "label": "Nul", "expr": 'CONCATENATE(name, "\x00")'})
    return definition


GROWS = 'SUBSTITUTE(blurb, "a", blurb)'  # 1,000 characters become 1,000,000


def test_a_formula_beyond_its_limits_on_a_record_is_422(any_db, app, make, owner, api_as):
    make.install(with_formulas(GROWS), owner=owner)
    api = api_as(owner)
    body = problem(api.post(f"{BASE}/company/records", json={"fields": {"name": "A", "blurb": "a" * 1000}}), 422)
    assert body["errors"][0]["field"] == "echo" and "limits" in body["errors"][0]["message"]
    made = api.post(f"{BASE}/company/records", json={"fields": {"name": "A", "blurb": "ab"}})
    assert made.status_code == 201 and made.get_json()["fields"]["echo"] == "abb"
    body = problem(api.patch(f"{BASE}/company/records/{made.get_json()['id']}",
                             json={"fields": {"blurb": "a" * 1000}}), 422)
    assert body["errors"][0]["field"] == "echo"


def test_a_formula_that_yields_nul_is_422(any_db, app, make, owner, api_as):
    make.install(with_formulas("blurb", nul=True), owner=owner)
    body = problem(api_as(owner).post(f"{BASE}/company/records", json={"fields": {"name": "A"}}), 422)
    assert body["errors"] == [{"field": "nul", "message": "its formula's result must not contain the NUL character"}]


def test_a_publish_whose_formula_fails_on_existing_records_is_refused(any_db, app, make, owner, api_as):
    make.install(with_formulas("blurb"), owner=owner)
    api = api_as(owner)
    record = api.post(f"{BASE}/company/records", json={"fields": {"name": "A", "blurb": "a" * 1000}}).get_json()
    assert api.put("/api/v1/apps/sales_mini/draft", json=with_formulas(GROWS)).get_json()["valid"]
    body = problem(api.post("/api/v1/apps/sales_mini/publish", json={}), 422)
    fields = with_formulas(GROWS)["forms"][0]["fields"]
    assert body["errors"][0]["pointer"] == f"/forms/0/fields/{len(fields) - 1}/expr"
    assert body["errors"][0]["record_id"] == record["id"]
    assert api.get("/api/v1/apps/sales_mini/definition").get_json() == with_formulas("blurb")
    assert api.get(f"{BASE}/company/records/{record['id']}").get_json()["fields"]["echo"] == "a" * 1000


def test_a_version_beyond_the_column_in_if_match_is_422(api):
    made = api.post(f"{BASE}/company/records", json={"fields": {"name": "A"}}).get_json()
    for version in (str(HUGE), str(BIG), "²"):
        resp = api.patch(f"{BASE}/company/records/{made['id']}", json={"fields": {"name": "B"}},
                         headers={"If-Match": f'"{version}"'})
        assert problem(resp, 422)["errors"][0]["field"] == "If-Match"


def test_filters_on_a_small_integer_column_take_any_number(any_db, app, make, owner, api_as):
    """A rating is a SMALLINT: PostgreSQL casts a bind to it, so 2**40 or 2.5 must be bound wider."""
    from support_formloom import DATA

    definition = json.loads((DATA / "sales-mini.json").read_text("utf-8"))
    definition["forms"][0]["fields"].append({"key": "stars", "type": "rating", "label": "Stars"})
    make.install(definition, owner=owner)
    api = api_as(owner)
    made = api.post(f"{BASE}/company/records", json={"fields": {"name": "A", "stars": 3}}).get_json()

    def found(condition) -> list[int]:
        resp = api.get(f"{BASE}/company/records?" + flt(condition))
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return [r["id"] for r in resp.get_json()["items"]]

    assert found({"field": "stars", "op": "eq", "value": 2**40}) == []
    assert found({"field": "stars", "op": "lt", "value": 2**40}) == [made["id"]]
    assert found({"field": "stars", "op": "gt", "value": 2.5}) == [made["id"]]
    assert found({"field": "stars", "op": "in", "value": [3, 2**62]}) == [made["id"]]
    assert found({"field": "stars", "op": "between", "value": [2.5, 1e300]}) == [made["id"]]
    for value in (2**15, 2**40, 2.5):
        resp = api.get(f"{BASE}/company/records?sort=stars&cursor=" + cursor(["stars", "$id"], [value, 1]))
        assert problem(resp, 422)["errors"] == [{"field": "cursor", "message": "is not valid"}]


def test_nul_in_csv_imports_uploads_and_headers(api, make, api_as):
    import io

    admin = api_as(make.user("Admin", admin=True, password=None))
    body = problem(admin.post("/api/v1/users/import", data=b"email,name\na@example.com,A\x00B\n",
                              headers={"Content-Type": "text/csv"}), 422)
    assert "NUL" in body["detail"] and "line 2" in body["detail"] and body["errors"][0]["field"] == "file"
    for content_type in ("text/pl\x00ain", "text/" + "x" * 500):
        resp = api.client.post("/api/v1/apps/sales_mini/files", headers=api._headers(None),
                               data={"file": (io.BytesIO(b"x"), "a\x00b.txt", content_type)})
        assert resp.status_code == 201, resp.get_data(as_text=True)
        assert "\x00" not in resp.get_json()["content_type"] and resp.get_json()["name"] == "ab.txt"
    body = problem(api.post(f"{BASE}/company/records", json={"fields": {"name": "q"}},
                            headers={"Idempotency-Key": "a\x00b"}), 422)
    assert body["errors"] == [{"field": "Idempotency-Key", "message": "must not contain the NUL character"}]
