"""The builder's palette: each field type's name as people read it, its icon and its group.

The names of the types stay here, in the registry (docs/architecture.md, "Field types"); the
designer asks `palette()` and reads each type's capabilities from `runtime/fields/`.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from formloom.runtime.fields import FieldType, field_types

GROUPS = {"basic": _l("Basic"), "choice": _l("Choices and people"), "relation": _l("Related records"),
          "advanced": _l("Computed and files")}

ENTRIES = {
    "text": (_l("Single-line text"), "fonts", "basic"),
    "textarea": (_l("Multi-line text"), "text-paragraph", "basic"),
    "number": (_l("Number"), "123", "basic"),
    "date": (_l("Date"), "calendar3", "basic"),
    "datetime": (_l("Date and time"), "clock", "basic"),
    "boolean": (_l("Yes / no"), "toggle-on", "basic"),
    "email": (_l("Email"), "envelope", "basic"),
    "phone": (_l("Phone"), "telephone", "basic"),
    "url": (_l("Web address"), "link-45deg", "basic"),
    "rating": (_l("Rating"), "star", "basic"),
    "select": (_l("Single choice"), "ui-radios", "choice"),
    "multiselect": (_l("Multiple choice"), "ui-checks", "choice"),
    "user": (_l("Member"), "person", "choice"),
    "department": (_l("Department"), "diagram-3", "choice"),
    "link": (_l("Link to another form"), "box-arrow-up-right", "relation"),
    "subform": (_l("Subform (table of rows)"), "table", "relation"),
    "lookup": (_l("Lookup"), "search", "relation"),
    "rollup": (_l("Rollup"), "sigma", "relation"),
    "formula": (_l("Formula"), "calculator", "advanced"),
    "serial": (_l("Serial number"), "hash", "advanced"),
    "file": (_l("Files"), "paperclip", "advanced"),
    "image": (_l("Images"), "image", "advanced"),
}


@dataclass
class PaletteEntry:
    type: str
    label: str
    icon: str
    group: str
    field_type: FieldType


def palette() -> list[PaletteEntry]:
    """Every registered field type, in registry order (a type without an entry shows its name)."""
    out = []
    for ftype in field_types:
        label, icon, group = ENTRIES.get(ftype.type, (ftype.type, "input-cursor", "advanced"))
        out.append(PaletteEntry(ftype.type, str(label), icon, group, ftype))
    return out
