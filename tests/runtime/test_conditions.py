"""Unit tests for the condition language: every operator, on SQL and in Python at once."""
import json
import os
import uuid
from datetime import date, datetime

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    insert,
    make_url,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite

from formloom.runtime.conditions import (
    ConditionError,
    Env,
    Operand,
    fields_used,
    record_fields_used,
    to_python,
    to_sql,
    validate,
)
from formloom.runtime.conditions.values import parse_duration

metadata = MetaData()
records = Table(
    "cond_unit_records", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200)),
    Column("amount", Float),
    Column("due", Date),
    Column("at", DateTime),
    Column("active", Boolean),
    Column("owner", Integer),
    Column("dept", Integer),
    Column("files", Text),
)
tags = Table(
    "cond_unit_tags", metadata,
    Column("record_id", Integer, nullable=False),
    Column("value", String(100)),
)
members = Table(
    "cond_unit_members", metadata,
    Column("record_id", Integer, nullable=False),
    Column("value", Integer),
)

SCALARS = {  # field key -> (kind, column name)
    "name": ("text", "name"), "amount": ("number", "amount"), "due": ("date", "due"),
    "at": ("datetime", "at"), "active": ("boolean", "active"), "$owner": ("ref", "owner"),
    "dept": ("ref", "dept"), "files": ("file", "files"), "$id": ("ref", "id"),
}
JUNCTIONS = {"tags": ("multi_text", tags), "members": ("multi_ref", members)}


def operand(key):
    """The resolver the storage layer would provide for this schema."""
    if key in SCALARS:
        kind, column = SCALARS[key]
        return Operand(key, kind, column=records.c[column])
    kind, table = JUNCTIONS[key]
    return Operand(key, kind, junction=(table.c.record_id, table.c.value),
                   record_id=records.c.id)


ENV = Env(user_id=7, department_id=3, subordinates=(8, 9), today=date(2026, 3, 10),
          now=datetime(2026, 3, 10, 4, 0), tz="Asia/Shanghai")


class Harness:
    """Runs a condition over some records through both compilers and checks they agree."""

    def __init__(self, engine):
        self.engine = engine

    def ids(self, condition, rows, env=ENV, **options):
        with self.engine.begin() as conn:
            for table in (tags, members, records):
                conn.execute(delete(table))
            for i, row in enumerate(rows, 1):
                conn.execute(insert(records).values(id=i, **self._columns(row)))
                for key, (_, table) in JUNCTIONS.items():
                    for value in row.get(key) or ():
                        conn.execute(insert(table).values(record_id=i, value=value))
            where = to_sql(condition, operand, env, **options)
            in_sql = set(conn.scalars(select(records.c.id).where(where)))
        predicate = to_python(condition, operand, env, **options)
        in_python = {i for i, row in enumerate(rows, 1) if predicate({**row, "$id": i})}
        assert in_sql == in_python, (condition, in_sql, in_python)
        return in_sql

    @staticmethod
    def _columns(row):
        values = {SCALARS[key][1]: value for key, value in row.items() if key in SCALARS}
        if values.get("files") is not None:
            values["files"] = json.dumps(values["files"])
        return values


def _pg_url():
    url = os.environ.get("FORMLOOM_TEST_DATABASE_URL")
    return make_url(url).set(drivername="postgresql+psycopg") if url else None


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db(request, tmp_path_factory):
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path_factory.mktemp('cond') / 'unit.db'}")
        metadata.create_all(engine)
        yield Harness(engine)
        engine.dispose()
        return
    url = _pg_url()
    if url is None:
        pytest.skip("FORMLOOM_TEST_DATABASE_URL is not set; PostgreSQL tests skipped")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"formloom_cond_unit_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(url.set(database=name))
    try:
        metadata.create_all(engine)
        yield Harness(engine)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def leaf(field, op, value=None):
    return {"field": field, "op": op, "value": value}


# --- text ------------------------------------------------------------------------------------

NAMES = [{"name": "Negotiation"}, {"name": "negotiation"}, {"name": ""}, {"name": None},
         {"name": "Ünïcode"}, {"name": "ünïcode"}]


@pytest.mark.parametrize(("op", "value", "expected"), [
    ("eq", "negotiation", {2}),
    ("ne", "negotiation", {1, 3, 4, 5, 6}),  # blanks are "not equal"
    ("in", ["Negotiation", "Ünïcode"], {1, 5}),
    ("not_in", ["Negotiation", "Ünïcode"], {2, 3, 4, 6}),
    ("in", [], set()),
    ("not_in", [], {1, 2, 3, 4, 5, 6}),
    ("contains", "GOTI", {1, 2}),
    ("not_contains", "goti", {3, 4, 5, 6}),
    ("starts_with", "NEG", {1, 2}),
    ("ends_with", "ATION", {1, 2}),
    ("contains", "ÜNÏ", set()),  # only ASCII letters fold
    ("contains", "Ün", {5}),
    ("contains", "üN", {6}),
    ("ends_with", "CODE", {5, 6}),
    ("is_empty", None, {3, 4}),
    ("is_not_empty", None, {1, 2, 5, 6}),
])
def test_text_operators(db, op, value, expected):
    assert db.ids(leaf("name", op, value), NAMES) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("%", {1, 4}), ("_", {2, 4}), ("\\", {3}), ("a%", {1}), ("%_", {4}), ("a_b", {2}),
])
def test_like_wildcards_in_values_are_literal(db, value, expected):
    rows = [{"name": "50a%off"}, {"name": "a_b"}, {"name": "x\\y"}, {"name": "%_"},
            {"name": "aXb"}]
    assert db.ids(leaf("name", "contains", value), rows) == expected


def test_starts_and_ends_with_wildcards_and_longer_needles(db):
    rows = [{"name": "%ab"}, {"name": "ab%"}, {"name": "ab"}]
    assert db.ids(leaf("name", "starts_with", "%"), rows) == {1}
    assert db.ids(leaf("name", "ends_with", "%"), rows) == {2}
    assert db.ids(leaf("name", "ends_with", "xab"), rows) == set()
    assert db.ids(leaf("name", "starts_with", "_b"), rows) == set()


def test_blank_text_value_matches_nothing_and_its_negation_everything(db):
    assert db.ids(leaf("name", "eq", {"var": "record.name"}), NAMES,
                  Env(record={"name": ""})) == set()
    assert db.ids(leaf("name", "ne", {"var": "record.name"}), NAMES,
                  Env(record={})) == {1, 2, 3, 4, 5, 6}


# --- numbers, booleans, refs -----------------------------------------------------------------

AMOUNTS = [{"amount": -2.5}, {"amount": 0}, {"amount": 50000}, {"amount": 50000.5},
           {"amount": None}]


@pytest.mark.parametrize(("op", "value", "expected"), [
    ("eq", 0, {2}), ("ne", 0, {1, 3, 4, 5}), ("gt", 50000, {4}), ("gte", 50000, {3, 4}),
    ("lt", 0, {1}), ("lte", 0, {1, 2}), ("between", [-2.5, 50000], {1, 2, 3}),
    ("between", [10, 1], set()), ("in", [0, 50000.5], {2, 4}), ("not_in", [0], {1, 3, 4, 5}),
    ("is_empty", None, {5}), ("is_not_empty", None, {1, 2, 3, 4}),
])
def test_number_operators(db, op, value, expected):
    assert db.ids(leaf("amount", op, value), AMOUNTS) == expected


def test_boolean_operators(db):
    rows = [{"active": True}, {"active": False}, {"active": None}]
    assert db.ids(leaf("active", "eq", True), rows) == {1}
    assert db.ids(leaf("active", "eq", False), rows) == {2}
    assert db.ids(leaf("active", "ne", True), rows) == {2, 3}
    assert db.ids(leaf("active", "is_empty"), rows) == {3}


def test_user_references(db):
    rows = [{"$owner": 7, "dept": 3}, {"$owner": 8, "dept": 4}, {"$owner": 9}, {"$owner": None}]
    assert db.ids(leaf("$owner", "eq", {"var": "user.id"}), rows) == {1}
    assert db.ids(leaf("$owner", "in", {"var": "user.subordinates"}), rows) == {2, 3}
    assert db.ids(leaf("$owner", "in", [{"var": "user.id"}, 9]), rows) == {1, 3}
    assert db.ids(leaf("dept", "eq", {"var": "user.department"}), rows) == {1}


def test_reference_resolving_to_none_makes_eq_false_and_ne_true(db):
    rows = [{"dept": 3}, {"dept": None}]
    env = Env(user_id=None, department_id=None)
    assert db.ids(leaf("dept", "eq", {"var": "user.department"}), rows, env) == set()
    assert db.ids(leaf("dept", "ne", {"var": "user.department"}), rows, env) == {1, 2}
    assert db.ids(leaf("$owner", "in", {"var": "user.subordinates"}), rows, env) == set()


def test_record_references(db):
    rows = [{"amount": 10}, {"amount": 20}, {"amount": None}]
    env = Env(record={"amount": 15, "$id": 2})
    assert db.ids(leaf("amount", "gt", {"var": "record.amount"}), rows, env) == {2}
    assert db.ids(leaf("$id", "ne", {"var": "record.$id"}), rows, env) == {1, 3}
    # a value of the wrong type behaves like a blank one
    assert db.ids(leaf("amount", "lt", {"var": "record.amount"}), rows,
                  Env(record={"amount": "15"})) == set()


# --- dates and datetimes ---------------------------------------------------------------------

def test_date_operators_with_literals_and_today(db):
    rows = [{"due": date(2026, 3, 2)}, {"due": date(2026, 3, 3)}, {"due": date(2026, 3, 10)},
            {"due": None}]
    assert db.ids(leaf("due", "before", {"today": -7}), rows) == {1}
    assert db.ids(leaf("due", "lte", {"today": -7}), rows) == {1, 2}
    assert db.ids(leaf("due", "eq", {"today": 0}), rows) == {3}
    assert db.ids(leaf("due", "ne", {"today": 0}), rows) == {1, 2, 4}
    assert db.ids(leaf("due", "after", "2026-03-02"), rows) == {2, 3}
    assert db.ids(leaf("due", "between", ["2026-03-03", {"today": 0}]), rows) == {2, 3}


# In Asia/Shanghai (UTC+8) the local day 2026-03-10 is [03-09 16:00, 03-10 16:00) UTC.
INSTANTS = [{"at": datetime(2026, 3, 9, 15, 59, 59, 999999)}, {"at": datetime(2026, 3, 9, 16)},
            {"at": datetime(2026, 3, 10, 15, 59)}, {"at": datetime(2026, 3, 10, 16)},
            {"at": None}]


@pytest.mark.parametrize(("op", "value", "expected"), [
    ("eq", {"today": 0}, {2, 3}),
    ("ne", {"today": 0}, {1, 4, 5}),
    ("before", {"today": 0}, {1}),
    ("after", {"today": 0}, {4}),
    ("gte", "2026-03-10", {2, 3, 4}),
    ("lte", "2026-03-10", {1, 2, 3}),
    ("between", [{"today": -1}, {"today": 0}], {1, 2, 3}),
    ("between", ["2026-03-10", "2026-03-10T23:59:00+08:00"], {2, 3}),
    ("eq", "2026-03-09T16:00:00Z", {2}),
    ("eq", "2026-03-10T00:00:00", {2}),  # no offset: a wall-clock time in the app zone
    ("before", {"now": "PT0S"}, {1, 2}),
    ("after", {"now": "-PT12H"}, {3, 4}),  # strictly after 03-09 16:00 UTC
    ("gt", {"now": "P1D"}, set()),
])
def test_datetime_against_days_in_a_non_utc_zone(db, op, value, expected):
    assert db.ids(leaf("at", op, value), INSTANTS) == expected


def test_date_field_against_now_uses_the_local_date():
    rows = [{"due": date(2026, 3, 9)}, {"due": date(2026, 3, 10)}]
    env = Env(now=datetime(2026, 3, 9, 17), tz="Asia/Shanghai")  # 03-10 01:00 in Shanghai
    predicate = to_python(leaf("due", "eq", {"now": "PT0S"}), operand, env)
    assert [predicate(row) for row in rows] == [False, True]
    assert env.today == date(2026, 3, 10)


def test_days_across_a_dst_change():
    env = Env(today=date(2026, 3, 8), now=datetime(2026, 3, 8, 12), tz="America/New_York")
    predicate = to_python(leaf("at", "eq", {"today": 0}), operand, env)
    # 2026-03-08 is 23 hours long in New York: [05:00, 04:00 next day) UTC
    assert predicate({"at": datetime(2026, 3, 8, 5)})
    assert predicate({"at": datetime(2026, 3, 9, 3, 59)})
    assert not predicate({"at": datetime(2026, 3, 9, 4)})
    assert not predicate({"at": datetime(2026, 3, 8, 4, 59)})


def test_date_field_against_a_datetime_literal_uses_its_local_date():
    env = Env(tz="Asia/Shanghai")
    predicate = to_python(leaf("due", "eq", "2026-03-09T20:00:00-05:00"), operand, env)
    assert predicate({"due": date(2026, 3, 10)})  # 03-10 01:00 UTC is 09:00 in Shanghai


def test_a_day_that_starts_after_a_midnight_dst_gap():
    # Havana skips 00:00-01:00 on 2026-03-08: the day starts at 01:00 CDT = 05:00 UTC
    env = Env(today=date(2026, 3, 8), now=datetime(2026, 3, 8, 12), tz="America/Havana")
    predicate = to_python(leaf("at", "eq", {"today": 0}), operand, env)
    assert predicate({"at": datetime(2026, 3, 8, 5)})
    assert not predicate({"at": datetime(2026, 3, 8, 4, 59, 59)})


def test_env_normalises_an_aware_now_and_derives_today():
    env = Env(now=datetime.fromisoformat("2026-03-09T20:00:00-05:00"), tz="Asia/Shanghai")
    assert env.now == datetime(2026, 3, 10, 1)
    assert env.today == date(2026, 3, 10)


def test_record_list_reference_and_a_separate_record_resolver(db):
    other_form = {"regions": Operand("regions", "multi_text"),
                  "limit": Operand("limit", "number")}.__getitem__
    rows = [{"name": "east"}, {"name": "west"}, {"name": None}]
    env = Env(record={"regions": ["east", "south"], "limit": 5})
    condition = leaf("name", "in", {"var": "record.regions"})
    assert validate(condition, operand, record_resolver=other_form) == []
    assert validate(condition, operand) == [
        ("/value/var", 'unknown field "regions" in variable "record.regions"')]
    assert db.ids(condition, rows, env, record_resolver=other_form) == {1}


def test_text_no_database_can_store_never_matches():
    assert validate(leaf("name", "eq", "\ud800"), operand) == [
        ("/value", "text must be valid Unicode")]
    env = Env(record={"name": "a\x00b"})
    predicate = to_python(leaf("name", "ne", {"var": "record.name"}), operand, env)
    assert predicate({"name": "a\x00b"})  # a blank value: "ne" holds for every record


# --- multi-valued and file fields -----------------------------------------------------------

TAGGED = [{"tags": ["a", "b"], "members": [1, 2]}, {"tags": ["b", "b"], "members": [2]},
          {"tags": [], "members": []}, {"tags": None}, {"tags": ["A"], "members": [3]}]


@pytest.mark.parametrize(("field", "op", "value", "expected"), [
    ("tags", "has_any", ["a", "c"], {1}),
    ("tags", "has_all", ["b", "a"], {1}),
    ("tags", "has_all", ["b", "b"], {1, 2}),
    ("tags", "has_all", [], {1, 2, 3, 4, 5}),
    ("tags", "has_any", [], set()),
    ("tags", "contains", "b", {1, 2}),
    ("tags", "contains", "B", set()),  # items match exactly
    ("tags", "not_contains", "b", {3, 4, 5}),
    ("tags", "is_empty", None, {3, 4}),
    ("tags", "is_not_empty", None, {1, 2, 5}),
    ("members", "has_any", {"var": "user.subordinates"}, set()),
    ("members", "has_any", [2, 3], {1, 2, 5}),
    ("members", "has_all", [1, 2], {1}),
    ("members", "contains", {"var": "user.id"}, set()),
    ("members", "is_empty", None, {3, 4}),
])
def test_multi_valued_operators(db, field, op, value, expected):
    assert db.ids(leaf(field, op, value), TAGGED) == expected


def test_file_emptiness(db):
    rows = [{"files": None}, {"files": []}, {"files": [{"name": "a.pdf"}]}]
    assert db.ids(leaf("files", "is_empty"), rows) == {1, 2}
    assert db.ids(leaf("files", "is_not_empty"), rows) == {3}


# --- groups ------------------------------------------------------------------------------------

def test_groups_and_negation_of_blanks(db):
    rows = [{"name": "won", "amount": 1}, {"name": None, "amount": None}, {"name": "lost"}]
    assert db.ids({"all": []}, rows) == {1, 2, 3}
    assert db.ids({"any": []}, rows) == set()
    assert db.ids({"not": {"all": []}}, rows) == set()
    # NOT(ne) must be eq exactly, even for the NULL row (no SQL three-valued leak)
    assert db.ids({"not": leaf("name", "ne", "won")}, rows) == {1}
    assert db.ids({"not": leaf("amount", "gt", 0)}, rows) == {2, 3}
    assert db.ids({"not": {"any": [leaf("name", "eq", "won"), leaf("amount", "lt", 5)]}},
                  rows) == {2, 3}


def test_the_documented_example(db):
    condition = {"all": [
        leaf("name", "eq", "negotiation"),
        leaf("amount", "gt", 50000),
        {"any": [leaf("$owner", "eq", {"var": "user.id"}), leaf("tags", "has_any", ["east"])]},
        {"not": leaf("name", "eq", "lost")},
        leaf("at", "before", {"today": -7}),
    ]}
    rows = [{"name": "negotiation", "amount": 60000, "$owner": 7, "at": datetime(2026, 3, 1)},
            {"name": "negotiation", "amount": 60000, "tags": ["east"], "at": datetime(2026, 3, 1)},
            {"name": "negotiation", "amount": 60000, "$owner": 1, "at": datetime(2026, 3, 1)},
            {"name": "negotiation", "amount": 60000, "$owner": 7, "at": datetime(2026, 3, 9)}]
    assert db.ids(condition, rows) == {1, 2}


def test_deepest_allowed_nesting_runs(db):
    condition = leaf("amount", "ne", 1)
    for i in range(20):
        condition = {"not": condition} if i % 2 else {"all": [condition, leaf("name", "ne", "")]}
    assert validate(condition, operand) == []
    db.ids(condition, AMOUNTS)


def test_none_condition_is_always_true():
    assert validate(None, operand) == []
    assert to_python(None, operand, ENV)({})
    assert str(to_sql(None, operand, ENV).compile(dialect=sqlite.dialect())) == "1"


# --- SQL shape -------------------------------------------------------------------------------

def _sql(condition, dialect):
    return str(to_sql(condition, operand, ENV).compile(
        dialect=dialect, compile_kwargs={"render_postcompile": True}))


def test_case_folding_per_dialect():
    condition = leaf("name", "contains", "Ab")
    assert "strpos(translate(cond_unit_records.name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', " \
           "'abcdefghijklmnopqrstuvwxyz')" in _sql(condition, postgresql.dialect())
    assert "instr(lower(cond_unit_records.name)" in _sql(condition, sqlite.dialect())
    assert "lower(" not in _sql(condition, postgresql.dialect())
    assert " LIKE " not in _sql(condition, sqlite.dialect())


def test_long_lists_stay_one_in_and_has_all_one_subquery():
    rendered = _sql(leaf("$owner", "in", list(range(1, 501))), sqlite.dialect())
    assert rendered.count(" IN ") == 1 and " OR " not in rendered
    rendered = _sql(leaf("tags", "has_all", [f"t{i}" for i in range(300)]), sqlite.dialect())
    assert rendered.count("count(DISTINCT") == 1 and " AND cond_unit_tags.value IN " in rendered


def test_operand_operators_only_narrow_the_default_set():
    narrowed = Operand("name", "text", column=records.c.name, operators=frozenset({"eq", "gt"}))
    resolve = {"name": narrowed}.__getitem__
    assert validate(leaf("name", "eq", "x"), resolve) == []
    assert validate(leaf("name", "contains", "x"), resolve) == [
        ("/op", 'operator "contains" does not apply to text field "name"')]
    assert validate(leaf("name", "gt", "x"), resolve) == [
        ("/op", 'operator "gt" does not apply to text field "name"')]


# --- validation ------------------------------------------------------------------------------

@pytest.mark.parametrize(("condition", "errors"), [
    ({"all": [leaf("name", "eq", "x"), leaf("amount", "gt", 1), leaf("name", "gt", "x")]},
     [("/all/2/op", 'operator "gt" does not apply to text field "name"')]),
    ({"any": [leaf("stagee", "eq", "x")]}, [("/any/0/field", 'unknown field "stagee"')]),
    ({"op": "eq", "value": 1}, [("/field", 'missing "field"')]),
    ({"field": "name", "value": 1}, [("/op", 'missing "op"')]),
    (leaf("name", "gtt", "x"), [("/op", 'unknown operator "gtt"')]),
    (leaf("name", "eq"), [("/value", 'missing "value" for operator "eq"')]),
    ({"field": "name", "op": "eq"}, [("/value", 'missing "value" for operator "eq"')]),
    (leaf("amount", "between", [1]),
     [("/value", 'operator "between" needs a list of two values [low, high]')]),
    (leaf("amount", "in", 1), [("/value", 'operator "in" needs a list of values, got number 1')]),
    (leaf("amount", "eq", [1]), [("/value", 'operator "eq" needs a single value, not a list')]),
    (leaf("amount", "eq", "12"), [("/value", 'expected a number, got text "12"')]),
    (leaf("amount", "eq", True), [("/value", "expected a number, got true")]),
    (leaf("due", "eq", 20260131),
     [("/value", 'expected a date ("YYYY-MM-DD") or date-time, got number 20260131')]),
    (leaf("due", "eq", "2026-13-01"), [("/value", 'invalid date "2026-13-01" (expected '
                                                   'YYYY-MM-DD or an ISO date-time, years 1000-9998)')]),
    (leaf("active", "eq", "yes"), [("/value", 'expected true or false, got text "yes"')]),
    (leaf("$owner", "in", [1, "2"]),
     [("/value/1", 'expected an id (a whole number), got text "2"')]),
    (leaf("amount", "between", [1, {"today": 0}]),
     [("/value/1", '{"today": 0} gives date values; they cannot be compared with number '
                   'field "amount"')]),
    (leaf("$owner", "eq", {"var": "user.subordinates"}),
     [("/value", '{"var": "user.subordinates"} is a list; operator "eq" needs a single value')]),
    (leaf("$owner", "in", {"var": "user.id"}),
     [("/value", 'operator "in" needs a list; {"var": "user.id"} is a single value')]),
    (leaf("$owner", "eq", {"var": "user.boss"}), [("/value/var", 'unknown variable "user.boss"')]),
    (leaf("amount", "eq", {"var": "record.nope"}),
     [("/value/var", 'unknown field "nope" in variable "record.nope"')]),
    (leaf("at", "after", {"now": "2 hours"}),
     [("/value/now", 'invalid duration text "2 hours" (expected ISO 8601 such as "-PT2H", '
                     '"P1D" or "PT0S")')]),
    (leaf("due", "after", {"today": 1.5}),
     [("/value/today", '"today" needs a whole number of days such as -7, got number 1.5')]),
    (leaf("due", "after", {"today": 1, "now": "PT0S"}),
     [("/value", 'a reference is {"var": "..."}, {"today": n} or {"now": "<ISO 8601 '
                 'duration>"}')]),
    ({"field": "name", "op": "eq", "vaule": "x", "value": "x"}, [("/vaule", 'unexpected key "vaule"')]),
    ({"all": {"field": "name"}}, [("/all", '"all" needs a list of conditions, got an object')]),
    ({"not": []}, [("/not", "expected a condition object, got a list")]),
    ({"all": [], "any": []}, [("/any", 'unexpected key "any" in a "all" group')]),
    ({"all": [3]}, [("/all/0", "expected a condition object, got number 3")]),
    ({}, [("", 'expected "all", "any", "not", or a condition with "field" and "op"')]),
    (leaf("files", "eq", "x"), [("/op", 'operator "eq" does not apply to file field "files"')]),
    (leaf("name", "eq", "a\x00b"), [("/value", "text must not contain NUL characters")]),
])
def test_validation_messages_and_pointers(condition, errors):
    assert validate(condition, operand) == errors


def test_reference_kind_mismatch_points_at_the_value():
    assert validate(leaf("name", "eq", {"var": "user.id"}), operand) == [
        ("/value", '{"var": "user.id"} gives ref values; they cannot be compared with text '
                   'field "name"')]


def test_nesting_and_size_limits():
    deep = leaf("amount", "eq", 1)
    for _ in range(21):
        deep = {"not": deep}
    assert validate(deep, operand) == [
        ("/not" * 20, "conditions are nested deeper than 20 levels")]
    very_deep = leaf("amount", "eq", 1)
    for _ in range(5000):  # must not hit Python's recursion limit
        very_deep = {"not": very_deep}
    assert len(validate(very_deep, operand)) == 1
    wide = {"any": [leaf("amount", "eq", i) for i in range(201)]}
    assert validate(wide, operand) == [("", "more than 200 conditions (201)")]


def test_compilers_raise_condition_error_with_the_errors():
    bad = {"all": [leaf("name", "gt", 1)]}
    for compile_ in (to_sql, to_python):
        with pytest.raises(ConditionError) as caught:
            compile_(bad, operand, ENV)
        assert caught.value.errors == validate(bad, operand)
        assert "/all/0/op" in str(caught.value)


def test_is_empty_ignores_a_stale_value():
    assert validate(leaf("name", "is_empty", "x"), operand) == []


@pytest.mark.parametrize("text_", ["PT0S", "-PT2H", "P1D", "PT30M", "P1Y2M3W4DT5H6M7.5S", "+P1W"])
def test_valid_durations(text_):
    assert parse_duration(text_) is not None


@pytest.mark.parametrize("text_", ["P", "PT", "P1DT", "PT1D", "1H", "pt1h", "P-1D", "P99999Y", ""])
def test_invalid_durations(text_):
    assert parse_duration(text_) is None


def test_fields_used():
    condition = {"all": [leaf("name", "eq", "x"), {"not": leaf("amount", "gt", 1)},
                         {"any": [leaf("$owner", "eq", {"var": "record.$owner"}),
                                  leaf("due", "between", [{"var": "record.start"}, "2026-01-01"])]}]}
    assert fields_used(condition) == {"name", "amount", "$owner", "due"}
    assert record_fields_used(condition) == {"$owner", "start"}
    assert fields_used({"all": [3, {"not": None}]}) == set()
