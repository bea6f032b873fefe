"""Size and work limits, and property tests: formulas never fail in unexpected ways."""
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formloom.runtime.formulas import FormulaError, FormulaLimitError, evaluate, parse, typecheck


def test_too_long():
    with pytest.raises(FormulaLimitError, match="too long"):
        parse("1" + " + 1" * 1000)
    assert evaluate("1" + "+1" * 249, {}) == 250  # long chains of one operator are not nesting


def test_too_many_nodes():
    with pytest.raises(FormulaLimitError, match="more than 500 parts"):
        parse("SUM(" + ", ".join(["1"] * 500) + ")")
    assert evaluate("SUM(" + ", ".join(["1"] * 499) + ")", {}) == 499


def test_too_deep():
    with pytest.raises(FormulaLimitError, match="nested too deeply") as caught:
        parse("ABS(" * 51 + "1" + ")" * 51)
    assert caught.value.column == 201
    assert evaluate("ABS(" * 48 + "-1" + ")" * 48, {}) == 1  # 48 calls, a sign, a number


def test_deep_input_never_reaches_python_recursion():
    # These would blow Python's recursion limit in a recursive parser or walker.
    with pytest.raises(FormulaLimitError):
        parse("-" * 3999 + "1")
    assert evaluate("(" * 1999 + "1" + ")" * 1999, {}) == 1


def test_step_limit_raises_instead_of_giving_blank():
    formula = parse("1" + " + 1" * 20)
    assert evaluate(formula, {}) == 21
    with pytest.raises(FormulaLimitError, match="too many steps"):
        evaluate(formula, {}, max_steps=10)


def test_long_subform_columns_count_as_steps():
    rows = [{"x": 1}] * 200_000
    with pytest.raises(FormulaLimitError):
        evaluate("SUM(items.x)", {"items": rows})
    assert evaluate("SUM(items.x)", {"items": rows}, max_steps=300_000) == 200_000


def test_text_cannot_grow_without_bound():
    doubling = 'SUBSTITUTE(' * 20 + '"ab"' + ', "a", "aa")' * 20
    with pytest.raises(FormulaLimitError, match="text grew"):
        evaluate(doubling, {})
    with pytest.raises(FormulaLimitError):
        evaluate('SUBSTITUTE(t, "a", t)', {"t": "a" * 1000})


# -- property tests --------------------------------------------------------------------------

def _arith():
    """(source text, exact value or None) for random arithmetic over small integers."""
    leaf = st.integers(-9, 9).map(lambda n: (f"({n})", Fraction(n)))
    # Powers and divisors are literals so float rounding can never hide an exact zero.
    power = st.tuples(st.integers(-9, 9), st.integers(0, 3)).map(
        lambda p: (f"(({p[0]})^{p[1]})", None if p == (0, 0) else Fraction(p[0]) ** p[1])
    )

    def combine(children):
        def build(left, op, right):
            (ltext, lval), (rtext, rval) = left, right
            if lval is None or rval is None:
                return f"({ltext}{op}{rtext})", None
            if op == "/":
                return f"({ltext}/{rtext})", None if rval == 0 else lval / rval
            return f"({ltext}{op}{rtext})", {"+": lval + rval, "-": lval - rval, "*": lval * rval}[op]

        divisor = st.integers(-9, 9).map(lambda n: (str(n), Fraction(n)))
        return st.one_of(
            st.builds(build, children, st.sampled_from("+-*"), children),
            st.builds(build, children, st.just("/"), divisor),
            children.map(lambda c: (f"-{c[0]}", None if c[1] is None else -c[1])),
        )

    return st.recursive(st.one_of(leaf, power), combine, max_leaves=12)


@settings(database=None, max_examples=300, deadline=None)
@given(_arith())
def test_arithmetic_agrees_with_exact_fractions(case):
    text, exact = case
    result = evaluate(parse(text), {})
    if exact is None:
        assert result is None
    else:
        assert result == pytest.approx(float(exact), rel=1e-9, abs=1e-9)
        if exact.denominator == 1:
            assert result == int(exact)  # whole results come back as int


_PIECES = list("0123456789+-*/^&()=<>!,.\"'$ _abxyz") + [
    "SUM(", "IF(", "ROUND(", "TEXT(", "DATE(", "LEFT(", "MID(", "TRUE", "_.a", "1e9", "9^9",
]
_SOUP = st.lists(st.sampled_from(_PIECES), max_size=40).map("".join)


@settings(database=None, max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(_SOUP)
def test_random_text_only_ever_raises_formula_errors(text):
    try:
        formula = parse(text)
    except FormulaError:
        return
    values = {"a": 3, "b": "x", "x": None, "y": 2.5, "z": True, "_": [{"a": 1}]}
    try:
        evaluate(formula, values)
        typecheck(formula, {"a": "number", "b": "text", "x": "number", "y": "number"})
    except FormulaError:
        pass
