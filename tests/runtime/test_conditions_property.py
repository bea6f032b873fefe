"""Property test: to_sql and to_python select exactly the same records, on SQLite and PG."""
import json
import os
import uuid
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import product
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
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
    insert,
    make_url,
    select,
    text,
)

from formloom.runtime.conditions import DEFAULT_OPERATORS, Env, Operand, to_python, to_sql, validate

metadata = MetaData()
records = Table(
    "cond_prop_records", metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(100)),
    Column("amount", Float),
    Column("due", Date),
    Column("at", DateTime),
    Column("done", Boolean),
    Column("owner", Integer),
    Column("files", Text),
)
tags = Table("cond_prop_tags", metadata,
             Column("record_id", Integer, nullable=False), Column("value", String(100)))
people = Table("cond_prop_people", metadata,
               Column("record_id", Integer, nullable=False), Column("value", Integer))

SCALARS = {"title": "text", "amount": "number", "due": "date", "at": "datetime",
           "done": "boolean", "$owner": "ref", "files": "file", "$id": "ref"}
COLUMNS = {"$owner": "owner", "$id": "id"}
JUNCTIONS = {"tags": ("multi_text", tags), "people": ("multi_ref", people)}
KINDS = {**SCALARS, **{key: kind for key, (kind, _) in JUNCTIONS.items()}}


def operand(key):
    """The storage layer's resolver for this schema."""
    if key in SCALARS:
        return Operand(key, SCALARS[key], column=records.c[COLUMNS.get(key, key)])
    kind, table = JUNCTIONS[key]
    return Operand(key, kind, junction=(table.c.record_id, table.c.value),
                   record_id=records.c.id)


# --- value pools: blanks, case, Unicode, LIKE wildcards, float edges, a DST week ------------

TEXTS = ["", "a", "A", "ab", "AB", "aB", "Ünïcode", "ünïcode", "ÜNÏCODE", "%", "_", "50%_off",
         "a_b", "\\", "x\\y", "😀", "emoji 😀 Smile", "ß", "SS", "İ", "i̇", "ǅ", " ", "café",
         "CAFÉ", "it's", "ΣΑΣ", "σας"]
# Pools rather than free-form st.text()/st.floats(): drawing from them is much cheaper, and a
# tiny alphabet of case pairs and LIKE wildcards makes needles often occur in haystacks.
ALPHABET = "aAüÜ%_\\"


def _strings(max_size):
    return ["".join(chars) for n in range(1, max_size + 1) for chars in product(ALPHABET, repeat=n)]


texts = st.one_of(st.sampled_from(TEXTS), st.sampled_from(_strings(3)))
needles = st.one_of(st.sampled_from(TEXTS), st.sampled_from(ALPHABET), st.sampled_from(_strings(2)))
numbers = st.one_of(
    st.sampled_from([0, -0.0, 1, -1, 2.5, -2.5, 0.1, 0.2, 0.30000000000000004, 1e-7, -1e-7,
                     -1e12, 1e9, 1e15 + 0.5, 2**53, -(2**31), 123456.789, -0.5]),
    st.integers(-3, 3),
    st.integers(-6, 6).map(lambda n: n / 2),  # halves next to the integers: 1 vs 1.0 vs 1.5
)
ids = st.integers(1, 4)
tag_values = st.sampled_from(["a", "A", "b", "ü", "Ü", "%", ""])  # few, so lists repeat items
# 2026-03-08 has DST changes in New York (02:00) and Havana (at midnight)
ZONES = ["UTC", "Asia/Shanghai", "America/New_York", "America/Havana", "Asia/Kolkata"]
dates = st.builds(lambda k: date(2026, 3, 8) + timedelta(days=k), st.integers(-4, 4))


def _local_midnight(day, zone):
    return (datetime.combine(day, time(0), tzinfo=ZoneInfo(zone))
            .astimezone(UTC).replace(tzinfo=None))


DURATIONS = ["PT0S", "-PT2H", "P1D", "-P1D", "PT30M", "-PT12H30M", "P1W", "-P1M", "PT90M"]
FILES = [None, [], [{"name": "a.pdf"}]]
# text and time fields have the subtlest semantics: draw them, and text matching, more often
FIELD_CHOICES = sorted(KINDS) + ["title"] * 5 + ["at"] * 3 + ["tags", "tags", "due", "amount"]
EXTRA_OPS = {"text": ["contains", "starts_with", "ends_with"] * 2}


def _iso_instant(moment, style):
    if style == "naive":
        return moment.isoformat()
    if style == "utc":
        return moment.isoformat() + "Z"
    return (moment + timedelta(hours=5, minutes=30)).isoformat() + "+05:30"


# Strategies below depend on the example's time zone, so that instants often fall exactly on
# that zone's midnights, where "whole day" bounds would be off by one. Cached per zone.

@cache
def instants(zone):
    return st.builds(
        lambda moment, jitter: moment + timedelta(microseconds=jitter),
        st.one_of(
            st.builds(lambda k: datetime(2026, 3, 5) + timedelta(minutes=30 * k),
                      st.integers(0, 384)),
            st.builds(_local_midnight, dates, st.just(zone)),
        ),
        st.sampled_from([0, 0, 1, -1]),
    )


@cache
def time_values(zone):
    iso_instants = st.builds(_iso_instant, instants(zone),
                             st.sampled_from(["naive", "utc", "offset"]))
    return st.one_of(
        dates.map(date.isoformat), iso_instants,
        st.builds(lambda n: {"today": n}, st.integers(-5, 5)),
        st.sampled_from(DURATIONS).map(lambda d: {"now": d}),
        st.sampled_from([{"var": "record.due"}, {"var": "record.at"}]),
    )


@cache
def one_value(kind, zone):
    return {
        "text": st.one_of(needles, needles, st.just({"var": "record.title"})),
        "number": st.one_of(numbers, st.just({"var": "record.amount"})),
        "date": time_values(zone),
        "datetime": time_values(zone),
        "boolean": st.one_of(st.booleans(), st.just({"var": "record.done"})),
        "ref": st.one_of(ids, st.sampled_from([{"var": "user.id"}, {"var": "user.department"},
                                               {"var": "record.$owner"}, {"var": "record.$id"}])),
        "multi_text": st.one_of(tag_values, st.just({"var": "record.title"})),
        "multi_ref": st.one_of(ids, st.just({"var": "user.id"})),
    }[kind]


LIST_REFERENCES = {"text": [{"var": "record.tags"}], "multi_text": [{"var": "record.tags"}],
                   "ref": [{"var": "user.subordinates"}, {"var": "record.people"}],
                   "multi_ref": [{"var": "user.subordinates"}, {"var": "record.people"}]}
ARITY = {"between": "pair", "in": "list", "not_in": "list", "has_any": "list",
         "has_all": "list", "is_empty": "none", "is_not_empty": "none"}


@cache
def value_for(op, kind, zone):
    arity = ARITY.get(op, "one")
    if arity == "none":
        return st.none()
    if arity == "pair":
        return st.lists(one_value(kind, zone), min_size=2, max_size=2)
    if arity == "one":
        return one_value(kind, zone)
    literal = st.lists(one_value(kind, zone), max_size=4)
    references = LIST_REFERENCES.get(kind)
    return st.one_of(literal, st.sampled_from(references)) if references else literal


@st.composite
def leaves(draw, zone):
    key = draw(st.sampled_from(FIELD_CHOICES))
    kind = KINDS[key]
    op = draw(st.sampled_from(sorted(DEFAULT_OPERATORS[kind]) + EXTRA_OPS.get(kind, [])))
    return {"field": key, "op": op, "value": draw(value_for(op, kind, zone))}


@cache
def conditions(zone):
    return st.recursive(
        leaves(zone),
        lambda children: st.one_of(
            st.lists(children, max_size=4).map(lambda items: {"all": items}),
            st.lists(children, max_size=4).map(lambda items: {"any": items}),
            children.map(lambda child: {"not": child}),
        ),
        max_leaves=10,
    )


@cache
def record_values(zone):
    return st.fixed_dictionaries({
        "title": maybe(texts),
        "amount": maybe(numbers),
        "due": maybe(dates),
        "at": maybe(instants(zone)),
        "done": maybe(st.booleans()),
        "$owner": maybe(ids),
        "files": st.sampled_from(FILES),
        "tags": maybe(st.lists(tag_values, max_size=4)),
        "people": maybe(st.lists(ids, max_size=4)),
    })


def maybe(strategy):
    """None a quarter of the time: blanks matter, but values make the comparisons."""
    return st.one_of(st.none(), strategy, strategy, strategy)


@st.composite
def scenarios(draw):
    """Records, a few conditions over them, and an environment, all in one time zone."""
    zone = draw(st.sampled_from(ZONES))
    env = Env(
        user_id=draw(st.one_of(st.none(), ids)),
        department_id=draw(st.one_of(st.none(), ids)),
        subordinates=tuple(draw(st.lists(ids, max_size=3))),
        record={**draw(record_values(zone)), "$id": draw(ids)},
        now=draw(instants(zone)),
        tz=zone,
    )
    items = draw(st.lists(record_values(zone), min_size=1, max_size=12))
    # several conditions per record set: more checks per (slow) round of inserts
    some_conditions = draw(st.lists(conditions(zone), min_size=1, max_size=6))
    fragments = sorted(set().union(*(_fragments(item["title"] or "") for item in items)))
    if fragments:
        pick = st.one_of(st.none(), st.sampled_from(fragments), st.sampled_from(fragments))
        some_conditions = [_use_fragments(c, lambda: draw(pick)) for c in some_conditions]
    return items, some_conditions, env


def _fragments(title):
    """Substrings of a title, also case-swapped: needles that do occur, in other cases."""
    found = {title[i:j] for i in range(len(title)) for j in range(i + 1, len(title) + 1)}
    return found | {fragment.swapcase() for fragment in found}


def _use_fragments(condition, pick):
    """Replace some text needles with fragments of the records' titles."""
    if "field" not in condition:
        return {key: ([_use_fragments(c, pick) for c in body] if isinstance(body, list)
                      else _use_fragments(body, pick)) for key, body in condition.items()}
    if condition["field"] == "title" and isinstance(condition["value"], str):
        return {**condition, "value": pick() or condition["value"]}
    return condition


def _rows(items):
    main, junction_rows = [], {key: [] for key in JUNCTIONS}
    for i, item in enumerate(items, 1):
        row = {COLUMNS.get(key, key): item[key] for key in SCALARS if key != "$id"}
        row["files"] = None if item["files"] is None else json.dumps(item["files"])
        main.append({**row, "id": i})
        for key in JUNCTIONS:
            junction_rows[key] += [{"record_id": i, "value": v} for v in item[key] or ()]
    return main, junction_rows


def check_agreement(conn, items, some_conditions, env):
    """Insert the records in a rolled-back transaction and compare both compilations."""
    main, junction_rows = _rows(items)
    with conn.begin() as transaction:
        conn.execute(insert(records), main)
        for key, (_, table) in JUNCTIONS.items():
            if junction_rows[key]:
                conn.execute(insert(table), junction_rows[key])
        for condition in some_conditions:
            assert validate(condition, operand) == []
            where = to_sql(condition, operand, env)
            in_sql = set(conn.scalars(select(records.c.id).where(where)))
            predicate = to_python(condition, operand, env)
            in_python = {i for i, item in enumerate(items, 1) if predicate({**item, "$id": i})}
            assert in_sql == in_python, condition
        _check_every_leaf(conn, items, some_conditions, env)
        transaction.rollback()


def _check_every_leaf(conn, items, some_conditions, env):
    """Each leaf on each record, as boolean columns of one SELECT.

    A group can mask a leaf that disagrees; here none can, and a NULL (which would leak
    through a NOT) fails as well.
    """
    leaves = [leaf for condition in some_conditions for leaf in _leaves(condition)]
    if not leaves:
        return
    columns = [to_sql(leaf, operand, env).label(f"leaf_{i}") for i, leaf in enumerate(leaves)]
    rows = conn.execute(select(records.c.id, *columns).order_by(records.c.id)).all()
    for leaf, in_sql in zip(leaves, list(zip(*rows, strict=True))[1:], strict=True):
        predicate = to_python(leaf, operand, env)
        in_python = [predicate({**item, "$id": i}) for i, item in enumerate(items, 1)]
        assert list(in_sql) == in_python, leaf


def _leaves(condition):
    for key in ("all", "any"):
        for child in condition.get(key, ()):
            yield from _leaves(child)
    if "not" in condition:
        yield from _leaves(condition["not"])
    if "field" in condition:
        yield condition


@pytest.fixture(scope="module")
def sqlite_conn(tmp_path_factory):
    engine = create_engine(f"sqlite:///{tmp_path_factory.mktemp('cond') / 'property.db'}")
    metadata.create_all(engine)
    with engine.connect() as conn:
        yield conn
    engine.dispose()


@pytest.fixture(scope="module")
def postgres_conn():
    url = os.environ.get("FORMLOOM_TEST_DATABASE_URL")
    if not url:
        pytest.skip("FORMLOOM_TEST_DATABASE_URL is not set; PostgreSQL property test skipped")
    url = make_url(url).set(drivername="postgresql+psycopg")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"formloom_cond_prop_{uuid.uuid4().hex[:12]}"  # runs never share data
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(url.set(database=name))
    try:
        metadata.create_all(engine)
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_sql_and_python_agree_on_sqlite(sqlite_conn, scenario):
    check_agreement(sqlite_conn, *scenario)


@settings(max_examples=800, deadline=None)
@given(scenarios())
def test_sql_and_python_agree_on_postgresql(postgres_conn, scenario):
    check_agreement(postgres_conn, *scenario)


KEYWORDS = ["all", "any", "not", "field", "op", "value", "var", "today", "now", *KINDS,
            "eq", "in", "between", "has_all", "is_empty", "user.id", "record.at", "-PT2H"]
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=3),
              st.sampled_from(KEYWORDS)),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(KEYWORDS), children, max_size=3),
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_any_json_validates_without_crashing(condition):
    errors = validate(condition, operand)
    assert all(isinstance(message, str) and (ptr == "" or ptr.startswith("/"))
               for ptr, message in errors)
    if not errors:  # whatever validates must compile both ways
        to_sql(condition, operand, Env())
        to_python(condition, operand, Env())({})
