"""Every field type, any JSON: a value, or a FieldValueError in words, never a crash."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from formloom.runtime.fields import FieldValueError, ValueContext, field_types

FIELDS = {
    "text": {"max_length": 20, "pattern": "[A-Za-z ]*"},
    "textarea": {},
    "number": {"precision": 2, "min": -1000, "max": 1000},
    "date": {"min": "2000-01-01"},
    "datetime": {},
    "boolean": {},
    "select": {"options": ["a", {"value": "b", "label": "乙"}]},
    "multiselect": {"options": ["a", "b", "c"], "max_items": 2},
    "user": {"multiple": True},
    "department": {},
    "email": {},
    "phone": {},
    "url": {},
    "link": {"form": "company"},
    "subform": {"fields": [{"key": "q", "type": "number"}], "max_rows": 3},
    "file": {"max_files": 2},
    "image": {},
    "serial": {"pattern": "Q{seq:3}"},
    "rating": {"max": 5},
}


def conforms(schema: dict, value) -> bool:
    """Whether a JSON value validates against `schema`, formats (date, date-time) included."""
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).is_valid(value)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
    | st.sampled_from(["", "0", "1", "²", "٣", "1,234", "2026-01-31", "2026-01-31T09:30:00+08:00", "a", "乙",
                       "a,b", "https://example.com", "li@example.com", "+86 138-0013-8000", "9" * 5000]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["id", "q", "x"]), inner, max_size=2),
    max_leaves=8,
)
CONTEXT = ValueContext(tz="Asia/Shanghai", user_exists=lambda ids: {i for i in ids if i < 100},
                       department_exists=lambda ids: set(ids), record_exists=lambda form, ids: set(ids))


def test_the_table_covers_every_type_but_the_computed_ones():
    assert set(FIELDS) | {"formula", "lookup", "rollup"} == set(field_types.types())


@pytest.mark.parametrize("name", sorted(FIELDS))
@settings(max_examples=100, deadline=None)
@given(sent=JSON)
def test_to_python_gives_a_value_or_a_plain_refusal(name, sent):
    field = {"key": "x", "type": name, **FIELDS[name]}
    ftype = field_types.get(name)
    try:
        value = ftype.to_python(field, sent, CONTEXT)
    except FieldValueError as exc:
        assert str(exc) and "Traceback" not in str(exc)
        return
    as_json = ftype.to_json(field, value)
    if name != "subform":  # rows are converted field by field by the records service
        assert conforms(ftype.value_schema(field), as_json)
    assert isinstance(ftype.format(field, value, "zh"), str)
    assert isinstance(ftype.format(field, value, "en"), str)


@pytest.mark.parametrize("name", sorted(FIELDS))
@settings(max_examples=60, deadline=None)
@given(cell=st.text(max_size=20))
def test_parse_cell_gives_a_value_or_a_plain_refusal(name, cell):
    field = {"key": "x", "type": name, **FIELDS[name]}
    try:
        field_types.get(name).parse_cell(field, cell, CONTEXT)
    except FieldValueError as exc:
        assert str(exc)


@pytest.mark.parametrize("any_db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_an_id_beyond_32_bits_is_a_validation_error_not_a_crash(make, any_db):
    from formloom.platform.actor import Actor
    from formloom.runtime.exceptions import ValidationFailed
    from formloom.runtime.records import service

    rt = make.install("sales-mini")
    with pytest.raises(ValidationFailed) as refused:
        service.create(Actor.system(), rt, "deal", {"title": "x", "company": 999_999_999_999})
    assert refused.value.errors == [{"field": "company", "message": "must be the id of a record"}]
