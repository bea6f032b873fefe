"""Yes or no."""
import sqlalchemy as sa

from formloom.runtime.fields.base import FieldType, FieldValueError, ValueContext

TRUE = {"1", "true", "yes", "y", "on", "是", "对", "√", "✓"}
FALSE = {"0", "false", "no", "n", "off", "否", "不", "×", "✗"}


class BooleanFieldType(FieldType):
    type = "boolean"
    kind = "boolean"

    def value_schema(self, field: dict) -> dict:
        return {"type": ["boolean", "null"]}

    def sa_type(self, field: dict):
        return sa.Boolean()

    def to_python(self, field: dict, value, ctx: ValueContext):
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in TRUE | FALSE:
            return value.strip().lower() in TRUE
        raise FieldValueError("must be true or false")

    def format(self, field: dict, value, locale: str = "en") -> str:
        if value is None:
            return ""
        if locale.startswith("zh"):
            return "是" if value else "否"
        return "Yes" if value else "No"

    def from_form(self, field: dict, data, ctx: ValueContext):
        return bool(data)
