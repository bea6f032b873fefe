"""The capabilities code asks field types about, pinned to the types that have them.

These were lists of type names in the modules that now ask (`REF_TYPES`, `HIDDEN_IN_LIST`,
`RELATED`, ...); a new type says what it can do in its own class.
"""
from formloom.runtime.fields import NO_TYPE, field_types, type_of
from formloom.runtime.web.fields import DEFAULT, field_widgets, widget_for


def having(capability) -> set[str]:
    return {t.type for t in field_types if capability(t)}


def test_each_capability_names_the_types_that_have_it():
    assert having(lambda t: t.holds_rows) == {"subform"}
    assert having(lambda t: t.holds_files) == {"file", "image"}
    assert {t.type: t.refers_to for t in field_types if t.refers_to} == {
        "link": "record", "user": "user", "department": "department"}
    assert having(lambda t: t.has_options) == {"select", "multiselect"}
    assert having(lambda t: t.has_expression) == {"formula"}
    assert having(lambda t: t.derived) == {"formula", "rollup", "lookup"}
    assert having(lambda t: t.reads_related) == {"lookup", "rollup"}
    assert having(lambda t: t.numbered) == {"serial"}
    assert having(lambda t: t.zoned) == {"datetime"}
    assert having(lambda t: t.indexed_by_default) == {"link", "select", "user", "department"}
    assert having(lambda t: t.annotations) == {"lookup", "rollup"}


def test_unknown_or_missing_types_have_no_capability():
    for field in (None, {}, {"type": "no_such_type"}, {"type": ["text"]}):
        assert type_of(field) is NO_TYPE
    assert not (NO_TYPE.holds_rows or NO_TYPE.holds_files or NO_TYPE.refers_to or NO_TYPE.reads_related)


def test_every_widget_shows_a_registered_type_and_the_rest_use_the_default():
    assert set(field_widgets.types()) <= set(field_types.types())
    assert widget_for("text") is DEFAULT and widget_for("serial") is DEFAULT
    assert {t for t in field_types.types() if not widget_for(t).in_list} == {"subform", "file", "image"}
    assert {t for t in field_types.types() if widget_for(t).checkbox} == {"boolean"}
