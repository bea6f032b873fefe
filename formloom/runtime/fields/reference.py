"""Shared behaviour of fields whose values are ids: users, departments, linked records."""
import re

import sqlalchemy as sa

from formloom.platform.inputs import MAX_ID
from formloom.runtime.fields.base import (
    FieldType,
    FieldValueError,
    ValueContext,
)


class ReferenceFieldType(FieldType):
    """One id, or with `multiple` a list of ids stored one row each."""

    kind = "ref"
    noun = "item"
    config_schema = {"type": "object", "properties": {"multiple": {"type": "boolean"}}}

    def storage_for(self, field: dict) -> str:
        return "values" if field.get("multiple") else "column"

    def result_kind(self, field: dict) -> str:
        return "multi_ref" if field.get("multiple") else "ref"

    def value_schema(self, field: dict) -> dict:
        if field.get("multiple"):
            return {"type": "array", "uniqueItems": True,
                    "items": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}
        return {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_ID}

    def sa_type(self, field: dict):
        return sa.Integer()

    def value_sa_type(self, field: dict):
        return sa.Integer()

    def empty(self, field: dict):
        return [] if field.get("multiple") else None

    def to_python(self, field: dict, value, ctx: ValueContext):
        if value is None or value == "" or value == []:
            return self.empty(field)
        items = value if isinstance(value, list) else [value]
        ids = [self._id(item) for item in items]
        if not field.get("multiple") and len(ids) > 1:
            raise FieldValueError(f"takes one {self.noun}, not a list")
        ids = list(dict.fromkeys(ids))
        missing = set(ids) - self.existing(field, ids, ctx)
        if missing:
            raise FieldValueError(f"no {self.noun} with id {', '.join(map(str, sorted(missing)))}")
        return ids if field.get("multiple") else ids[0]

    def _id(self, item) -> int:
        if isinstance(item, dict) and "id" in item:
            item = item["id"]
        # isdecimal, not isdigit: int() refuses "²"; ids fit in 18 digits.
        if isinstance(item, str) and item.strip().isdecimal() and len(item.strip()) <= 18:
            item = int(item.strip())
        if isinstance(item, float) and item.is_integer():
            item = int(item)
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= MAX_ID:
            raise FieldValueError(f"must be the id of a {self.noun}")
        return item

    def parse_cell(self, field: dict, text, ctx: ValueContext):
        if field.get("multiple") and isinstance(text, str):
            text = [part for part in re.split(r"[,，、;；\s]+", text) if part]
        elif isinstance(text, str):
            text = text.strip()
        return self.to_python(field, text, ctx)

    def existing(self, field: dict, ids: list[int], ctx: ValueContext) -> set[int]:
        """Which of `ids` exist (and may be referenced by the actor)."""
        return set(ids)

    def to_form(self, field: dict, value):
        if field.get("multiple"):
            return [str(v) for v in value or []]
        return "" if value is None else str(value)

    def format(self, field: dict, value, locale: str = "en") -> str:
        if value in (None, []):
            return ""
        return ", ".join(f"#{v}" for v in (value if isinstance(value, list) else [value]))
