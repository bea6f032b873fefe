"""The compiled form of an app definition: what the runtime works from.

Compiling happens once per published version; everything here is read-only after that.
"""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from functools import cached_property
from typing import Any

from formloom.platform.i18n import localized
from formloom.runtime.fields import FieldType, field_types

# Value kinds as formulas see them, per field result kind.
FORMULA_KIND = {
    "text": "text", "number": "number", "date": "date", "datetime": "datetime",
    "boolean": "boolean", "ref": "number", "multi_text": "list:text", "multi_ref": "list:number",
    "file": "text",
}


@dataclass
class FormDef:
    """One form (or one subform's rows): its fields in order and its formulas in order."""

    key: str
    name: str
    fields: dict[str, dict]
    raw: dict
    parent: str | None = None  # the owning form's key, for a subform
    title_field: str | None = None
    owner_field: str | None = None
    members: str = "all"
    children: dict[str, FormDef] = dc_field(default_factory=dict)
    formulas: list[tuple[str, Any]] = dc_field(default_factory=list)  # (key, parsed Formula)
    rules: list[dict] = dc_field(default_factory=list)

    def type_of(self, key: str) -> FieldType:
        return field_types.get(self.fields[key]["type"])

    def stored_fields(self) -> list[dict]:
        return [f for f in self.fields.values() if field_types.get(f["type"]).storage_for(f) == "column"]

    def label(self, key: str, locale: str | None = None) -> str:
        """The field's label in `locale` (the reader's by default)."""
        return localized(self.fields[key], "label", locale, key)

    def display_name(self, locale: str | None = None) -> str:
        """The form's name in `locale` (the reader's by default); a subform's is its field's label."""
        return localized(self.raw, "name", locale, self.name)

    @cached_property
    def types_by_key(self) -> dict[str, FieldType]:
        """Each field's type, looked up once (hot loops over many records use it)."""
        return {k: field_types.get(f["type"]) for k, f in self.fields.items()}

    @cached_property
    def file_fields(self) -> tuple[str, ...]:
        """Keys of the fields holding files (formulas read them as their names)."""
        return tuple(k for k, f in self.fields.items() if field_types.get(f["type"]).result_kind(f) == "file")

    @property
    def rule_shown(self) -> set[str]:
        """Fields that some rule shows: hidden unless one of those rules holds."""
        return {k for r in self.rules for k in r.get("show", [])}


@dataclass
class AppDef:
    key: str
    name: str
    forms: dict[str, FormDef]
    raw: dict
    timezone: str | None = None
    grants: dict[str, list] = dc_field(default_factory=dict)  # form key -> [grants.Grant]
    automations: dict[str, Any] = dc_field(default_factory=dict)  # key -> automations.model.Automation
    flows: dict[str, Any] = dc_field(default_factory=dict)  # key -> flows.model.Flow
    dependencies: Any = None  # schema.dependencies.Dependencies: what each field is computed from
    views: dict[str, Any] = dc_field(default_factory=dict)  # key -> views.View
    dashboards: dict[str, Any] = dc_field(default_factory=dict)  # key -> dashboards.Dashboard

    def flow_for(self, form_key: str):
        """The form's enabled approval flow, or None."""
        return next((f for f in self.flows.values() if f.form == form_key and f.enabled), None)

    def form(self, key: str) -> FormDef:
        return self.forms[key]
