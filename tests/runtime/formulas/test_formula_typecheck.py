"""Type checking formulas against the kinds of the fields they read."""
import pytest

from formloom.runtime.formulas import KINDS, FormulaError, parse, typecheck

TYPES = {
    "amount": "number",
    "probability": "number",
    "discount": "number",
    "qty": "number",
    "price": "number",
    "name": "text",
    "region": "text",
    "a": "number",
    "b": "boolean",
    "sign_date": "date",
    "created": "datetime",
    "$id": "number",
    "$created_at": "datetime",
    "items.subtotal": "list:number",
    "items.discount": "list:number",
    "items.name": "list:text",
    "items.due": "list:date",
    "items.done": "list:boolean",
    "tags": "list:text",
}


@pytest.mark.parametrize(
    ("expr", "kind"),
    [
        ("ROUND(amount * probability / 100, 2)", "number"),
        ("SUM(items.subtotal)", "number"),
        ("MAX(items.discount)", "number"),
        ('IF(discount > 20, "director", "manager")', "text"),
        ('DATEDIF(sign_date, TODAY(), "d")', "number"),
        ('CONCATENATE(name, " - ", region)', "text"),
        ("ROUND(qty * price * (1 - discount / 100), 2)", "number"),
        ('TEXT(amount, "0.00")', "text"),
        ("AND(a > 1, NOT(b))", "boolean"),
        ('name & "!"', "text"),
        ("name & amount", "text"),  # Excel joins anything as text
        ("amount + b", "number"),  # TRUE counts as 1
        ('amount = ""', "boolean"),  # testing for blank is fine for any kind
        ("$id", "number"),
        ("$created_at > sign_date", "boolean"),
        ("sign_date + 7", "date"),
        ("7 + sign_date", "date"),
        ("sign_date - 7", "date"),
        ("TODAY() - sign_date", "number"),
        ("created - sign_date", "number"),
        ("NOW()", "datetime"),
        ("DATE(2024, 1, 1)", "date"),
        ('DATEADD(sign_date, 1, "m")', "date"),
        ('DATEADD(created, 1, "d")', "datetime"),
        ("MAX(items.due)", "date"),
        ("MIN(items.due, created)", "datetime"),
        ("IF(a > 1, sign_date)", "date"),
        ("IF(amount, 1)", "number"),  # a number is a fine condition (0 is FALSE)
        ('IFS(a > 1, "x", TRUE, "y")', "text"),
        ('SWITCH(region, "a", 1, "b", 2)', "number"),
        ('SWITCH(region, "a", 1, 0)', "number"),
        ("AND(items.done)", "boolean"),
        ('CONTAINS(tags, "x")', "boolean"),
        ("ISBLANK(items.subtotal)", "boolean"),
        ("COUNT(items.name)", "number"),
        ("COUNTA(items.name, name)", "number"),
        ("CONCATENATE(items.name)", "text"),
        ("LEN(amount)", "number"),
        ('VALUE(name)', "number"),
        ("YEAR(created)", "number"),
    ],
)
def test_result_kinds(expr, kind):
    assert typecheck(parse(expr), TYPES) == kind


def test_typecheck_accepts_source_text():
    assert typecheck("1 + 1", {}) == "number"


@pytest.mark.parametrize(
    ("expr", "message", "token"),
    [
        ("amout + 1", 'Unknown field "amout" at column 1; did you mean "amount"?', "amout"),
        ("1 + items.total", 'Unknown field "items.total" at column 5', "items.total"),
        ("$nope", 'Unknown field "$nope"', "$nope"),
        ("SUM(name)", 'SUM needs numbers; "name" is text', "name"),
        ("SUM(items.name)", 'SUM needs numbers; "items.name" is a list of text', "items.name"),
        ('DATEDIF(name, TODAY(), "d")', 'DATEDIF needs a date; "name" is text', "name"),
        ("YEAR(amount)", 'YEAR needs a date; "amount" is a number', "amount"),
        ("amount + name", '"+" needs a number; "name" is text', "name"),
        ("-name", '"-" needs a number; "name" is text', "name"),
        ("sign_date + sign_date", '"+" needs a number; "sign_date" is a date', "sign_date"),
        ("IF(name, 1, 2)", 'IF needs a true/false condition; "name" is text', "name"),
        ("NOT(UPPER(name))", 'NOT needs a true/false condition; "UPPER(name)" is text',
         "UPPER(name)"),
        ('IF(a > 1, 1, "x")', "IF gives a number in one case and text in another",
         'IF(a > 1, 1, "x")'),
        ('IFS(a > 1, 1, TRUE, "x")', "IFS gives a number in one case and text in another", None),
        ("IF(a > 1, 1, b)", "IF gives a number in one case and true/false in another", None),
        ("IF(a > 1, sign_date, created)", "gives a date in one case and a date and time", None),
        ('SWITCH(a, 1, "x", 2)', "SWITCH gives text in one case and a number in another", None),
        ('IFS(name, 1)', 'IFS needs a true/false condition; "name" is text', "name"),
        ("amount = name", '"=" cannot compare a number with text at column 8', "amount = name"),
        ("sign_date < 3", '"<" cannot compare a date with a number', None),
        ("items.subtotal * 2", '"*" needs a single value, but "items.subtotal" is a list',
         "items.subtotal"),
        ("ROUND(items.subtotal)", 'ROUND needs a single value, but "items.subtotal" is a list',
         "items.subtotal"),
        ("items.subtotal", 'The result needs a single value, but "items.subtotal" is a list',
         "items.subtotal"),
        ("tags", "use it inside SUM, AVERAGE, MAX, MIN, COUNT or COUNTA", "tags"),
        ("MAX(items.due, 3)", 'MAX needs numbers; "items.due" is a list of dates', "items.due"),
        ("DATEADD(sign_date, 1, name)", None, None),
    ],
)
def test_type_errors(expr, message, token):
    if message is None:  # a unit read from a text field is allowed (checked at run time)
        assert typecheck(expr, TYPES) == "date"
        return
    with pytest.raises(FormulaError) as caught:
        typecheck(parse(expr), TYPES)
    error = caught.value
    assert message in str(error)
    assert error.position is not None and error.column == error.position + 1
    if token is not None:
        assert error.token == token


def test_type_error_position_points_at_the_operand():
    with pytest.raises(FormulaError) as caught:
        typecheck("ROUND(amount, 2) + SUM(name)", TYPES)
    assert caught.value.position == 23
    assert caught.value.column == 24


def test_unknown_kinds_are_a_programming_error():
    with pytest.raises(ValueError, match="unknown kind"):
        typecheck("x", {"x": "money"})
    assert "list:date" in KINDS and "number" in KINDS
