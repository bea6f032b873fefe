"""Child rows with their own fields (order lines, quote items), stored in a child table."""
from formloom.runtime.fields.base import FieldType, FieldValueError, ValueContext


class SubformFieldType(FieldType):
    type = "subform"
    holds_rows = True
    kind = "rows"
    storage = "rows"
    in_subform = False
    can_be_indexed = False
    operators = frozenset()
    config_schema = {
        "type": "object",
        "required": ["fields"],
        "properties": {
            "fields": {"type": "array", "minItems": 1, "maxItems": 100},
            "min_rows": {"type": "integer", "minimum": 0},
            "max_rows": {"type": "integer", "minimum": 1, "maximum": 1000},
        },
    }

    def check_config(self, field: dict) -> list[tuple[str, str]]:
        if field.get("min_rows", 0) > field.get("max_rows", 1000):
            return [("/min_rows", f"is more than the maximum number of rows ({field.get('max_rows', 1000)})")]
        return []

    def value_schema(self, field: dict) -> dict:
        # The records projection fills in `items` from the child fields.
        return {"type": "array", "items": {"type": "object"}}

    def empty(self, field: dict):
        return []

    def to_python(self, field: dict, value, ctx: ValueContext):
        """Only the shape is checked here; the record service converts each row's fields."""
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
            raise FieldValueError("must be a list of rows")
        limit = field.get("max_rows", 1000)
        if len(value) > limit:
            raise FieldValueError(f"allows at most {limit} rows")
        return value

    def format(self, field: dict, value, locale: str = "en") -> str:
        n = len(value or [])
        return f"{n} 行" if locale.startswith("zh") else f"{n} row{'s' if n != 1 else ''}"
