"""The `FieldType` base class: what every kind of field knows about its values.

A field type knows, for one field definition (a dict from the app definition): the JSON
Schema of its own settings, the JSON Schema of a value, its storage, how to turn API input
into the canonical Python value and back, its WTForms field, its condition operand kind,
how to parse an imported cell and how to format a value for people. Hooks are few, named,
and have safe defaults (STYLE.md habit 3).
"""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from formloom.runtime.registry import Instance


class FieldValueError(ValueError):
    """A value a field cannot take; the message says why in plain words."""


@dataclass
class ValueContext:
    """What converting a value may need to know beyond the field itself."""

    tz: str = "UTC"
    today: date | None = None
    now: datetime | None = None
    # Callables the storage layer provides; None in pure tests.
    user_exists: Any = None  # (ids) -> set of existing ids
    department_exists: Any = None
    record_exists: Any = None  # (form_key, ids) -> set of existing visible ids
    file_lookup: Any = None  # (ids) -> {id: {"id","name","size","content_type"}}
    extra: dict = dc_field(default_factory=dict)


COMMON_KEYS = {
    "key", "type", "label", "help", "required", "unique", "indexed", "default",
    "hidden", "readonly", "placeholder", "label_en", "width", "linkage",
}


class FieldType(Instance):
    """One kind of field. Subclasses set `type` and override the hooks they need."""

    kind = "text"  # the condition-language operand kind
    storage = "column"  # "column" | "values" (one row per value) | "rows" (child table)
    computed = False  # filled by the system, not typed by a person
    in_subform = True  # may be a column of a subform
    can_be_unique = False
    can_be_indexed = True
    operators: frozenset[str] | None = None  # None: the condition language's default for `kind`
    config_schema: dict = {"type": "object", "properties": {}}

    # -- capabilities: what code outside the registry asks instead of naming a type -----
    holds_rows = False  # the value is a list of child rows with their own fields
    holds_files = False  # the value is a list of uploaded files
    refers_to: str | None = None  # "record", "user" or "department": values are their ids
    has_options = False  # values are chosen from the field's `options`
    has_expression = False  # computed from its `expr`; compiling infers the result kind
    derived = False  # computed from other values, of a kind compiling works out
    copies_linked_value = False  # copies a field of the record a link points to
    aggregates_linking_records = False  # aggregates the records that link to this one
    numbered = False  # numbered by the system from a counter that never goes back
    zoned = False  # values are moments, read and shown in the app's time zone
    indexed_by_default = False  # filtered often, so indexed without being asked
    annotations: frozenset[str] = frozenset()  # keys compiling writes into the field itself

    @property
    def reads_related(self) -> bool:
        """Kept current from other records (recomputed when they change)."""
        return self.copies_linked_value or self.aggregates_linking_records

    def delegate(self, field: dict) -> FieldType:
        """The plain field type that stores, shows and converts this field's values."""
        return self

    # -- schema -----------------------------------------------------------------
    def value_schema(self, field: dict) -> dict:
        """The JSON Schema of one value of this field, as the API reads and writes it."""
        return {"type": ["string", "null"]}

    def result_kind(self, field: dict) -> str:
        """The value kind for formulas and conditions (overridden by computed types)."""
        return self.kind

    def storage_for(self, field: dict) -> str:
        return self.storage

    def check_config(self, field: dict) -> list[tuple[str, str]]:
        """Setting errors `config_schema` cannot express, as (pointer within the field, message)."""
        return []

    # -- storage ----------------------------------------------------------------
    def sa_type(self, field: dict) -> sa.types.TypeEngine:
        return sa.Text()

    def value_sa_type(self, field: dict) -> sa.types.TypeEngine:
        """The column type of one value, for `values` storage."""
        return sa.String(255)

    def to_db(self, field: dict, value: Any) -> Any:
        return value

    def from_db(self, field: dict, value: Any) -> Any:
        return value

    # -- values -----------------------------------------------------------------
    def to_python(self, field: dict, value: Any, ctx: ValueContext) -> Any:
        """Check and convert an API value to the canonical Python value (None when blank)."""
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise FieldValueError("must be text")
        return value

    def to_json(self, field: dict, value: Any) -> Any:
        """The canonical Python value as JSON."""
        return value

    def default(self, field: dict, ctx: ValueContext) -> Any:
        if "default" not in field:
            return self.empty(field)
        return self.to_python(field, field["default"], ctx)

    def empty(self, field: dict) -> Any:
        return None

    def is_empty(self, value: Any) -> bool:
        return value is None or value == "" or value == []

    def parse_cell(self, field: dict, text: str, ctx: ValueContext) -> Any:
        """Parse one imported cell (a string from CSV or Excel)."""
        return self.to_python(field, text.strip() if isinstance(text, str) else text, ctx)

    def format(self, field: dict, value: Any, locale: str = "en") -> str:
        """A value as people read it, for pages and exports."""
        if self.is_empty(value):
            return ""
        return str(value)

    # -- forms (the WTForms field itself is the web side's: runtime/web/fields/) --------
    def from_form(self, field: dict, data: Any, ctx: ValueContext) -> Any:
        """Turn submitted form data into the canonical value."""
        return self.to_python(field, data, ctx)

    def to_form(self, field: dict, value: Any) -> Any:
        """The canonical value as the WTForms field's data."""
        return value
