"""The reference example: the kept copy matches the shared one, validates and compiles."""
import json
from pathlib import Path

import pytest

from formloom.runtime.fields import ValueContext, field_types
from formloom.runtime.schema import compile_app, validate_definition

ROOT = Path(__file__).resolve().parents[3]
KEPT = ROOT / "tests" / "data" / "sales-mini.json"
SHARED = ROOT.parent / "shared" / "examples" / "sales-mini.json"

# form -> field -> (type, result kind, storage): what the runtime makes of each field.
EXPECTED = {
    "company": {
        "name": ("text", "text", "column"), "tier": ("select", "text", "column"),
        "industry": ("select", "text", "column"), "tags": ("multiselect", "multi_text", "values"),
        "email": ("email", "text", "column"), "revenue": ("number", "number", "column"),
        "since": ("date", "date", "column"), "owner": ("user", "ref", "column"),
        "active": ("boolean", "boolean", "column"),
    },
    "deal": {
        "title": ("text", "text", "column"), "company": ("link", "ref", "column"),
        "stage": ("select", "text", "column"), "amount": ("number", "number", "column"),
        "probability": ("number", "number", "column"), "weighted": ("formula", "number", "column"),
        "close_date": ("date", "date", "column"), "lost_reason": ("textarea", "text", "column"),
    },
    "quote": {
        "number": ("serial", "text", "column"), "deal": ("link", "ref", "column"),
        "items": ("subform", "rows", "rows"), "total": ("formula", "number", "column"),
        "max_discount": ("formula", "number", "column"), "valid_until": ("date", "date", "column"),
        "attachment": ("file", "file", "column"),
    },
}
ITEMS = {
    "product": ("text", "text", "column"), "qty": ("number", "number", "column"),
    "price": ("number", "number", "column"), "discount": ("number", "number", "column"),
    "subtotal": ("formula", "number", "column"),
}


def kept() -> dict:
    return json.loads(KEPT.read_text("utf-8"))


def kinds(form) -> dict:
    return {key: (f["type"], form.type_of(key).result_kind(f), form.type_of(key).storage_for(f))
            for key, f in form.fields.items()}


@pytest.mark.skipif(not SHARED.exists(), reason=f"{SHARED} is not beside the repo")
def test_kept_copy_is_byte_for_byte_the_shared_example():
    assert KEPT.read_bytes() == SHARED.read_bytes()


def test_the_example_validates():
    assert validate_definition(kept()) == []


def test_every_field_compiles_to_its_expected_kind():
    appdef = compile_app(kept())
    assert appdef.key == "sales_mini" and list(appdef.forms) == ["company", "deal", "quote"]
    for form_key, expected in EXPECTED.items():
        assert kinds(appdef.form(form_key)) == expected
    items = appdef.form("quote").children["items"]
    assert items.parent == "quote" and kinds(items) == ITEMS


def test_formulas_compile_in_order_with_number_results():
    appdef = compile_app(kept())
    deal, quote = appdef.form("deal"), appdef.form("quote")
    assert [k for k, _ in deal.formulas] == ["weighted"]
    assert [k for k, _ in quote.children["items"].formulas] == ["subtotal"]
    assert sorted(k for k, _ in quote.formulas) == ["max_discount", "total"]
    assert field_types.get("formula").result_kind(deal.fields["weighted"]) == "number"
    assert field_types.get("formula").result_kind(quote.fields["total"]) == "number"


def test_form_settings_and_rules_are_carried_over():
    appdef = compile_app(kept())
    assert appdef.form("company").title_field == "name"
    assert appdef.form("quote").title_field == "number"
    deal = appdef.form("deal")
    assert deal.rule_shown == {"lost_reason"}
    assert deal.label("weighted") == "Weighted amount"
    assert [f["key"] for f in deal.stored_fields()] == list(EXPECTED["deal"])


def test_defaults_of_the_example_convert():
    appdef = compile_app(kept())
    ctx = ValueContext()
    company = appdef.form("company")
    assert company.type_of("tier").default(company.fields["tier"], ctx) == "C"
    assert company.type_of("active").default(company.fields["active"], ctx) is True
    assert company.type_of("tags").default(company.fields["tags"], ctx) == []
    items = appdef.form("quote").children["items"]
    assert items.type_of("qty").default(items.fields["qty"], ctx) == 1
