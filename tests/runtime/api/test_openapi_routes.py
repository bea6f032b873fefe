"""The OpenAPI document covers every route of /api/v1 (a route it lacks fails here), and a
third-party fuzzer (schemathesis) finds no server error in the records API it describes."""
from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from formloom.app_templates import load_definition

# What a caller of each kind of route needs to see it in the document: an app with views, a
# flow and formulas, read by its administrator.
FLOW = {"key": "quote_ok", "form": "quote", "name": "报价审批", "name_en": "Quote approval",
        "steps": [{"type": "approval", "key": "boss", "name": "Boss", "assignees": {"users": ["$OWNER"]}}]}


@pytest.fixture
def owner_api(app, make, api_as):
    owner = make.user("Owner", password=None, admin=True)
    definition = load_definition("sales_mini")
    flow = {**FLOW, "steps": [{**FLOW["steps"][0], "assignees": {"users": [owner.id]}}]}
    make.install({**definition, "flows": [flow]}, owner=owner)
    return api_as(owner)


def _pattern(path: str) -> re.Pattern:
    """A document path ("/apps/sales_mini/forms/deal/records/{id}") as a regex over rules."""
    return re.compile("^" + re.sub(r"\\{\w+\\}", "[^/]+", re.escape(path)) + "$")


def test_every_api_route_is_in_the_document(app, owner_api):
    doc = owner_api.get("/api/v1/openapi.json").get_json()
    validate(doc)
    documented = [(_pattern(path), set(ops) - {"parameters"}) for path, ops in doc["paths"].items()]
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        # The rule with its variables filled as a caller of the example app fills them.
        concrete = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: {"app_key": "sales_mini", "form_key": "quote",
                                                           "view_key": "pipeline", "dashboard_key": "sales_review",
                                                           "widget_key": "pipeline"}.get(m.group(1), "7"), rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if not any(pattern.match(concrete) and method.lower() in ops for pattern, ops in documented):
                missing.append(f"{method} {rule.rule}")
    assert missing == [], "\n".join(missing)


def test_a_fuzzer_finds_no_server_error_in_the_records_api(app, make, api_as):
    """schemathesis, from the document alone: a few derandomized examples per operation of
    the example app's records (list, create, bulk, read, change, delete, restore, history);
    no 5xx, every status, content type and body is one the document lists, and a request the
    document forbids (negative examples: a missing token, a wrong type) is refused. Not checked:
    positive_data_acceptance, since filters, sorts and cursors are strings whose grammar a JSON
    Schema cannot state (the server rightly refuses most strings there)."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import (
        content_type_conformance,
        negative_data_rejection,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    owner = make.user("Owner", password=None)
    make.install("sales-mini", owner=owner)
    headers = {"Authorization": f"Bearer {make.token(owner)}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=headers).include(
        path_regex=r"^/api/v1/apps/sales_mini/forms/\w+/records")


    def fresh(environ, start_response):  # each request in its own app context (g), as in production
        with app.app_context():
            return app.wsgi_app(environ, start_response)

    schema.app = fresh
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 24  # 3 forms x (list, create, bulk, read, change, delete, restore, history)
    modes = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
    for operation, mode in [(op, mode) for op in operations for mode in modes]:
        @settings(max_examples=4, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(mode))
        def answers_without_a_server_error(case):
            case.call_and_validate(headers=headers, checks=[not_a_server_error, status_code_conformance,
                                                        content_type_conformance, response_schema_conformance,
                                                        negative_data_rejection])

        answers_without_a_server_error()


def test_a_method_the_route_does_not_take_is_a_405_that_says_which_it_takes(app, make, api_as, client):
    api = api_as(make.user("Owner", password=None))
    answer = api.put("/api/v1/notifications", json={})
    assert answer.status_code == 405 and answer.mimetype == "application/problem+json"
    assert set(answer.headers["Allow"].replace(" ", "").split(",")) >= {"GET"}
    page = client.put("/login")
    assert page.status_code == 405 and "GET" in page.headers["Allow"]
