"""The compiled closures must give exactly what the tree-walking interpreter gives."""
import pickle
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formloom.runtime.formulas import FUNCTIONS, FormulaError, evaluate, parse

TODAY, NOW = date(2026, 3, 15), datetime(2026, 3, 15, 9, 30)
_NAMES = ["a", "b", "c", "d", "missing", "rows.x", "rows.y", "rows", "nope.x"]
_UNITS = {"DATEDIF": '"d"', "DATEADD": '"m"'}

_SCALARS = st.one_of(
    st.none(),
    st.just(""),
    st.booleans(),
    st.integers(-10**6, 10**6),
    st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False),
    st.sampled_from(["abc", "12", " -1.5 ", "TRUE", "2024-02-29", "Abc", "1,234.5", "50%"]),
    st.dates(date(1990, 1, 1), date(2060, 12, 31)),
    st.datetimes(datetime(1990, 1, 1), datetime(2060, 12, 31)),
    st.datetimes(datetime(1990, 1, 1), datetime(2060, 12, 31), timezones=st.just(UTC)),
    st.decimals(-10**6, 10**6, allow_nan=False, places=3),
)
_CELL = st.one_of(st.decimals(-100, 100, allow_nan=False, places=2), st.integers(-9, 9), _SCALARS)
_DICT_ROW = st.fixed_dictionaries({"x": _CELL}, optional={"y": _CELL})
_ROW = st.one_of(_DICT_ROW, _SCALARS)  # sometimes a malformed row: not a mapping
_VALUES = st.fixed_dictionaries(
    {
        "a": _SCALARS,
        "b": _SCALARS,
        "c": _SCALARS,
        "d": _SCALARS,
        "rows": st.one_of(
            st.lists(_DICT_ROW, min_size=1, max_size=4), st.lists(_ROW, max_size=5), st.none(), _SCALARS
        ),
    },
    optional={"nope": _SCALARS},
)

_LEAF = st.one_of(
    st.sampled_from(_NAMES),
    st.just("SUM(rows.x)"),
    st.sampled_from(["SUM(rows.x)", "COUNT(rows.y)", "MAX(rows.x)", "COUNTA(rows)"]),
    st.integers(0, 400).map(str),
    st.sampled_from(["0.5", "2.675", "1e3", '"abc"', '"12"', '""', "TRUE", "FALSE", '"0.00"']),
)


def _expressions():
    def extend(children):
        def call(name, args):
            fn = FUNCTIONS[name]
            limit = len(args) if fn.max_args is None else fn.max_args
            count = max(fn.min_args, min(len(args), limit))
            if fn.pairs and count % 2:
                count += 1
            args = (args * (count + 1))[:count] if args else []
            args = [_UNITS[name] if fn.param(i) == "unit" else a for i, a in enumerate(args)]
            return f"{name}({', '.join(args)})"

        ops = ["+", "-", "*", "/", "^", "&", "=", "<>", "<", "<=", ">", ">="]
        return st.one_of(
            st.builds(lambda left, o, right: f"({left} {o} {right})", children, st.sampled_from(ops), children),
            children.map(lambda c: f"-{c}"),
            st.builds(call, st.sampled_from(sorted(FUNCTIONS)), st.lists(children, max_size=4)),
        )

    return st.recursive(_LEAF, extend, max_leaves=10)


def _outcome(formula, values, **options):
    try:
        result = evaluate(formula, values, today=TODAY, now=NOW, **options)
    except Exception as exc:  # noqa: BLE001 - both paths must fail the same way too
        return "raises", type(exc), str(exc)
    return "gives", type(result), result


@settings(database=None, max_examples=1000, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(_expressions(), _VALUES)
def test_compiled_agrees_with_interpreter(expr, values):
    try:
        formula = parse(expr)
    except FormulaError:
        return
    # Every small budget too: the step limit must trip at the same moment, not just at all.
    for max_steps in [*range(40), 100_000]:
        fast = _outcome(formula, values, max_steps=max_steps)
        slow = _outcome(formula, values, max_steps=max_steps, interpret=True)
        assert fast == slow, (expr, max_steps)


@pytest.mark.parametrize(
    ("expr", "values", "expected"),
    [
        ("ROUND(amount * probability / 100, 2)", {"amount": 1234.5, "probability": 35}, 432.08),
        ("ROUND(2.675, 2)", {}, 2.68),
        ("ROUND(-2.5, 0)", {}, -3),
        ("ROUND(12345, -2)", {}, 12300),
        ("SUM(items.subtotal)", {"items": [{"subtotal": 1.5}, {}, {"subtotal": Decimal("2")}]}, 3.5),
        ("IF(qty = 0, 0, total / qty)", {"qty": 0, "total": 5}, 0),
        ("total / qty", {"qty": "", "total": 5}, None),
        ("a", {"a": datetime(2026, 1, 2, 3, 4, tzinfo=UTC)}, datetime(2026, 1, 2, 3, 4)),
        ("SUM(r.x)", {"r": ({"x": Decimal("1.5")}, [("x", 2)], None)}, 1.5),
    ],
)
def test_compiled_results(expr, values, expected):
    result = evaluate(expr, values)
    assert result == expected and type(result) is type(expected)


def test_step_limit_trips_at_the_same_step():
    formula = parse("IF(a > 1, SUM(rows.x), 0)")
    values = {"a": 2, "rows": [{"x": 1}] * 10}
    # IF, >, a, 1, SUM and the column itself are six steps; the ten rows make sixteen.
    assert evaluate(formula, values, max_steps=16) == 10
    with pytest.raises(FormulaError, match="limit is 15"):
        evaluate(formula, values, max_steps=15)


def test_evaluated_formula_still_pickles():
    formula = parse("ROUND(a / 3, 2)")
    assert evaluate(formula, {"a": 1}) == 0.33
    copy = pickle.loads(pickle.dumps(formula))
    assert copy == formula and evaluate(copy, {"a": 2}) == 0.67


def test_rounding_an_infinite_value_gives_blank():
    from formloom.runtime.formulas import evaluate, parse

    formula = parse("ROUND(a, 2)")
    assert evaluate(formula, {"a": float("inf")}) is None
    assert evaluate(formula, {"a": float("inf")}, interpret=True) is None
