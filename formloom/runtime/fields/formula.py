"""A value computed from other fields on save and stored, so it can be filtered and summed."""
import math
from datetime import date, datetime

import sqlalchemy as sa

from formloom.runtime.fields.base import FieldType, FieldValueError, ValueContext
from formloom.runtime.fields.boolean import BooleanFieldType
from formloom.runtime.fields.date import DateFieldType
from formloom.runtime.fields.datetime_ import DateTimeFieldType
from formloom.runtime.fields.number import NumberFieldType, round_half_up
from formloom.runtime.fields.textarea import TextareaFieldType

# The plain types a result kind is stored, shown and converted as (stateless instances, so
# this runs once per value without a registry lookup).
DELEGATES: dict[str, FieldType] = {
    "number": NumberFieldType(), "boolean": BooleanFieldType(), "date": DateFieldType(),
    "datetime": DateTimeFieldType(), "text": TextareaFieldType(),
}

# The compiled definition records each formula's result kind under this key.
RESULT = "_result"


class FormulaFieldType(FieldType):
    type = "formula"
    has_expression = True
    derived = True
    computed = True
    config_schema = {
        "type": "object",
        "required": ["expr"],
        "properties": {
            "expr": {"type": "string", "minLength": 1, "maxLength": 4000},
            "precision": {"type": "integer", "minimum": 0, "maximum": 8},
            "display": {"enum": ["plain", "currency", "percent", "thousands"]},
        },
    }

    def result_kind(self, field: dict) -> str:
        return field.get(RESULT, "number")

    def value_schema(self, field: dict) -> dict:
        return {
            "number": {"type": ["number", "null"]},
            "boolean": {"type": ["boolean", "null"]},
            "date": {"type": ["string", "null"], "format": "date"},
            "datetime": {"type": ["string", "null"], "format": "date-time"},
        }.get(self.result_kind(field), {"type": ["string", "null"]})

    def sa_type(self, field: dict):
        return {"number": sa.Float(), "boolean": sa.Boolean(), "date": sa.Date(),
                "datetime": sa.DateTime()}.get(self.result_kind(field), sa.Text())

    def delegate(self, field: dict) -> FieldType:
        """The plain field type that stores, shows and converts this formula's result."""
        return DELEGATES.get(self.result_kind(field), DELEGATES["text"])

    def to_python(self, field: dict, value, ctx: ValueContext):
        raise FieldValueError("is computed by its formula")

    def to_json(self, field: dict, value):
        return self.delegate(field).to_json(field, value)

    def from_db(self, field: dict, value):
        return self.delegate(field).from_db(field, value)

    def coerce_result(self, field: dict, value):
        """Fit an evaluated result to the stored kind; None when it cannot be stored as one."""
        if value is None:
            return None
        kind = self.result_kind(field)
        if kind == "number":
            return _number(field, value)
        if kind == "text":
            return _text(value)
        if kind == "boolean":
            return value if isinstance(value, bool) else None
        if kind == "date":
            if isinstance(value, datetime):
                return value.date()
            return value if isinstance(value, date) else None
        if kind == "datetime":
            if isinstance(value, datetime):
                return value.replace(microsecond=0)
            # A date where a date and time is stored: its midnight, so to_json can write it.
            return datetime(value.year, value.month, value.day) if isinstance(value, date) else None
        return value

    def format(self, field: dict, value, locale: str = "en") -> str:
        return self.delegate(field).format(field, value, locale)


def _number(field: dict, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if "precision" in field:
        value = round_half_up(float(value), field["precision"])
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _text(value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"  # as Excel shows a logical value
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return value if isinstance(value, str) else str(value)
