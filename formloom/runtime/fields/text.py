"""Single-line text."""
import re

import sqlalchemy as sa

from formloom.runtime.fields.base import FieldType, FieldValueError, ValueContext


def compiled_pattern(field: dict) -> re.Pattern | None:
    """The field's `pattern` as a regex; None when it has none (validation refuses bad ones)."""
    try:
        return re.compile(field["pattern"]) if field.get("pattern") else None
    except re.error:
        return None


class TextFieldType(FieldType):
    type = "text"
    kind = "text"
    can_be_unique = True
    config_schema = {
        "type": "object",
        "properties": {
            "max_length": {"type": "integer", "minimum": 1, "maximum": 10000},
            "min_length": {"type": "integer", "minimum": 0},
            "pattern": {"type": "string", "maxLength": 500},
            "pattern_message": {"type": "string"},
        },
    }
    default_max = 1000

    def check_config(self, field: dict) -> list[tuple[str, str]]:
        errors = []
        if field.get("pattern"):
            try:
                re.compile(field["pattern"])
            except re.error as exc:
                errors.append(("/pattern", f"is not a valid regular expression ({exc})"))
        if int(field.get("min_length") or 0) > self.max_length(field):
            errors.append(("/min_length", f"is more than the maximum length ({self.max_length(field)})"))
        return errors

    def max_length(self, field: dict) -> int:
        return int(field.get("max_length") or self.default_max)

    def value_schema(self, field: dict) -> dict:
        schema = {"type": ["string", "null"], "maxLength": self.max_length(field)}
        if field.get("min_length"):
            schema["minLength"] = field["min_length"]
        if compiled_pattern(field):
            schema["pattern"] = f"^(?:{field['pattern']})$"
        return schema

    def sa_type(self, field: dict):
        return sa.String(self.max_length(field)) if self.max_length(field) <= 1000 else sa.Text()

    def to_python(self, field: dict, value, ctx: ValueContext):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        value = super().to_python(field, value, ctx)
        if value is None:
            return None
        if "\x00" in value:  # PostgreSQL cannot store it in text
            raise FieldValueError("must not contain the NUL character")
        if len(value) > self.max_length(field):
            raise FieldValueError(f"must be at most {self.max_length(field)} characters")
        if len(value) < int(field.get("min_length") or 0):
            raise FieldValueError(f"must be at least {field['min_length']} characters")
        pattern = compiled_pattern(field)
        if pattern and not pattern.fullmatch(value):
            raise FieldValueError(field.get("pattern_message") or "does not have the expected format")
        return value
