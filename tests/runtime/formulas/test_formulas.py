"""Parsing and evaluating formulas: syntax, precedence, blanks, every function family."""
from datetime import date, datetime

import pytest

from formloom.runtime.formulas import FUNCTIONS, FormulaError, evaluate, parse
from formloom.runtime.formulas.nodes import Binary, Number, Ref

TODAY = date(2024, 3, 15)
NOW = datetime(2024, 3, 15, 10, 30, 5)

RECORD = {
    "amount": 1234.5,
    "probability": 35,
    "discount": 25,
    "qty": 3,
    "price": 9.99,
    "name": "Ann",
    "region": "East",
    "sign_date": date(2024, 1, 31),
    "a": 2,
    "b": False,
    "$id": 42,
    "items": [
        {"subtotal": 10, "discount": 5, "name": "pen"},
        {"subtotal": 20.5, "discount": None, "name": ""},
        {"subtotal": None, "discount": 30, "name": "ink"},
    ],
}


def run(expr: str, values: dict | None = None, **kwargs):
    """Evaluate with the fixed clock and the sample record."""
    return evaluate(parse(expr), RECORD if values is None else values, today=TODAY, now=NOW,
                    **kwargs)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("ROUND(amount * probability / 100, 2)", 432.08),
        ("SUM(items.subtotal)", 30.5),
        ("MAX(items.discount)", 30),
        ('IF(discount > 20, "director", "manager")', "director"),
        ('DATEDIF(sign_date, TODAY(), "d")', 44),
        ('CONCATENATE(name, " - ", region)', "Ann - East"),
        ("ROUND(qty * price * (1 - discount / 100), 2)", 22.48),
        ('TEXT(amount, "0.00")', "1234.50"),
        ("AND(a > 1, NOT(b))", True),
        ('name & "!"', "Ann!"),
    ],
)
def test_sample_formulas(expr, expected):
    assert run(expr) == expected


def test_parse_exposes_source_references_and_functions():
    formula = parse('IF($id > 0, SUM(items.subtotal) + amount, round(1.5))')
    assert formula.expr == 'IF($id > 0, SUM(items.subtotal) + amount, round(1.5))'
    assert formula.references == {("$id",), ("items", "subtotal"), ("amount",)}
    assert formula.functions == {"IF", "SUM", "ROUND"}


def test_parse_builds_a_typed_tree_and_caches_it():
    formula = parse("1 + amount * 2")
    assert formula is parse("1 + amount * 2")
    assert formula.root == Binary(
        "+",
        Number(1, 0, 1),
        Binary("*", Ref(("amount",), 4, 10), Number(2, 13, 14), 11, 4, 14),
        2, 0, 14,
    )
    assert parse("a == b").root.op == "=" and parse("a != b").root.op == "<>"
    assert parse("(((1)))").root == Number(1, 3, 4)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("2+3*4^2", 50),
        ("-2^2", 4),  # Excel: the sign binds tighter than ^
        ("2^3^2", 64),  # Excel: ^ groups left to right
        ("2^-1", 0.5),
        ("10-4-3", 3),
        ("12/3/2", 2),
        ("(2+3)*4", 20),
        ("1+2&3", "33"),  # & is looser than +
        ("1+2=3", True),  # comparisons are loosest
        ('"a"&"b"="ab"', True),
        ("--3", 3),
        ("+3", 3),
        ("7/2", 3.5),
        ("1.5e3", 1500),
        (".5*2", 1),
        ("0.1+0.2", 0.3),
    ],
)
def test_operators_and_precedence(expr, expected):
    assert run(expr, {}) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('"say ""hi"""', 'say "hi"'),
        (r'"say \"hi\""', 'say "hi"'),
        ("'single'", "single"),
        ("'it''s'", "it's"),
        (r'"back\\slash"', "back\\slash"),
        ("TRUE", True),
        ("false", False),
        ("True = TRUE", True),
        ("$id", 42),
        ("sum(1, 2)", 3),
        ("=1 + 2", 3),  # pasted from Excel
        ("= 1 = 1", True),
    ],
)
def test_literals_and_case_insensitivity(expr, expected):
    assert run(expr) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("1 = 1", True), ("1 == 1.0", True), ("1 <> 2", True), ("1 != 1", False),
        ("2 < 10", True), ("2 <= 2", True), ("3 > 2", True), ("3 >= 4", False),
        ('"abc" = "ABC"', True), ('"b" > "A"', True), ("0.1 + 0.2 = 0.3", True),
        ("TODAY() > sign_date", True), ("NOW() > TODAY()", True),
        ('1 = "1"', False), ('1 <> "1"', True), ("missing = 0", True), ('missing = ""', True),
        ("missing < 1", True), ("missing < sign_date", True), ("TRUE = 1", False),
    ],
)
def test_comparisons(expr, expected):
    assert run(expr) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("missing + 1", 1),
        ("missing * 5", 0),
        ('missing & "x"', "x"),
        ('empty & "x"', "x"),
        ("empty + 2", 2),
        ("IF(missing, 1, 2)", 2),
        ("NOT(missing)", True),
        ("AND(TRUE, missing)", False),
        ("SUM(items.subtotal, missing)", 30.5),
        ("AVERAGE(items.subtotal)", 15.25),
        ("COUNT(items.subtotal)", 2),
        ("COUNTA(items.name)", 2),
        ("ISBLANK(missing)", True),
        ("ISBLANK(empty)", True),
        ("ISBLANK(name)", False),
        ("YEAR(missing)", None),  # a blank date gives blank, not 1900
        ('DATEDIF(missing, TODAY(), "d")', None),
        ("SUM(nothing.subtotal)", 0),
        ("MAX(nothing.subtotal)", 0),
    ],
)
def test_blank_semantics(expr, expected):
    assert run(expr, {**RECORD, "empty": ""}) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("IF(a > 1, 1)", 1),
        ("IF(a > 5, 1)", None),  # no "otherwise": blank
        ("IF(qty = 0, 0, amount / qty)", 411.5),
        ("IF(0, 1, 2)", 2),
        ('IFS(a > 5, "big", a > 1, "mid", TRUE, "small")', "mid"),
        ('IFS(a > 5, "big")', None),
        ('SWITCH(region, "West", 1, "east", 2, 0)', 2),
        ('SWITCH(region, "West", 1, 0)', 0),
        ('SWITCH(region, "West", 1)', None),
        ("AND(a > 1, b)", False),
        ("OR(a > 1, b)", True),
        ("AND(TRUE, 1 / 0 = 1)", None),
        ("OR(TRUE, 1 / 0 = 1)", True),  # stops at the first TRUE
        ("NOT(b)", True),
        ("ISBLANK(items.subtotal)", False),
        ("ISBLANK(nothing.x)", True),
    ],
)
def test_logic_functions(expr, expected):
    assert run(expr) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("ROUND(2.5, 0)", 3), ("ROUND(-2.5, 0)", -3), ("ROUND(0.5)", 1),
        ("ROUND(1.005, 2)", 1.01), ("ROUND(2.675, 2)", 2.68), ("ROUND(1234.5, -2)", 1200),
        ("ROUND(1.2, 5)", 1.2), ("ROUND(7, 0)", 7),
        ("ROUNDUP(1.21, 1)", 1.3), ("ROUNDUP(-1.21, 1)", -1.3),
        ("ROUNDDOWN(1.29, 1)", 1.2), ("ROUNDDOWN(-1.29, 1)", -1.2),
        ("ABS(-3.5)", 3.5), ("INT(1.9)", 1), ("INT(-1.5)", -2),
        ("MOD(7, 3)", 1), ("MOD(-3, 2)", 1), ("MOD(3, -2)", -1), ("MOD(5.5, 0.1)", 0),
        ("MOD(1, 0)", None),
        ("POWER(2, 10)", 1024), ("POWER(4, 0.5)", 2), ("POWER(0, 0)", None),
        ("POWER(-8, 1/3)", None),
        ("SQRT(16)", 4), ("SQRT(2)", 1.4142135623731), ("SQRT(-1)", None),
        ("CEILING(2.1)", 3), ("CEILING(0.3, 0.1)", 0.3), ("CEILING(-2.5, 2)", -2),
        ("CEILING(7, 0)", 0), ("CEILING(2.5, -2)", None),
        ("FLOOR(2.9)", 2), ("FLOOR(-2.5, 2)", -4), ("FLOOR(7, 0)", None),
        ("1 / 0", None), ("10 ^ 400", None), ("9 ^ 99999999", None),
    ],
)
def test_math_functions(expr, expected):
    assert run(expr, {}) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("SUM(1, 2, 3)", 6), ("SUM(items.subtotal, 1)", 31.5), ("SUM(0.1, 0.2)", 0.3),
        ("AVERAGE(2, 4)", 3), ("AVERAGE(nothing.x)", None),
        ("MAX(items.subtotal)", 20.5), ("MIN(items.subtotal)", 10), ("MIN(3, items.discount)", 3),
        ("MAX(items.due)", date(2024, 5, 1)), ("MIN(items.due)", date(2024, 4, 1)),
        ("MAX(items.due, 3)", None),
        ("MAX(items.due, NOW())", datetime(2024, 5, 1)),  # a datetime among dates: datetime
        ("COUNT(items.discount, 1, \"x\")", 3), ("COUNT(items.due)", 2),
        ("COUNTA(items.name, \"x\", missing)", 3),
        ('SUM("3", TRUE)', 4), ('SUM("abc")', None),
    ],
)
def test_aggregates(expr, expected):
    values = {
        "items": [
            {"subtotal": 10, "discount": 5, "name": "pen", "due": date(2024, 5, 1)},
            {"subtotal": 20.5, "discount": None, "name": "", "due": date(2024, 4, 1)},
            {"subtotal": "n/a", "discount": 30, "name": "ink", "due": None},
        ],
    }
    assert run(expr, values) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('CONCATENATE("a", 1, TRUE, missing, 2.50)', "a1TRUE2.5"),
        ("CONCATENATE(items.name)", "penink"),
        ('"n=" & 1/4', "n=0.25"),
        ('"d=" & sign_date', "d=2024-01-31"),
        ('"t=" & NOW()', "t=2024-03-15 10:30:05"),
        ('TEXT(1234.5, "#,##0.00")', "1,234.50"),
        ('TEXT(1234.567, "0")', "1235"),
        ('TEXT(0.256, "0.0%")', "25.6%"),
        ('TEXT(-5, "$0.00")', "-$5.00"),
        ('TEXT(5, "000")', "005"),
        ('TEXT(1.5, "0.##")', "1.5"),
        ('TEXT(2.675, "0.00")', "2.68"),
        ('TEXT(3, "0.00 元")', "3.00 元"),
        ('TEXT(sign_date, "yyyy-mm-dd")', "2024-01-31"),
        ('TEXT(sign_date, "yyyy年m月d日")', "2024年1月31日"),
        ('TEXT(NOW(), "yyyy/mm/dd hh:mm:ss")', "2024/03/15 10:30:05"),
        ('TEXT(NOW(), "h:mm AM/PM")', "10:30 AM"),
        ('TEXT(sign_date, "ddd, mmm d")', "Wed, Jan 31"),
        ('TEXT("abc", "0.00")', "abc"),
        ('TEXT(1.5, "")', "1.5"),
        ('TEXT(1.5, "abc")', None),
        ('LEN("héllo")', 5), ("LEN(12345)", 5), ("LEN(missing)", 0),
        ('LEFT("abc")', "a"), ('LEFT("abc", 2)', "ab"), ('LEFT("abc", 9)', "abc"),
        ('LEFT("abc", -1)', None),
        ('RIGHT("abc", 2)', "bc"), ('RIGHT("abc", 0)', ""),
        ('MID("hello", 2, 3)', "ell"), ('MID("hello", 0, 3)', None),
        ('UPPER("abc")', "ABC"), ('LOWER("ABC")', "abc"),
        ('TRIM("  a   b  ")', "a b"),
        ('SUBSTITUTE("a-b-c", "-", "+")', "a+b+c"), ('SUBSTITUTE("a-b-c", "-", "+", 2)', "a-b+c"),
        ('SUBSTITUTE("a-b-c", "-", "+", 5)', "a-b-c"), ('SUBSTITUTE("abc", "", "x")', "abc"),
        ('REPLACE("abcdef", 2, 3, "X")', "aXef"),
        ('FIND("b", "abcb")', 2), ('FIND("b", "abcb", 3)', 4), ('FIND("B", "abc")', None),
        ('VALUE("12")', 12), ('VALUE(" -1.5 ")', -1.5), ('VALUE("1,234.5")', 1234.5),
        ('VALUE("50%")', 0.5), ('VALUE("abc")', None), ('VALUE("1_000")', None),
        ('CONTAINS("Hello", "ELL")', True), ('CONTAINS("Hello", "x")', False),
        ('CONTAINS(tags, "Red")', True), ('CONTAINS(tags, "blue")', False),
    ],
)
def test_text_functions(expr, expected):
    assert run(expr, {**RECORD, "tags": ["red", "green"]}) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("TODAY()", TODAY), ("NOW()", NOW),
        ("DATE(2024, 2, 29)", date(2024, 2, 29)), ("DATE(2024, 14, 1)", date(2025, 2, 1)),
        ("DATE(2024, 1, 32)", date(2024, 2, 1)), ("DATE(2023, 2, 29)", date(2023, 3, 1)),
        ("DATE(0, 1, 1)", None), ("DATE(99999, 1, 1)", None),
        ("YEAR(sign_date)", 2024), ("MONTH(sign_date)", 1), ("DAY(NOW())", 15),
        ('DATEDIF(sign_date, TODAY(), "d")', 44),
        ('DATEDIF(sign_date, TODAY(), "m")', 1),
        ('DATEDIF(sign_date, DATE(2024, 2, 29), "m")', 0),  # Jan 31 to Feb 29: no whole month
        ('DATEDIF(DATE(2020, 3, 15), TODAY(), "y")', 4),
        ('DATEDIF(DATE(2020, 3, 16), TODAY(), "y")', 3),
        ('DATEDIF(TODAY(), sign_date, "d")', None),  # start after end
        ('DATEDIF(sign_date, NOW(), "D")', 44),
        ("DAYS(TODAY(), sign_date)", 44), ("DAYS(sign_date, TODAY())", -44),
        ('DATEADD(sign_date, 1, "m")', date(2024, 2, 29)),
        ('DATEADD(sign_date, 1, "y")', date(2025, 1, 31)),
        ('DATEADD(sign_date, -31, "d")', date(2023, 12, 31)),
        ('DATEADD(NOW(), 1, "d")', datetime(2024, 3, 16, 10, 30, 5)),
        ('DATEADD(sign_date, 1, unit)', None),  # not a unit
        ("WEEKNUM(DATE(2024, 1, 6))", 1), ("WEEKNUM(DATE(2024, 1, 7))", 2),
        ("WEEKNUM(DATE(2024, 1, 7), 2)", 1), ("WEEKNUM(DATE(2021, 1, 3), 21)", 53),
        ("WEEKNUM(sign_date, 5)", None),
        ("sign_date + 30", date(2024, 3, 1)), ("30 + sign_date", date(2024, 3, 1)),
        ("sign_date - 1", date(2024, 1, 30)), ("TODAY() - sign_date", 44),
        ("NOW() - TODAY()", 0.43755787037037), ("NOW() + 0.5", datetime(2024, 3, 15, 22, 30, 5)),
        ("sign_date + sign_date", None), ("1 - sign_date", None),
        ('YEAR("2023-05-06")', 2023), ('YEAR("May 6")', None),
    ],
)
def test_date_functions(expr, expected):
    assert run(expr, {**RECORD, "unit": "w"}) == expected


def test_clock_defaults_and_time_zones():
    assert evaluate("TODAY()", {}) == date.today()
    assert isinstance(evaluate("NOW()", {}), datetime)
    assert evaluate("NOW()", {}).tzinfo is None
    from datetime import timedelta, timezone

    shanghai = datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=8)))
    assert evaluate("NOW()", {}, now=shanghai) == datetime(2024, 1, 1, 4)


def test_input_values_are_normalised():
    from decimal import Decimal

    values = {"price": Decimal("9.90"), "qty": Decimal("2"), "rows": [{"x": Decimal("1.5")}]}
    assert evaluate("price * qty", values) == 19.8
    assert evaluate("SUM(rows.x)", values) == 1.5
    assert evaluate("qty", values) == 2


@pytest.mark.parametrize(
    ("expr", "values"),
    [
        ("items", {"items": [{"a": 1}]}),  # a list is not a field value
        ("items.a", {"items": [{"a": 1}]}),
        ("items.a", {"items": 3}),  # not a subform
        ("x + 1", {"x": object()}),
        ("x & 1", {"x": {"a": 1}}),
        ("x < 1", {"x": [1]}),
        ('"a" < 1', {}),
    ],
)
def test_bad_values_give_blank(expr, values):
    assert evaluate(expr, values) is None


def test_every_function_is_whitelisted_in_one_table():
    expected = {
        "IF", "IFS", "AND", "OR", "NOT", "ISBLANK", "SWITCH", "ROUND", "ROUNDUP", "ROUNDDOWN",
        "ABS", "INT", "MOD", "POWER", "SQRT", "CEILING", "FLOOR", "SUM", "AVERAGE", "MAX",
        "MIN", "COUNT", "COUNTA", "CONCATENATE", "TEXT", "LEN", "LEFT", "RIGHT", "MID", "UPPER",
        "LOWER", "TRIM", "SUBSTITUTE", "REPLACE", "FIND", "VALUE", "CONTAINS", "TODAY", "NOW",
        "DATE", "YEAR", "MONTH", "DAY", "DATEDIF", "DAYS", "DATEADD", "WEEKNUM",
    }
    assert set(FUNCTIONS) == expected


@pytest.mark.parametrize(
    ("expr", "message", "position", "token"),
    [
        ("SUMM(amount)", 'Unknown function "SUMM" at column 1', 0, "SUMM"),
        ("1 + foo(2)", 'Unknown function "foo" at column 5', 4, "foo"),
        ("(1 + 2", 'Missing ")" at column 7', 6, None),
        ("SUM(1, 2", 'Missing ")"', 8, None),
        ("1 + 2)", 'Unexpected ")" at column 6', 5, ")"),
        ("1 + 2 3", 'Unexpected "3" at column 7; is an operator or comma missing?', 6, "3"),
        ("amount +", "The formula ends too early at column 9", 8, None),
        ('"abc', "Text has no closing quote at column 1", 0, '"'),
        ("1 # 2", 'Unexpected "#" at column 3', 2, "#"),
        ("IF(, 1, 2)", 'Unexpected "," at column 4', 3, ","),
        ("a.b.c", 'Unexpected "." at column 4', 3, "."),
        ("ROUND(1, 2, 3)", "ROUND needs 1 or 2 values but got 3 at column 1", 0, "ROUND"),
        ("TODAY(1)", "TODAY needs no values but got 1", 0, "TODAY"),
        ("SUM()", "SUM needs at least 1 value but got 0", 0, "SUM"),
        ("IFS(a, 1, b)", "IFS needs pairs of condition and value but got 3", 0, "IFS"),
        ('DATEDIF(a, b, "w")', 'DATEDIF unit must be "d", "m" or "y", not "w" at column 15',
         14, '"w"'),
        ("1e400", 'The number "1e400" is too large at column 1', 0, "1e400"),
        ("", "The formula is empty", None, None),
    ],
)
def test_parse_errors_point_at_the_problem(expr, message, position, token):
    with pytest.raises(FormulaError) as caught:
        parse(expr)
    error = caught.value
    assert message in error.message
    assert str(error) == error.message
    assert error.position == position
    assert error.token == token
    if position is not None:
        assert error.line == 1 and error.column == position + 1


def test_errors_on_later_lines_give_line_and_column():
    with pytest.raises(FormulaError) as caught:
        parse("IF(a > 1,\n   SUMM(b), 0)")
    assert (caught.value.line, caught.value.column, caught.value.position) == (2, 4, 13)
    assert "line 2, column 4" in str(caught.value)


def test_parse_rejects_non_text():
    with pytest.raises(TypeError):
        parse(12)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "expr", ["__import__('os')", "().__class__", "[1]", "a; b", "x if y else z", "a[0]", "{}"]
)
def test_python_syntax_is_not_a_formula(expr):
    with pytest.raises(FormulaError):
        parse(expr)


def test_dotted_names_only_read_subform_columns():
    # `a.b` is always "column b of subform a", read with dict.get: never attribute access.
    assert evaluate("amount.__class__", {"amount": 3}) is None
    assert evaluate("COUNT(rows.__class__)", {"rows": [{"x": 1}]}) == 0
    assert evaluate("lambda + 1", {"lambda": 1}) == 2
