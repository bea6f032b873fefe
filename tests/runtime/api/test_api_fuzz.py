"""Fuzzing the record API: whatever a client sends, the answer is never a 5xx.

Hypothesis draws request shapes (filters, sorts, cursors, limits, ids, bodies) from values
that were 500s before (huge integers, deep nesting, NUL and lone surrogates, odd floats)
mixed with ordinary ones. Bounded and deterministic: a fixed number of examples, derandomized,
no deadline, so it runs in seconds on both databases. An unexpected exception fails the test
(the test app propagates it), and so does any 5xx or a 4xx that is not problem+json.
"""
import base64
import json
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BASE = "/api/v1/apps/sales_mini/forms"
FORMS = ["company", "deal", "quote"]
FIELDS = ["name", "tier", "tags", "revenue", "since", "owner", "active", "title", "company", "stage",
          "amount", "weighted", "close_date", "items", "total", "number", "attachment", "nope",
          "$id", "$created_at", "$updated_at", "$owner", "$created_by", "$flow_status", "$deleted_at"]
OPS = ["eq", "ne", "gt", "gte", "lt", "lte", "before", "after", "between", "in", "not_in", "contains",
       "not_contains", "starts_with", "ends_with", "has_any", "has_all", "is_empty", "is_not_empty", "bogus"]

integers = st.one_of(st.integers(-3, 3), st.sampled_from([2**31 - 1, 2**31, -(2**31) - 1, 2**53, 2**63 - 1,
                                                           2**63, -(2**63) - 1, 10**20, 10**400]),
                     st.integers())
floats = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([1e308, -0.0, 5e-324]))
texts = st.one_of(st.sampled_from(["", "a", "A", "2026-01-31", "2026-01-31T09:30:00", "99999-01-01",
                                   "\x00", "a\x00b", "\ud800", "x\udfff", "%", "_", "😀", "#1", "P1D"]),
                  st.text(max_size=8))
scalars = st.one_of(st.none(), st.booleans(), integers, floats, texts)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.one_of(texts, st.sampled_from(FIELDS)), inner, max_size=3)),
    max_leaves=8)
conditions = st.recursive(
    st.fixed_dictionaries({"field": st.sampled_from(FIELDS), "op": st.sampled_from(OPS)},
                          optional={"value": json_values}),
    lambda inner: st.one_of(st.fixed_dictionaries({"all": st.lists(inner, max_size=3)}),
                            st.fixed_dictionaries({"any": st.lists(inner, max_size=3)}),
                            st.fixed_dictionaries({"not": inner})),
    max_leaves=4)


def _json(value) -> str:
    return json.dumps(value)  # ensure_ascii: NUL and lone surrogates travel as \\u escapes


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


cursors = st.one_of(
    texts,
    st.builds(lambda s, v: _b64(_json({"s": s, "v": v}).encode()),
              st.sampled_from([["-$id"], ["amount", "$id"], ["-close_date", "$id"], ["title", "$id"]]),
              st.lists(json_values, max_size=3)),
    st.builds(lambda v: _b64(_json(v).encode()), json_values))
deep = st.integers(1, 100_000).map(lambda n: "[" * n + "]" * (n % 2) * n)
filters = st.one_of(conditions.map(_json), json_values.map(_json), texts, deep)
sorts = st.lists(st.builds(lambda minus, key: minus + key, st.sampled_from(["", "-", "+"]),
                           st.one_of(st.sampled_from(FIELDS), texts)), max_size=3).map(",".join)
path_ids = st.one_of(integers.filter(lambda n: n >= 0).map(str), texts.map(lambda t: quote(t, safe="", errors="surrogatepass")))


@st.composite
def requests(draw):
    form = draw(st.sampled_from(FORMS))
    kind = draw(st.sampled_from(["list", "get", "create", "update", "delete", "bulk", "raw"]))
    if kind == "list":
        params = {}
        for name, strategy in (("filter", filters), ("sort", sorts), ("cursor", cursors),
                               ("limit", st.one_of(integers.map(str), texts)), ("deleted", texts)):
            if draw(st.booleans()):
                params[name] = draw(strategy)
        query = "&".join(f"{k}={quote(v, safe='', errors='surrogatepass')}" for k, v in params.items())
        return "get", f"{BASE}/{form}/records?{query}", None
    if kind in ("get", "delete"):
        return kind, f"{BASE}/{form}/records/{draw(path_ids)}", None
    fields = draw(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=4))
    body = {"fields": fields, **draw(st.fixed_dictionaries({}, optional={"draft": json_values}))}
    if kind == "create":
        return "post", f"{BASE}/{form}/records", _json(body)
    if kind == "update":
        return "patch", f"{BASE}/{form}/records/{draw(path_ids)}", _json(body)
    if kind == "bulk":
        return "post", f"{BASE}/{form}/records/bulk", _json({"records": draw(st.lists(st.just(body), max_size=2))})
    return draw(st.sampled_from(["post", "patch"])), f"{BASE}/{form}/records", draw(st.one_of(deep, texts))


def test_the_record_api_never_answers_5xx(api):
    company = api.post(f"{BASE}/company/records", json={"fields": {"name": "Acme", "revenue": 5}}).get_json()
    for i in range(3):
        api.post(f"{BASE}/deal/records", json={"fields": {"title": f"D{i}", "company": company["id"], "amount": i}})

    @settings(max_examples=120, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(requests())
    def fuzz(request):
        method, url, body = request
        headers = {"Content-Type": "application/json"} if body is not None else {}
        data = body.encode("utf-8", "surrogatepass") if body is not None else None  # raw bytes, as sent
        resp = getattr(api, method)(url, data=data, headers=headers)
        assert resp.status_code < 500, (method, url, body and body[:200], resp.get_data(as_text=True)[:500])
        if resp.status_code >= 400:
            assert resp.mimetype == "application/problem+json", resp.get_data(as_text=True)[:500]
            assert resp.get_json()["detail"]

    fuzz()


page_texts = st.one_of(texts.filter(lambda t: "\x00" not in t), integers.map(str), integers.map(lambda n: f"#{n}"))


@st.composite
def page_requests(draw):
    form = draw(st.sampled_from(FORMS))
    base = f"/a/sales_mini/f/{form}"
    kind = draw(st.sampled_from(["list", "lookup", "new", "record"]))
    if kind in ("list", "lookup"):
        names = ["q", "sort", "cursor", "deleted", "f_stage", "f_tier", "f_company", "f_owner"]
        params = draw(st.dictionaries(st.sampled_from(names), st.one_of(page_texts, sorts, cursors), max_size=4))
        return "get", base + ("/lookup" if kind == "lookup" else ""), params
    if kind == "record":
        return "get", f"{base}/r/{draw(path_ids)}", {}
    values = draw(st.dictionaries(st.sampled_from(FIELDS[:17]), page_texts, max_size=5))
    return "post", f"{base}/new", values


def test_the_list_and_form_pages_never_answer_5xx(any_db, app, make):
    from support_formloom import browser

    owner = make.user("Olga")
    make.install("sales-mini", owner=owner)
    web = browser(app, owner)

    @settings(max_examples=80, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(page_requests())
    def fuzz(request):
        method, url, params = request
        encoded = {k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k, v in params.items()}
        if method == "get":
            resp = web.get(url, query_string=encoded)
        else:
            resp = web.post(url, data=encoded)
        assert resp.status_code < 500, (method, url, params, resp.get_data(as_text=True)[:500])

    fuzz()
