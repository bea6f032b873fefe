"""The OpenAPI 3.1 document is valid and generated from the published definitions."""
import pytest
from openapi_spec_validator import validate

BASE = "/api/v1/apps/sales_mini/forms"


@pytest.fixture
def api(any_db, app, make, api_as):
    owner = make.user("Owner", password=None)
    make.install("sales-mini", owner=owner)
    return api_as(owner)


def test_openapi_document_is_valid_and_lists_the_app(api, make, api_as):
    resp = api.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    doc = resp.get_json()
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    for form in ("company", "deal", "quote"):
        assert {"get", "post"} <= set(doc["paths"][f"{BASE}/{form}/records"])
        assert {"get", "patch", "delete"} <= set(doc["paths"][f"{BASE}/{form}/records/{{id}}"])
        assert f"{BASE}/{form}/records/bulk" in doc["paths"]
        assert f"{BASE}/{form}/records/{{id}}/restore" in doc["paths"]
        assert f"{BASE}/{form}/records/{{id}}/history" in doc["paths"]
    schemas = doc["components"]["schemas"]
    deal = schemas["SalesMiniDealFields"]["properties"]
    assert deal["stage"]["enum"] == ["new", "qualified", "proposal", "negotiation", "won", "lost", None]
    assert deal["amount"]["type"] == ["number", "null"] and deal["amount"]["minimum"] == 0
    assert deal["weighted"]["readOnly"] is True and deal["title"]["title"] == "Title"
    items = schemas["SalesMiniQuoteFields"]["properties"]["items"]["items"]["properties"]
    assert set(items) == {"product", "qty", "price", "discount", "subtotal"}
    write = schemas["SalesMiniDealWriteFields"]["properties"]
    assert "weighted" not in write and "title" in write
    # Outsiders see no app of which they are not members.
    outsider = api_as(make.user("Outsider", password=None)).get("/api/v1/openapi.json").get_json()
    validate(outsider)
    assert not any(path.startswith("/api/v1/apps/sales_mini") for path in outsider["paths"])
