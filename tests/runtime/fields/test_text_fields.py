"""Text, textarea, e-mail, phone and URL fields."""

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from formloom.runtime.fields import FieldValueError, field_types

from support_formloom import assert_round_trips, conforms

TEXT = field_types.get("text")
TEXTAREA = field_types.get("textarea")
EMAIL = field_types.get("email")
PHONE = field_types.get("phone")
URL = field_types.get("url")


def fld(kind, **settings):
    return {"key": "x", "type": kind, **settings}


# -- text ------------------------------------------------------------------------------

def test_text_keeps_what_was_typed_and_blank_is_none(ctx):
    assert TEXT.to_python(fld("text"), "  Acme 有限公司 ", ctx) == "  Acme 有限公司 "
    assert TEXT.to_python(fld("text"), "", ctx) is None
    assert TEXT.to_python(fld("text"), None, ctx) is None


def test_text_takes_numbers_as_their_text(ctx):
    assert TEXT.to_python(fld("text"), 42, ctx) == "42"
    assert TEXT.to_python(fld("text"), 4.5, ctx) == "4.5"


@pytest.mark.parametrize("sent", [True, ["a"], {"a": 1}])
def test_text_rejects_other_json(sent, ctx):
    with pytest.raises(FieldValueError, match="^must be text$"):
        TEXT.to_python(fld("text"), sent, ctx)


def test_text_length_limits(ctx):
    field = fld("text", max_length=5, min_length=2)
    assert TEXT.to_python(field, "abcde", ctx) == "abcde"
    with pytest.raises(FieldValueError, match="^must be at most 5 characters$"):
        TEXT.to_python(field, "abcdef", ctx)
    with pytest.raises(FieldValueError, match="^must be at least 2 characters$"):
        TEXT.to_python(field, "a", ctx)
    with pytest.raises(FieldValueError, match="^must be at most 1000 characters$"):
        TEXT.to_python(fld("text"), "x" * 1001, ctx)


def test_text_pattern_must_match_whole_value_with_the_admins_message(ctx):
    field = fld("text", pattern=r"[A-Z]{2}\d{4}", pattern_message="must look like AB1234")
    assert TEXT.to_python(field, "AB1234", ctx) == "AB1234"
    with pytest.raises(FieldValueError, match="^must look like AB1234$"):
        TEXT.to_python(field, "xAB1234", ctx)
    with pytest.raises(FieldValueError, match="^does not have the expected format$"):
        TEXT.to_python(fld("text", pattern=r"\d+"), "12a", ctx)


def test_text_refuses_the_nul_character_postgresql_cannot_store(ctx):
    with pytest.raises(FieldValueError, match="NUL"):
        TEXT.to_python(fld("text"), "a\x00b", ctx)


def test_text_value_schema_mirrors_its_settings():
    schema = TEXT.value_schema(fld("text", max_length=5, min_length=2, pattern=r"[a-z]+"))
    assert conforms(schema, "abc") and conforms(schema, None)
    assert not conforms(schema, "abcdef") and not conforms(schema, "a") and not conforms(schema, "ab1")


def test_text_storage_is_sized_by_max_length():
    assert TEXT.sa_type(fld("text", max_length=200)).length == 200
    assert isinstance(TEXT.sa_type(fld("text", max_length=5000)), sa.Text)
    assert isinstance(TEXTAREA.sa_type(fld("textarea")), sa.Text)


def test_textarea_keeps_line_breaks_and_allows_long_text(ctx):
    text = "第一行\n第二行\n" + "x" * 5000
    assert TEXTAREA.to_python(fld("textarea"), text, ctx) == text
    with pytest.raises(FieldValueError, match="^must be at most 20000 characters$"):
        TEXTAREA.to_python(fld("textarea"), "x" * 20001, ctx)


@pytest.mark.parametrize("kind", ["text", "textarea"])
@pytest.mark.parametrize("locale", ["zh", "en"])
def test_text_format_is_the_text(kind, locale):
    assert field_types.get(kind).format(fld(kind), "报价 A", locale) == "报价 A"
    assert field_types.get(kind).format(fld(kind), None, locale) == ""


def test_text_parse_cell_trims_the_cell(ctx):
    assert TEXT.parse_cell(fld("text"), "  Acme  ", ctx) == "Acme"


# -- e-mail -----------------------------------------------------------------------------

@pytest.mark.parametrize("sent, expected", [
    ("li.lei@example.com", "li.lei@example.com"),
    ("  Li.Lei@EXAMPLE.COM ", "Li.Lei@example.com"),
    ("zhang+crm@mail.example.cn", "zhang+crm@mail.example.cn"),
])
def test_email_is_normalised(sent, expected, ctx):
    assert EMAIL.to_python(fld("email"), sent, ctx) == expected


@pytest.mark.parametrize("sent", ["li.lei", "li@", "@example.com", "li lei@example.com", "a@b@c.com"])
def test_email_rejects_malformed_addresses(sent, ctx):
    with pytest.raises(FieldValueError, match="^is not a valid e-mail address"):
        EMAIL.to_python(fld("email"), sent, ctx)


def test_email_round_trips_and_conforms(ctx):
    value = EMAIL.to_python(fld("email"), "Li@Example.com", ctx)
    assert EMAIL.to_python(fld("email"), EMAIL.to_json(fld("email"), value), ctx) == value
    assert conforms(EMAIL.value_schema(fld("email")), value)


# -- phone ------------------------------------------------------------------------------

@pytest.mark.parametrize("sent", [
    "13800138000", "+86 138-0013-8000", "(010) 1234-5678", "010-12345678 转 123", "555.123.4567",
    "+1 (555) 123-4567 ext 89",
])
def test_phone_accepts_the_usual_spellings_as_typed(sent, ctx):
    assert PHONE.to_python(fld("phone"), f" {sent} ", ctx) == sent
    assert conforms(PHONE.value_schema(fld("phone")), sent)


@pytest.mark.parametrize("sent", ["call me", "12", "138-0013-800a", "+86 138 0013 8000 !!", "1" * 41])
def test_phone_rejects_what_is_not_a_number(sent, ctx):
    with pytest.raises(FieldValueError, match="^(is not a valid phone number|must be at most 40 characters)$"):
        PHONE.to_python(fld("phone"), sent, ctx)
    assert not conforms(PHONE.value_schema(fld("phone")), sent)


def test_phone_from_a_spreadsheet_number(ctx):
    assert PHONE.to_python(fld("phone"), 13800138000, ctx) == "13800138000"


# -- url --------------------------------------------------------------------------------

@pytest.mark.parametrize("sent, expected", [
    ("https://example.com", "https://example.com"),
    (" http://example.com/a?b=1#c ", "http://example.com/a?b=1#c"),
    ("HTTPS://Example.com/Path", "https://Example.com/Path"),
    ("www.example.com", "https://www.example.com"),
    ("example.cn/pricing", "https://example.cn/pricing"),
    ("https://例子.中国/路径", "https://例子.中国/路径"),
])
def test_url_accepts_web_addresses(sent, expected, ctx):
    value = URL.to_python(fld("url"), sent, ctx)
    assert value == expected
    assert conforms(URL.value_schema(fld("url")), URL.to_json(fld("url"), value))


@pytest.mark.parametrize("sent", [
    "javascript:alert(1)", "ftp://example.com/file", "mailto:a@example.com", "file:///etc/passwd",
    "https://", "http://exa mple.com", "not a url", "//example.com",
])
def test_url_is_http_or_https_only(sent, ctx):
    with pytest.raises(FieldValueError, match="^must (be a web address starting with http:// or https://|not contain spaces)$"):
        URL.to_python(fld("url"), sent, ctx)
    assert not conforms(URL.value_schema(fld("url")), sent)


def test_url_with_a_broken_host_is_refused_not_crashed_on(ctx):
    with pytest.raises(FieldValueError, match="^must be a web address"):
        URL.to_python(fld("url"), "http://[::1", ctx)


# -- value_schema against to_python ------------------------------------------------------

TEXTISH = st.sampled_from([fld("text"), fld("text", max_length=10), fld("textarea"), fld("email"),
                           fld("phone"), fld("url")])


@settings(max_examples=300, deadline=None)
@given(field=TEXTISH, sent=st.one_of(
    st.text(max_size=30), st.integers(), st.emails(),
    st.from_regex(r"\+?[0-9]{2,4}[ -][0-9]{3,4}-[0-9]{4}", fullmatch=True),
    st.from_regex(r"https?://[a-z]{1,10}\.(com|cn)(/[a-z0-9]{0,8})?", fullmatch=True),
))
def test_accepted_text_conforms_to_the_value_schema_and_round_trips(field, sent):
    assert_round_trips(field, sent)
