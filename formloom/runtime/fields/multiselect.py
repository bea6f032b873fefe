"""Several choices from a list of options, one stored row per choice."""
import re

from formloom.runtime.fields.base import (
    FieldType,
    FieldValueError,
    ValueContext,
)
from formloom.runtime.fields.select import (
    OPTION_SCHEMA,
    duplicate_options,
    find_option,
    match_option,
    option_label,
    options,
)

# How people separate choices in one cell: "vip, partner", "vip，partner", "vip、partner".
SEPARATORS = re.compile(r"[,，、;；\n]")


class MultiSelectFieldType(FieldType):
    type = "multiselect"
    has_options = True
    kind = "multi_text"
    storage = "values"
    in_subform = False
    config_schema = {
        "type": "object",
        "required": ["options"],
        "properties": {
            "options": {"type": "array", "items": OPTION_SCHEMA, "maxItems": 500},
            "max_items": {"type": "integer", "minimum": 1},
        },
    }

    def check_config(self, field: dict) -> list[tuple[str, str]]:
        return duplicate_options(field)

    def value_schema(self, field: dict) -> dict:
        schema = {"type": "array", "uniqueItems": True, "items": {"enum": [o["value"] for o in options(field)]}}
        if field.get("max_items"):
            schema["maxItems"] = field["max_items"]
        return schema

    def empty(self, field: dict):
        return []

    def to_python(self, field: dict, value, ctx: ValueContext):
        if value is None or value == "":
            return []
        if isinstance(value, str):
            whole = find_option(field, value.strip())
            value = [whole] if whole else [v.strip() for v in SEPARATORS.split(value) if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise FieldValueError("must be a list of options")
        result = []
        for item in value:
            matched = match_option(field, item)
            if matched not in result:
                result.append(matched)
        if field.get("max_items") and len(result) > field["max_items"]:
            raise FieldValueError(f"allows at most {field['max_items']} choices")
        return result

    def format(self, field: dict, value, locale: str = "en") -> str:
        return ", ".join(option_label(field, v, locale) for v in value or [])
