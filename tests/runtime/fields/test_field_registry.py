"""The field type registry: each kind once, unknown kinds refused by name."""
import pytest

from formloom.runtime.fields import FieldType, field_types
from formloom.runtime.registry import AlreadyRegistered, DoesNotExist, Registry

KINDS = {
    "text", "textarea", "number", "date", "datetime", "boolean", "select", "multiselect", "user",
    "department", "email", "phone", "url", "link", "subform", "file", "image", "serial",
    "formula", "rating", "lookup", "rollup",
}


def test_every_kind_is_registered_exactly_once():
    names = [ft.type for ft in field_types]
    assert sorted(names) == sorted(KINDS)
    assert len(names) == len(set(names))
    assert field_types.types() == sorted(KINDS)


@pytest.mark.parametrize("name", sorted(KINDS))
def test_get_returns_the_class_for_its_name(name):
    ftype = field_types.get(name)
    assert isinstance(ftype, FieldType)
    assert ftype.type == name
    assert name in field_types


def test_unknown_kind_raises_does_not_exist_naming_it():
    with pytest.raises(DoesNotExist) as exc:
        field_types.get("signature")
    assert str(exc.value) == "field types: no kind named 'signature'"
    assert exc.value.type_name == "signature"
    assert "signature" not in field_types


def test_registering_a_kind_twice_is_refused():
    registry: Registry[FieldType] = Registry("field types")
    registry.register(type(field_types.get("text"))())
    with pytest.raises(AlreadyRegistered, match="'text' is registered already"):
        registry.register(type(field_types.get("text"))())


def test_config_schemas_are_objects_so_unknown_settings_can_be_found():
    for ftype in field_types:
        assert ftype.config_schema["type"] == "object"
        assert isinstance(ftype.config_schema.get("properties", {}), dict)
