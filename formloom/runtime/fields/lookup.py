"""A field of the linked record, copied here and kept current: opportunity -> customer.tier.

`{"type": "lookup", "link": "customer", "field": "tier"}`: `link` is a single link field of
this form, `field` a field of the form it links to. The value is stored (so it can be
filtered and sorted) and recomputed whenever the link or the source field changes
(`runtime/records/relations.py`). Compiling copies the source field's definition into
`_target`, and the lookup stores, shows and converts its values as that field does.
"""
from formloom.runtime.fields.base import FieldType, FieldValueError, ValueContext

TARGET = "_target"
KEY = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}


class LookupFieldType(FieldType):
    type = "lookup"
    copies_linked_value = True
    annotations = frozenset({TARGET})
    derived = True
    computed = True
    in_subform = False
    config_schema = {"type": "object", "required": ["link", "field"],
                     "properties": {"link": KEY, "field": KEY}}

    @staticmethod
    def target(field: dict) -> dict:
        """The source field's definition (a text field until compiling has found it)."""
        return field.get(TARGET) or {"key": field["key"], "type": "text"}

    def delegate(self, field: dict) -> FieldType:
        from formloom.runtime.fields import field_types  # the registry imports this module

        return field_types.get(self.target(field)["type"])

    def result_kind(self, field: dict) -> str:
        return self.delegate(field).result_kind(self.target(field))

    def value_schema(self, field: dict) -> dict:
        return self.delegate(field).value_schema(self.target(field))

    def sa_type(self, field: dict):
        return self.delegate(field).sa_type(self.target(field))

    def to_db(self, field: dict, value):
        return self.delegate(field).to_db(self.target(field), value)

    def from_db(self, field: dict, value):
        return self.delegate(field).from_db(self.target(field), value)

    def to_python(self, field: dict, value, ctx: ValueContext):
        raise FieldValueError("is filled from the linked record")

    def to_json(self, field: dict, value):
        return self.delegate(field).to_json(self.target(field), value)

    def format(self, field: dict, value, locale: str = "en") -> str:
        return self.delegate(field).format(self.target(field), value, locale)
