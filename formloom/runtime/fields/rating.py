"""A star rating from 1 to `max` (5 by default)."""
import sqlalchemy as sa

from formloom.runtime.fields.base import (
    FieldType,
    FieldValueError,
    ValueContext,
)


class RatingFieldType(FieldType):
    type = "rating"
    kind = "number"
    config_schema = {"type": "object", "properties": {"max": {"type": "integer", "minimum": 2, "maximum": 10}}}

    def top(self, field: dict) -> int:
        return int(field.get("max", 5))

    def value_schema(self, field: dict) -> dict:
        return {"type": ["integer", "null"], "minimum": 1, "maximum": self.top(field)}

    def sa_type(self, field: dict):
        return sa.SmallInteger()

    def to_python(self, field: dict, value, ctx: ValueContext):
        if isinstance(value, bool):
            raise FieldValueError("must be a whole number of stars")
        if isinstance(value, str):
            value = int(value.strip()) if value.strip().isdecimal() and len(value) < 10 else value.strip()
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if value is None or value == "" or value == 0:  # no stars: not rated
            return None
        if not isinstance(value, int):
            raise FieldValueError("must be a whole number of stars")
        if not 1 <= value <= self.top(field):
            raise FieldValueError(f"must be between 1 and {self.top(field)}")
        return value

    def format(self, field: dict, value, locale: str = "en") -> str:
        return "" if value is None else "★" * value + "☆" * (self.top(field) - value)

    def to_form(self, field: dict, value):
        return None if value is None else str(value)
