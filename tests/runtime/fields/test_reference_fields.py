"""User, department and link fields: ids, lists of ids, existence through the context."""
from dataclasses import replace

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from formloom.runtime.fields import FieldValueError, field_types

from support_formloom import assert_round_trips, assert_schema_accepts

USERS = {1, 2, 3, 7}
DEPARTMENTS = {10, 11}
RECORDS = {"company": {100, 101}, "deal": {5}}


@pytest.fixture
def org_ctx(ctx):
    """A context whose lookups know a few users, departments and records, and log calls."""
    calls = []

    def exists(known):
        def look(ids):
            calls.append(list(ids))
            return known & set(ids)
        return look

    def records(form, ids):
        calls.append((form, list(ids)))
        return RECORDS.get(form, set()) & set(ids)

    out = replace(ctx, user_exists=exists(USERS), department_exists=exists(DEPARTMENTS), record_exists=records)
    out.extra["calls"] = calls
    return out


def owner(**kw):
    return {"key": "owner", "type": "user", **kw}


@pytest.mark.parametrize("sent, expected", [
    (1, 1), ("7", 7), (" 2 ", 2), (3.0, 3), ({"id": 2, "name": "李雷"}, 2), ([1], 1), (None, None), ("", None),
])
def test_single_user_by_id(sent, expected, org_ctx):
    assert field_types.get("user").to_python(owner(), sent, org_ctx) == expected


@pytest.mark.parametrize("sent, expected", [
    ([1, 2], [1, 2]), ([2, "1", 2], [2, 1]), (3, [3]), ([{"id": 7}], [7]), (None, []), ([], []),
])
def test_several_users_by_list_of_ids(sent, expected, org_ctx):
    assert field_types.get("user").to_python(owner(multiple=True), sent, org_ctx) == expected


@pytest.mark.parametrize("sent", [0, -1, "abc", 1.5, True, {"name": "x"}, "1,2", "²", "9" * 5000])
def test_ids_must_be_positive_whole_numbers(sent, org_ctx):
    with pytest.raises(FieldValueError, match="^must be the id of a user$"):
        field_types.get("user").to_python(owner(), sent, org_ctx)


def test_a_single_reference_refuses_a_list(org_ctx):
    with pytest.raises(FieldValueError, match="^takes one user, not a list$"):
        field_types.get("user").to_python(owner(), [1, 2], org_ctx)


def test_users_must_exist(org_ctx):
    with pytest.raises(FieldValueError) as exc:
        field_types.get("user").to_python(owner(multiple=True), [1, 99, 42], org_ctx)
    assert str(exc.value) == "no user with id 42, 99"
    assert org_ctx.extra["calls"] == [[1, 99, 42]]


def test_departments_are_checked_against_departments(org_ctx):
    dept = {"key": "dept", "type": "department"}
    assert field_types.get("department").to_python(dept, 10, org_ctx) == 10
    with pytest.raises(FieldValueError, match="^no department with id 1$"):
        field_types.get("department").to_python(dept, 1, org_ctx)


def test_links_are_checked_in_the_linked_form(org_ctx):
    company = {"key": "company", "type": "link", "form": "company"}
    assert field_types.get("link").to_python(company, "100", org_ctx) == 100
    with pytest.raises(FieldValueError, match="^no record with id 5$"):
        field_types.get("link").to_python(company, 5, org_ctx)
    assert org_ctx.extra["calls"] == [("company", [100]), ("company", [5])]
    deals = {"key": "deals", "type": "link", "form": "deal", "multiple": True}
    assert field_types.get("link").to_python(deals, [5], org_ctx) == [5]


def test_parse_cell_splits_lists_for_multiple(org_ctx):
    user = field_types.get("user")
    assert user.parse_cell(owner(multiple=True), "1, 2，3、7", org_ctx) == [1, 2, 3, 7]
    assert user.parse_cell(owner(), " 7 ", org_ctx) == 7
    with pytest.raises(FieldValueError, match="^must be the id of a user$"):
        user.parse_cell(owner(), "1,2", org_ctx)


def test_storage_and_kinds_follow_multiple():
    user = field_types.get("user")
    assert user.storage_for(owner()) == "column" and user.result_kind(owner()) == "ref"
    assert user.storage_for(owner(multiple=True)) == "values"
    assert user.result_kind(owner(multiple=True)) == "multi_ref"
    assert isinstance(user.sa_type(owner()), sa.Integer)
    assert isinstance(user.value_sa_type(owner(multiple=True)), sa.Integer)
    assert user.empty(owner()) is None and user.empty(owner(multiple=True)) == []


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_format_lists_ids(locale):
    user = field_types.get("user")
    assert user.format(owner(), 7, locale) == "#7"
    assert user.format(owner(multiple=True), [1, 2], locale) == "#1, #2"
    assert user.format(owner(multiple=True), [], locale) == ""


def test_form_values_are_strings():
    user = field_types.get("user")
    assert user.to_form(owner(), 7) == "7" and user.to_form(owner(), None) == ""
    assert user.to_form(owner(multiple=True), [1, 2]) == ["1", "2"]


FIELDS = st.sampled_from([owner(), owner(multiple=True), {"key": "d", "type": "department", "multiple": True},
                          {"key": "c", "type": "link", "form": "company"}])
SENT = st.recursive(
    st.none() | st.integers(-3, 200) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet="0123 ,", max_size=4) | st.booleans(),
    lambda inner: st.lists(inner, max_size=4) | st.fixed_dictionaries({"id": inner}), max_leaves=5)


@settings(max_examples=400, deadline=None)
@given(field=FIELDS, sent=SENT)
def test_accepted_references_conform_and_round_trip(field, sent):
    assert_round_trips(field, sent)


@settings(max_examples=200, deadline=None)
@given(field=FIELDS, sent=SENT)
def test_what_the_reference_schema_allows_is_accepted(field, sent):
    assert_schema_accepts(field, sent)
