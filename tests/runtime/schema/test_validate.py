"""Definition validation: every problem at once, as {pointer, message} a person understands."""
import copy

import pytest

from formloom.runtime.exceptions import DefinitionError
from formloom.runtime.fields import field_types
from formloom.runtime.schema import compile_app, validate_definition


def app(*forms):
    return {"key": "crm", "name": "CRM", "forms": list(forms)}


def form(key="deal", fields=None, **kw):
    fields = fields if fields is not None else [{"key": "title", "type": "text"}]
    return {"key": key, "name": key.title() or "Form", "fields": fields, **kw}


def resolve(doc, pointer: str):
    """The part of `doc` a JSON pointer names (RFC 6901), or KeyError/IndexError."""
    node = doc
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def errors_of(defn) -> list[dict]:
    errors = validate_definition(defn)
    for e in errors:
        assert set(e) == {"pointer", "message"} and e["message"]
    return errors


def one_error(defn) -> dict:
    errors = errors_of(defn)
    assert len(errors) == 1, errors
    return errors[0]


DEAL_FIELDS = [
    {"key": "title", "type": "text"},
    {"key": "amount", "type": "number", "precision": 2},
    {"key": "probability", "type": "number"},
    {"key": "stage", "type": "select", "options": ["new", "won", "lost"]},
    {"key": "lost_reason", "type": "textarea"},
    {"key": "close_date", "type": "date"},
    {"key": "owner", "type": "user"},
]


def deal(*extra, **kw):
    return form("deal", copy.deepcopy(DEAL_FIELDS) + list(extra), **kw)


def test_a_good_definition_has_no_errors():
    assert errors_of(app(deal(title_field="title", owner_field="owner"))) == []


# -- meta-schema ------------------------------------------------------------------------

@pytest.mark.parametrize("doc, pointer, message", [
    ([], "", "must be an object"),
    ({"key": "crm", "name": "CRM"}, "", '"forms" is required'),
    ({"key": "crm", "name": "CRM", "forms": []}, "/forms", "[] should be non-empty"),
    ({"key": "crm", "name": "", "forms": [form()]}, "/name", "'' should be non-empty"),
])
def test_top_level_shape(doc, pointer, message):
    assert one_error(doc) == {"pointer": pointer, "message": message}


@pytest.mark.parametrize("bad", ["Deal", "2deals", "deal-items", "deal items", "d" * 31, "交易", ""])
def test_bad_key_syntax_is_explained(bad):
    defn = app(deal(), form(bad))
    assert one_error(defn) == {
        "pointer": "/forms/1/key",
        "message": f'"{bad}" is not a valid key: use lower-case ASCII letters, digits and _, '
                   "starting with a letter, at most 30 characters"}


def test_bad_field_key_points_at_the_field():
    error = one_error(app(deal({"key": "Lost Reason", "type": "text"})))
    assert error["pointer"] == "/forms/0/fields/7/key"
    assert error["message"].startswith('"Lost Reason" is not a valid key')


def test_unknown_form_settings_point_at_the_setting():
    defn = app(deal(colour="red", **{"a/b": 1}))
    assert errors_of(defn) == [
        {"pointer": "/forms/0/colour", "message": 'unknown setting "colour"'},
        {"pointer": "/forms/0/a~1b", "message": 'unknown setting "a/b"'},
    ]


def test_common_field_settings_are_typed():
    defn = app(deal({"key": "notes", "type": "text", "required": "yes", "width": "huge"}))
    assert errors_of(defn) == [
        {"pointer": "/forms/0/fields/7/required", "message": "must be true or false"},
        {"pointer": "/forms/0/fields/7/width", "message": 'must be one of: "full", "half", "third", "quarter"'},
    ]


# -- field types and their settings ---------------------------------------------------------

def test_unknown_field_type_lists_the_known_ones():
    error = one_error(app(deal({"key": "sig", "type": "signature"})))
    assert error["pointer"] == "/forms/0/fields/7/type"
    assert error["message"] == 'unknown field type "signature"; known types: ' + ", ".join(field_types.types())


def test_duplicate_form_and_field_keys():
    defn = app(deal({"key": "amount", "type": "number"}), form("deal"))
    assert errors_of(defn) == [
        {"pointer": "/forms/0/fields/7/key", "message": 'field key "amount" is used twice in this form'},
        {"pointer": "/forms/1/key", "message": 'form key "deal" is used twice'},
    ]


def test_unknown_per_type_setting():
    defn = app(deal({"key": "notes", "type": "text", "options": ["a"]},
                    {"key": "n", "type": "number", "max_length": 3}))
    assert errors_of(defn) == [
        {"pointer": "/forms/0/fields/7/options", "message": 'unknown setting "options" for a text field'},
        {"pointer": "/forms/0/fields/8/max_length", "message": 'unknown setting "max_length" for a number field'},
    ]


@pytest.mark.parametrize("field, pointer, message", [
    ({"type": "select"}, "", '"options" is required'),
    ({"type": "multiselect"}, "", '"options" is required'),
    ({"type": "select", "options": "a,b"}, "/options", "must be a list"),
    ({"type": "select", "options": ["a", ""]}, "/options/1", "'' should be non-empty"),
    ({"type": "select", "options": ["a", 5]}, "/options/1", 'must be text, or an object like {"value": "a", "label": "A"}'),
    ({"type": "select", "options": [{"label": "A"}]}, "/options/0", '"value" is required'),
    ({"type": "select", "options": [{"value": "a", "color": "red"}]}, "/options/0/color", '"red" is not a colour like "#1677ff"'),
    ({"type": "select", "options": [{"value": "a", "colour": "#ff0000"}]}, "/options/0/colour", 'unknown setting "colour"'),
    ({"type": "select", "options": ["a", {"value": "a"}]}, "/options/1", 'the option "a" is listed twice'),
    ({"type": "multiselect", "options": ["a", "b", "a"]}, "/options/2", 'the option "a" is listed twice'),
    ({"type": "serial"}, "", '"pattern" is required'),
    ({"type": "serial", "pattern": "Q-{YYYY}"}, "/pattern", "must contain {seq} (or {seq:4} for four digits): where the counter goes"),
    ({"type": "serial", "pattern": "Q-{yyyy}-{seq}"}, "/pattern", "has an unknown placeholder {yyyy}; use {YYYY}, {YY}, {MM}, {DD} and {seq} or {seq:n}"),
    ({"type": "number", "precision": 12}, "/precision", "12 is greater than the maximum of 8"),
    ({"type": "number", "precision": 1.5}, "/precision", "must be a whole number"),
    ({"type": "number", "min": 10, "max": 1}, "/max", "must not be less than min (10)"),
    ({"type": "number", "display": "money"}, "/display", 'must be one of: "plain", "currency", "percent", "thousands"'),
    ({"type": "text", "pattern": "[a-"}, "/pattern", "is not a valid regular expression (unterminated character set at position 0)"),
    ({"type": "text", "min_length": 10, "max_length": 5}, "/min_length", "is more than the maximum length (5)"),
    ({"type": "date", "min": "yesterday"}, "/min", '"yesterday" is not a date like 2026-01-31'),
    ({"type": "date", "min": "2026-12-01", "max": "2026-01-01"}, "/max", "must not be before min (2026-12-01)"),
    ({"type": "rating", "max": 20}, "/max", "20 is greater than the maximum of 10"),
    ({"type": "link"}, "", '"form" is required'),
    ({"type": "link", "form": "Company"}, "/form", '"Company" is not a form key: forms have keys like "company"'),
    ({"type": "formula"}, "", '"expr" is required'),
    ({"type": "file", "max_files": 0}, "/max_files", "0 is less than the minimum of 1"),
    ({"type": "subform", "fields": []}, "/fields", "[] should be non-empty"),
    ({"type": "textarea", "unique": True}, "/unique", "a textarea field cannot be unique"),
    ({"type": "file", "indexed": True}, "/indexed", "a file field cannot be indexed"),
])
def test_per_type_config_errors(field, pointer, message):
    defn = app(deal({"key": "x", **field}))
    assert one_error(defn) == {"pointer": "/forms/0/fields/7" + pointer, "message": message}


# -- references between parts ----------------------------------------------------------

def test_link_to_a_missing_form():
    defn = app(deal({"key": "company", "type": "link", "form": "company"}))
    assert one_error(defn) == {"pointer": "/forms/0/fields/7/form",
                               "message": 'links to form "company", which this app does not have'}
    assert errors_of(app(form("company"), deal({"key": "company", "type": "link", "form": "company"}))) == []


@pytest.mark.parametrize("settings, pointer, message", [
    ({"title_field": "name"}, "/title_field", 'title field "name" is not a field of this form'),
    ({"title_field": "tags"}, "/title_field", 'title field "tags" must hold one value, not a multiselect field with several'),
    ({"owner_field": "title"}, "/owner_field", 'owner field "title" must be a single user field of this form'),
    ({"owner_field": "team"}, "/owner_field", 'owner field "team" must be a single user field of this form'),
    ({"owner_field": "boss"}, "/owner_field", 'owner field "boss" must be a single user field of this form'),
])
def test_title_and_owner_fields(settings, pointer, message):
    defn = app(deal({"key": "tags", "type": "multiselect", "options": ["a"]},
                    {"key": "team", "type": "user", "multiple": True}, **settings))
    assert one_error(defn) == {"pointer": "/forms/0" + pointer, "message": message}


def test_subform_children_are_checked_where_they_are():
    items = {"key": "items", "type": "subform", "fields": [
        {"key": "product", "type": "text"},
        {"key": "tags", "type": "multiselect", "options": ["a"]},
        {"key": "Qty", "type": "number"},
        {"key": "sub", "type": "subform", "fields": [{"key": "a", "type": "text"}]},
        {"type": "text"},
        "oops",
        {"key": "price", "type": "money"},
        {"key": "id", "type": "text"},
    ]}
    assert errors_of(app(deal(items))) == [
        {"pointer": "/forms/0/fields/7/fields/2/key", "message": '"Qty" is not a valid key: use lower-case ASCII '
         "letters, digits and _, starting with a letter, at most 30 characters"},
        {"pointer": "/forms/0/fields/7/fields/4", "message": '"key" is required'},
        {"pointer": "/forms/0/fields/7/fields/5", "message": "must be an object"},
        # What the meta-schema cannot see is reported too, for the children it could read.
        {"pointer": "/forms/0/fields/7/fields/1/type", "message": 'a subform cannot have a field of type "multiselect"'},
        {"pointer": "/forms/0/fields/7/fields/3/type", "message": 'a subform cannot have a field of type "subform"'},
        {"pointer": "/forms/0/fields/7/fields/6/type", "message": 'unknown field type "money"; known types: '
         + ", ".join(field_types.types())},
        {"pointer": "/forms/0/fields/7/fields/7/key", "message": 'the key "id" is kept for the row id of a subform'},
    ]


def test_subform_child_types_once_the_shape_is_right():
    items = {"key": "items", "type": "subform", "fields": [
        {"key": "product", "type": "text"},
        {"key": "tags", "type": "multiselect", "options": ["a"]},
        {"key": "sub", "type": "subform", "fields": [{"key": "a", "type": "text"}]},
        {"key": "no", "type": "serial", "pattern": "{seq}"},
        {"key": "price", "type": "money"},
        {"key": "id", "type": "text"},
    ]}
    assert errors_of(app(deal(items))) == [
        {"pointer": "/forms/0/fields/7/fields/1/type", "message": 'a subform cannot have a field of type "multiselect"'},
        {"pointer": "/forms/0/fields/7/fields/2/type", "message": 'a subform cannot have a field of type "subform"'},
        {"pointer": "/forms/0/fields/7/fields/3/type", "message": 'a subform cannot have a field of type "serial"'},
        {"pointer": "/forms/0/fields/7/fields/4/type", "message": 'unknown field type "money"; known types: '
         + ", ".join(field_types.types())},
        {"pointer": "/forms/0/fields/7/fields/5/key", "message": 'the key "id" is kept for the row id of a subform'},
    ]


# -- formulas ---------------------------------------------------------------------------

def formula_field(key, expr):
    return {"key": key, "type": "formula", "expr": expr}


def test_formula_syntax_error_points_at_the_column():
    error = one_error(app(deal(formula_field("weighted", "ROUND(amount * , 2)"))))
    assert error == {"pointer": "/forms/0/fields/7/expr", "message": 'Unexpected "," at column 16'}


def test_formula_unknown_field():
    error = one_error(app(deal(formula_field("weighted", "amount * probabilty / 100"))))
    assert error["pointer"] == "/forms/0/fields/7/expr"
    assert error["message"].startswith('Unknown field "probabilty" at column 10')


def test_formula_type_error():
    error = one_error(app(deal(formula_field("age", 'DATEDIF(title, TODAY(), "d")'))))
    assert error == {"pointer": "/forms/0/fields/7/expr", "message": 'DATEDIF needs a date; "title" is text at column 9'}


def test_formula_cycle_is_spelled_out_once():
    defn = app(deal(formula_field("a", "b + 1"), formula_field("b", "c * 2"), formula_field("c", "a - amount"),
                    formula_field("d", "c + 1")))
    assert errors_of(defn) == [{"pointer": "/forms/0/fields/7/expr",
                                "message": "formulas depend on each other in a cycle: a -> b -> c -> a"}]


def test_formula_two_field_cycle_and_self_reference():
    assert one_error(app(deal(formula_field("a", "b"), formula_field("b", "a"))))["message"] == \
        "formulas depend on each other in a cycle: a -> b -> a"
    assert one_error(app(deal(formula_field("a", "a + 1")))) == {
        "pointer": "/forms/0/fields/7/expr", "message": "formulas depend on each other in a cycle: a -> a"}


def test_a_broken_formula_does_not_drag_its_dependents_into_the_report():
    defn = app(deal(formula_field("a", "1 +"), formula_field("b", "a * 2"), formula_field("c", "b + nope")))
    assert errors_of(defn) == [{"pointer": "/forms/0/fields/7/expr", "message": "The formula ends too early at column 4"}]


def test_formulas_compile_in_dependency_order_with_result_kinds():
    defn = app(deal(formula_field("late", "IF(overdue, \"late\", \"ok\")"),
                    formula_field("overdue", "days > 30"),
                    formula_field("days", 'DATEDIF(close_date, TODAY(), "d")')))
    compiled = compile_app(defn).form("deal")
    assert [k for k, _ in compiled.formulas] == ["days", "overdue", "late"]
    assert [compiled.type_of(k).result_kind(compiled.fields[k]) for k in ("days", "overdue", "late")] == \
        ["number", "boolean", "text"]


def test_subform_formulas_and_aggregates():
    items = {"key": "items", "type": "subform", "fields": [
        {"key": "qty", "type": "number"}, {"key": "price", "type": "number"},
        formula_field("subtotal", "qty * price"), formula_field("label", "qty & \" x\""),
    ]}
    compiled = compile_app(app(deal(items, formula_field("total", "SUM(items.subtotal)")))).form("deal")
    assert compiled.children["items"].fields["subtotal"]["_result"] == "number"
    assert compiled.children["items"].fields["label"]["_result"] == "text"
    assert compiled.fields["total"]["_result"] == "number"
    bad = {**items, "fields": items["fields"][:2] + [formula_field("subtotal", "qty * nope")]}
    assert errors_of(app(deal(bad, formula_field("total", "SUM(items.subtotal)")))) == [
        {"pointer": "/forms/0/fields/7/fields/2/expr", "message": 'Unknown field "nope" at column 7'}]


# -- rules ------------------------------------------------------------------------------

def test_rule_conditions_and_field_lists_are_checked():
    rules = [
        {"when": {"field": "stage", "op": "eq", "value": "lost"}, "show": ["lost_reason"], "require": ["lost_reason"]},
        {"when": {"all": [{"field": "stag", "op": "eq", "value": "lost"},
                          {"field": "amount", "op": "contains", "value": 1}]},
         "show": ["lost_reasn"], "require": ["title", "nope"]},
    ]
    assert errors_of(app(deal(rules=rules))) == [
        {"pointer": "/forms/0/rules/1/when/all/0/field", "message": 'unknown field "stag"'},
        {"pointer": "/forms/0/rules/1/when/all/1/op", "message": 'operator "contains" does not apply to number field "amount"'},
        {"pointer": "/forms/0/rules/1/show/0", "message": '"lost_reasn" is not a field of this form'},
        {"pointer": "/forms/0/rules/1/require/1", "message": '"nope" is not a field of this form'},
    ]


def test_rule_shape():
    assert errors_of(app(deal(rules=[{"show": ["title"]}, {"when": {}, "hide": ["title"]}]))) == [
        {"pointer": "/forms/0/rules/0", "message": '"when" is required'},
        {"pointer": "/forms/0/rules/1/hide", "message": 'unknown setting "hide"'},
        {"pointer": "/forms/0/rules/1/when",
         "message": 'expected "all", "any", "not", or a condition with "field" and "op"'},
    ]


# -- defaults ---------------------------------------------------------------------------

@pytest.mark.parametrize("field, message", [
    ({"type": "select", "options": ["a", "b"], "default": "c"}, 'default value "c" is not one of the options (a, b)'),
    ({"type": "number", "min": 0, "default": -1}, "default value must be at least 0"),
    ({"type": "number", "default": "$today"}, "default value must be a number"),
    ({"type": "text", "default": "$me"}, '"$me" (the person filling the form) is a default for user fields only'),
    ({"type": "datetime", "default": "$today"}, "default value must be a date and time like 2026-01-31T09:30:00+08:00"),
    ({"type": "date", "default": "next week"}, "default value must be a date like 2026-01-31"),
    ({"type": "boolean", "default": "maybe"}, "default value must be true or false"),
    ({"type": "serial", "pattern": "{seq}", "default": "Q-1"}, "a serial field is filled by the system and has no default"),
    ({"type": "formula", "expr": "1", "default": 1}, "a formula field is filled by the system and has no default"),
])
def test_invalid_defaults(field, message):
    assert one_error(app(deal({"key": "x", **field}))) == {"pointer": "/forms/0/fields/7/default", "message": message}


@pytest.mark.parametrize("field", [
    {"type": "user", "default": "$me"}, {"type": "user", "multiple": True, "default": "$me"},
    {"type": "date", "default": "$today"}, {"type": "datetime", "default": "$now"},
    {"type": "select", "options": [{"value": "a", "label": "甲"}], "default": "甲"},
    {"type": "number", "default": 0}, {"type": "boolean", "default": False},
])
def test_valid_defaults(field):
    assert errors_of(app(deal({"key": "x", **field}))) == []


# -- all at once --------------------------------------------------------------------------

def test_several_errors_in_one_definition_are_all_reported():
    defn = app(
        deal({"key": "Bad Key", "type": "text"},
             {"key": "sig", "type": "signature"},
             {"key": "company", "type": "link", "form": "company"},
             formula_field("w", "amount *"),
             rules=[{"when": {"field": "nope", "op": "eq", "value": 1}}]),
        form("quote", [{"key": "no", "type": "serial", "pattern": "Q"}, {"key": "no", "type": "text"}]),
    )
    errors = errors_of(defn)
    assert {e["pointer"] for e in errors} == {
        "/forms/0/fields/7/key", "/forms/0/fields/8/type", "/forms/0/fields/9/form", "/forms/0/fields/10/expr",
        "/forms/0/rules/0/when/field", "/forms/1/fields/0/pattern", "/forms/1/fields/1/key",
    }
    assert errors[0]["pointer"] == "/forms/0/fields/7/key"  # the meta-schema's findings first


def test_every_pointer_names_a_part_of_the_submitted_document():
    defn = app(
        deal({"key": "x", "type": "select", "options": ["a", {"value": "b", "color": "blue"}], "colour": 1},
             {"key": "y", "type": "number", "min": 5, "max": 1, "default": "z"},
             formula_field("w", "amount * nope"),
             {"key": "items", "type": "subform", "fields": [{"key": "Q", "type": "number"}, formula_field("s", "1 +")]},
             title_field="nothing", rules=[{"when": {"any": [{"field": "stage", "op": "zz"}]}, "show": ["q"]}]),
        {**form("quote"), "extra": True},
    )
    errors = errors_of(defn)
    assert len(errors) >= 9
    for e in errors:
        resolve(defn, e["pointer"])  # raises if the pointer leads nowhere


def test_compile_app_raises_with_all_the_errors():
    defn = app(deal({"key": "sig", "type": "signature"}, formula_field("w", "nope")))
    with pytest.raises(DefinitionError) as exc:
        compile_app(defn)
    assert exc.value.status == 422
    assert exc.value.errors == validate_definition(defn)
    assert len(exc.value.errors) == 2


def test_compiling_does_not_change_the_submitted_definition():
    defn = app(deal(formula_field("w", "amount * 2")))
    before = copy.deepcopy(defn)
    compiled = compile_app(defn)
    assert defn == before
    assert compiled.form("deal").fields["w"]["_result"] == "number"


def test_a_structurally_broken_definition_still_gets_a_clear_report():
    defn = {"key": "crm", "name": "CRM", "forms": [{"key": "deal", "name": "Deal", "fields": "title"}, 7]}
    assert errors_of(defn) == [
        {"pointer": "/forms/0/fields", "message": "must be a list"},
        {"pointer": "/forms/1", "message": "must be an object"},
    ]


def test_formulas_may_read_the_records_system_values():
    defn = app(deal(formula_field("age", 'DATEDIF($created_at, TODAY(), "d")'),
                    formula_field("mine", "$owner = 3"),
                    {"key": "items", "type": "subform", "fields": [formula_field("row_id", "$id")]}))
    assert errors_of(defn) == [{"pointer": "/forms/0/fields/9/fields/0/expr",
                                "message": 'Unknown field "$id" at column 1'}]


def test_time_zone_must_exist():
    assert one_error({**app(deal()), "timezone": "Asia/Beijing"}) == {
        "pointer": "/timezone", "message": 'unknown time zone "Asia/Beijing"; use a name like Asia/Shanghai or UTC'}
    assert compile_app({**app(deal()), "timezone": "Asia/Shanghai"}).timezone == "Asia/Shanghai"
