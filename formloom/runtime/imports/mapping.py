"""Columns to fields: matched by label (either language) or key, or as the options say;
cells to values: each field type's `parse_cell`, links by the linked form's title (or another
unique field), users by email or name, departments by name, options by label or key with the
user's per-value table first.

Options (DESIGN.md section 11): `{"mapping": {"Column": "field" | null |
{"field": "customer", "match": "code"}}, "values": {"field": {"cell": "option"}}}`. A column
the mapping leaves out is matched automatically; `null` ignores it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlalchemy as sa

from formloom.platform.extensions import db
from formloom.platform.models import Department, User
from formloom.runtime import access
from formloom.runtime.exceptions import ValidationFailed
from formloom.runtime.fields import FieldValueError, field_types, type_of
from formloom.runtime.fields.base import FieldType
from formloom.runtime.storage import store

SPLIT = re.compile(r"[,，、;；\n]+")


@dataclass
class Column:
    """One mapped column: its position, header, field, and how its cells are read."""

    index: int
    name: str
    key: str
    match: str | None = None  # link columns: the linked form's field a cell names
    values: dict = field(default_factory=dict)  # the user's table: cell text -> option value


def importable(form) -> dict[str, dict]:
    """The fields a column may fill: stored, typed by people (not computed, not rows of a subform)."""
    out = {}
    for key, f in form.fields.items():
        ftype = type_of(f)
        if ftype.computed or ftype.holds_rows or ftype.holds_files or ftype.numbered or ftype.reads_related \
                or ftype.has_expression or ftype.derived:
            continue
        out[key] = f
    return out


def _names(form, key: str) -> set[str]:
    f = form.fields[key]
    return {n.strip().casefold() for n in (key, f.get("label"), f.get("label_en")) if n and n.strip()}


def known_names(form) -> set[str]:
    """Every name a header may use for a field: its key and labels (computed ones too, so the
    header row is found even when the file carries them)."""
    return {n for key in form.fields for n in _names(form, key)}


def auto_match(form, headers: list[str]) -> dict[str, str | None]:
    """Each header's field by key or label in either language (case and spaces ignored), or None."""
    fields = importable(form)
    by_name: dict[str, str] = {}
    for key in fields:
        for n in _names(form, key):
            by_name.setdefault(n, key)
    out, taken = {}, set()
    for h in headers:
        key = by_name.get(h.strip().casefold())
        if key in taken:
            key = None  # a second column with the same field's name is left for the user to map
        out[h] = key
        if key:
            taken.add(key)
    return out


def plan_columns(runtime, form, headers: list[str], options: dict) -> list[Column]:
    """The mapped columns, checked: a field filled by two columns, an unknown or computed
    field, a link `match` that is not a unique field of the linked form are refused."""
    mapping = options.get("mapping") or {}
    values = options.get("values") or {}
    if not isinstance(mapping, dict) or not isinstance(values, dict):
        raise ValidationFailed('"mapping" and "values" must be objects',
                               [{"field": "mapping", "message": "must be an object"}])
    unknown = [h for h in mapping if h not in headers]
    if unknown:
        raise ValidationFailed(f"The mapping names columns the file does not have: {', '.join(unknown)}",
                               [{"field": "mapping", "column": h, "message": "is not a column of the file"}
                                for h in unknown])
    auto = auto_match(form, headers)
    fields = importable(form)
    errors, columns, used = [], [], {}
    for i, h in enumerate(headers):
        target = mapping.get(h, auto[h]) if h in mapping else auto[h]
        match = None
        if isinstance(target, dict):
            target, match = target.get("field"), target.get("match")
        if not target:
            continue
        if target not in form.fields:
            errors.append({"field": "mapping", "column": h, "message": f'names no field "{target}"'})
            continue
        if target not in fields:
            errors.append({"field": target, "column": h,
                           "message": "is computed or filled by the system; it cannot be imported"})
            continue
        if target in used:
            errors.append({"field": target, "column": h, "message": f'is already filled by column "{used[target]}"'})
            continue
        used[target] = h
        f = fields[target]
        if match is not None:
            problem = _check_match(runtime, f, match)
            if problem:
                errors.append({"field": target, "column": h, "message": problem})
                continue
        table = values.get(target) or {}
        if not isinstance(table, dict):
            errors.append({"field": target, "column": h, "message": '"values" must map cell text to an option'})
            continue
        columns.append(Column(i, h, target, match, {str(k): v for k, v in table.items()}))
    if errors:
        raise ValidationFailed("The column mapping is not valid", errors)
    return columns


def _check_match(runtime, f: dict, match: str) -> str | None:
    if type_of(f).refers_to != "record":
        return '"match" is only for link columns'
    linked = runtime.form(f["form"])
    if match not in linked.fields or not (linked.fields[match].get("unique") or match == linked.title_field):
        return f'"{match}" is not the title or a unique field of {linked.display_name("en")}'
    return None


class Converter:
    """Turns a batch of rows into field values, naming every bad cell; looks the batch's
    link, user and department cells up in one query per column."""

    def __init__(self, actor, runtime, form, columns: list[Column], ctx):
        self.actor, self.runtime, self.form, self.columns, self.ctx = actor, runtime, form, columns, ctx

    def convert(self, rows: list[list[str]]) -> list[tuple[dict, list[dict]]]:
        """For each row: (field values as the API takes them, [{column, field, message}])."""
        found = {c.key: self._lookup(c, rows) for c in self.columns if self._refers(c)}
        out = []
        for cells in rows:
            data, errors = {}, []
            for c in self.columns:
                text = cells[c.index].strip() if c.index < len(cells) else ""
                try:
                    data[c.key] = self._value(c, text, found.get(c.key))
                except FieldValueError as exc:
                    errors.append({"column": c.name, "field": c.key, "message": str(exc)})
            out.append((data, errors))
        return out

    def _refers(self, c: Column) -> str | None:
        return type_of(self.form.fields[c.key]).refers_to

    def _value(self, c: Column, text: str, found: dict | None):
        f = self.form.fields[c.key]
        ftype = type_of(f)
        if text == "":
            return [] if f.get("multiple") or ftype.storage_for(f) == "values" else None
        if found is not None:
            parts = [p.strip() for p in SPLIT.split(text) if p.strip()] if f.get("multiple") else [text]
            ids = []
            for p in parts:
                hits = found.get(p.casefold(), [])
                if not hits:
                    raise FieldValueError(f'"{p}" matches no {self._noun(c)}')
                if len(hits) > 1:
                    raise FieldValueError(f'"{p}" matches {len(hits)} {self._noun(c, plural=True)}; '
                                          "map the column by a unique field")
                ids.append(hits[0])
            return ids if f.get("multiple") else ids[0]
        if ftype.has_options and c.values:
            if f.get("multiple") or ftype.storage_for(f) == "values":
                return [c.values.get(p.strip(), p.strip()) for p in SPLIT.split(text) if p.strip()]
            text = c.values.get(text, text)
        if type(ftype).parse_cell is FieldType.parse_cell:
            return text  # read as the API reads text; the records service converts it once
        return ftype.to_json(f, ftype.parse_cell(f, text, self.ctx))

    def _noun(self, c: Column, plural: bool = False) -> str:
        f = self.form.fields[c.key]
        kind = self._refers(c)
        if kind == "record":
            name = self.runtime.form(f["form"]).display_name("en")
            by = c.match or self.runtime.form(f["form"]).title_field or "id"
            return f"{name} record{'s' if plural else ''} (by {by})"
        return f"{kind}{'s' if plural else ''} (by {'email or name' if kind == 'user' else 'name'})"

    def _lookup(self, c: Column, rows: list[list[str]]) -> dict[str, list[int]]:
        """{cell text casefolded: [ids]} for the distinct texts of this column in the batch."""
        f = self.form.fields[c.key]
        texts = set()
        for cells in rows:
            text = cells[c.index].strip() if c.index < len(cells) else ""
            if text:
                texts.update(p.strip() for p in (SPLIT.split(text) if f.get("multiple") else [text]) if p.strip())
        if not texts:
            return {}
        kind = self._refers(c)
        pairs: list[tuple[str, int]] = []
        for chunk in store.chunks(sorted(texts), 500):
            pairs.extend(self._pairs(kind, f, c, chunk))
        found: dict[str, list[int]] = {}
        for text, rid in pairs:
            ids = found.setdefault(str(text).casefold(), [])
            if rid not in ids:
                ids.append(rid)
        return found

    def _pairs(self, kind: str, f: dict, c: Column, texts: list[str]) -> list[tuple[str, int]]:
        if kind == "user":
            folded = [t.casefold() for t in texts]
            rows = db.session.execute(sa.select(User.email, User.name, User.id).where(
                sa.or_(sa.func.lower(User.email).in_(folded), User.name.in_(texts)), User.active.is_(True)))
            out = []
            for email, name, uid in rows:
                out.extend((t, uid) for t in (email, name) if t)
            return out
        if kind == "department":
            return list(db.session.execute(sa.select(Department.name, Department.id).where(Department.name.in_(texts))))
        linked_key = f["form"]
        linked = self.runtime.form(linked_key)
        by = c.match or linked.title_field
        ft = self.runtime.form_tables(linked_key)
        if not by or by not in ft.columns:
            raise FieldValueError(f"{linked.display_name('en')} has no title field; map the column by a unique field")
        col = ft.columns[by]
        ftype = field_types.get(linked.fields[by]["type"])
        wanted = {}
        for t in texts:
            try:
                wanted[store.column_values(ft, {by: ftype.parse_cell(linked.fields[by], t, self.ctx)})[col.name]] = t
            except (FieldValueError, ValueError, TypeError):
                continue
        if not wanted:
            return []
        stmt = sa.select(col, ft.table.c.id).where(col.in_(list(wanted)), ft.table.c.deleted_at.is_(None),
                                                   access.record_scope(self.actor, self.runtime, linked_key, ft.table))
        return [(wanted.get(v, str(v)), rid) for v, rid in db.session.execute(stmt)]
