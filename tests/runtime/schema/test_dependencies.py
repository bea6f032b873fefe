"""What each field is computed from, worked out at publish (schema/dependencies.py)."""
from formloom.runtime.schema import compile_app

WON = {"field": "stage", "op": "eq", "value": "won"}
DEFINITION = {"key": "deps", "name": "Deps", "forms": [
    {"key": "customer", "name": "Customer", "title_field": "name", "fields": [
        {"key": "name", "type": "text"},
        {"key": "won", "type": "rollup", "form": "deal", "link": "customer", "agg": "count", "where": WON},
        {"key": "score", "type": "formula", "expr": "won * 2"}]},
    {"key": "product", "name": "Product", "fields": [
        {"key": "name", "type": "text"}, {"key": "price", "type": "number"}, {"key": "code", "type": "text"}]},
    {"key": "deal", "name": "Deal", "fields": [
        {"key": "customer", "type": "link", "form": "customer"},
        {"key": "stage", "type": "select", "options": ["open", "won"]},
        {"key": "note", "type": "text"},
        {"key": "lines", "type": "subform", "fields": [
            {"key": "code", "type": "text"},
            {"key": "price", "type": "number", "linkage": {
                "form": "product", "field": "price",
                "where": {"field": "code", "op": "eq", "value": {"var": "record.code"}}}},
            {"key": "qty", "type": "number"},
            {"key": "amount", "type": "formula", "expr": "qty * price"}]},
        {"key": "total", "type": "formula", "expr": "SUM(lines.amount)"},
        {"key": "customer_score", "type": "lookup", "link": "customer", "field": "score"}]}]}


def test_a_rollups_condition_and_chains_through_other_forms_count():
    deps = compile_app(DEFINITION).dependencies
    # deal.stage -> customer.won (its where) -> customer.score -> deal.customer_score
    assert deps.computed_from("deal", ["stage"]) == {"customer": {"won", "score"}, "deal": {"customer_score"}}
    assert deps.derived("deal", ["stage"]) == {"stage", "customer_score"}
    assert deps.derived("deal", ["note"]) == {"note"}
    assert deps.from_other_forms("deal") == {
        "customer": {"won": {"customer_score"}, "score": {"customer_score"}},
        "product": {"price": {"lines", "total"}, "code": {"lines", "total"}}}


def test_a_subform_counts_as_one_field():
    deps = compile_app(DEFINITION).dependencies
    assert deps.derived("deal", ["lines"]) == {"lines", "total"}
    # A linked column reads the product's price and code: the subform, and what sums it, follow.
    assert deps.computed_from("product", ["price"]) == {"deal": {"lines", "total"}}
    assert deps.computed_from("product", ["code"]) == {"deal": {"lines", "total"}}
    assert deps.computed_from("product", ["name"]) == {}
