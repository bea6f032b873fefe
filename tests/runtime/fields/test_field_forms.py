"""The WTForms side of field types: the HTML field, and form data back to values."""
from datetime import date, datetime

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import Form

from formloom.runtime.fields import field_types
from formloom.runtime.web.fields import widget_for


def bound(field: dict, formdata: dict | None = None, locale: str = "zh"):
    """The field's WTForms field bound in a one-field form, optionally with submitted data."""
    widget = widget_for(field["type"])
    form_class = type("OneField", (Form,), {field["key"]: widget.form_field(field, {"locale": locale})})
    form = form_class(MultiDict(formdata) if formdata is not None else None)
    return getattr(form, field["key"])


@pytest.mark.parametrize("name", [ft.type for ft in field_types])
def test_every_type_gives_a_labelled_html_field(name):
    field = {"key": "x", "type": name, "label": "客户名称", "help": "全称", "required": True,
             "options": ["a"], "form": "company", "pattern": "{seq}", "expr": "1", "fields": []}
    html_field = bound(field)
    assert html_field.label.text == "客户名称"
    assert html_field.description == "全称"
    assert "data-required" in html_field()


def test_number_typed_with_separators_becomes_a_number(ctx):
    field = {"key": "amount", "type": "number", "precision": 2}
    data = bound(field, {"amount": "1,234.567"}).data
    assert field_types.get("number").from_form(field, data, ctx) == 1234.57
    assert field_types.get("number").to_form(field, 1234.57) == "1234.57"


def test_date_and_local_datetime_come_back_as_values(ctx):
    d = {"key": "d", "type": "date"}
    assert field_types.get("date").from_form(d, bound(d, {"d": "2026-01-31"}).data, ctx) == date(2026, 1, 31)
    dt = {"key": "dt", "type": "datetime"}
    local = bound(dt, {"dt": "2026-01-31T09:30"}).data
    assert field_types.get("datetime").from_form(dt, local, ctx) == datetime(2026, 1, 31, 1, 30)


def pairs(html_field) -> list[tuple]:
    return [tuple(c)[:2] for c in html_field.choices]


def test_select_choices_are_labelled_in_the_language():
    field = {"key": "tier", "type": "select", "options": [{"value": "A", "label": "重点", "label_en": "Key"}]}
    assert pairs(bound(field, locale="zh")) == [("", "—"), ("A", "重点")]
    assert pairs(bound(field, locale="en")) == [("", "—"), ("A", "Key")]
    radio = bound({**field, "display": "radio"}, locale="en")
    assert pairs(radio) == [("A", "Key")]
    assert '<option value="A">Key</option>' in bound(field, locale="en")()


def test_reference_choices_come_from_the_page():
    field = {"key": "owner", "type": "user"}
    form_class = type("F", (Form,), {"owner": widget_for("user").form_field(
        field, {"locale": "zh", "choices": {"owner": [("7", "李雷")]}})})
    html = form_class().owner()
    assert '<option value="7">李雷</option>' in html and 'data-picker="user"' in html


def test_boolean_and_rating_from_the_form(ctx):
    b = {"key": "active", "type": "boolean"}
    assert field_types.get("boolean").from_form(b, bound(b, {"active": "y"}).data, ctx) is True
    assert field_types.get("boolean").from_form(b, bound(b, {}).data, ctx) is False
    r = {"key": "stars", "type": "rating", "max": 4}
    assert [value for value, _label in pairs(bound(r))] == ["1", "2", "3", "4"]
    assert field_types.get("rating").from_form(r, bound(r, {"stars": "3"}).data, ctx) == 3


def test_file_inputs_say_what_they_accept():
    assert 'accept="image/png,image/jpeg,image/gif,image/webp"' in bound({"key": "p", "type": "image"})()
    assert 'accept=".pdf,.docx"' in bound({"key": "f", "type": "file", "accept": ["pdf", ".docx"]})()
