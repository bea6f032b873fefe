"""Physical storage of records: one table per form, one typed column per stored field.

The storage map (kept with each published version) names the table of each form and the
column of each field. Field keys never change once published, but a field's column may:
a type change writes the converted values into a new column, so no database ever has to
alter a column's type in place, and a removed field keeps its data in a retired column
until an admin purges it.

Map shape, per form key:
    {"table": "a3_deal",
     "fields": {"title": {"column": "f_title", "sig": "String(length=1000)"},
                "tags": {"values": "a3_deal__tags", "sig": "String(length=255)"},
                "items": {"child": {"table": "a3_quote__items", "fields": {...}}}},
     "retired": {"old_key": {...same shape...}}}
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from dataclasses import field as dc_field

import sqlalchemy as sa

from formloom.runtime.definition import AppDef, FormDef
from formloom.runtime.fields import field_types, type_of

MAX_NAME = 60


def short_name(*parts: str) -> str:
    """A table or index name within PostgreSQL's 63-character limit, stable for its parts."""
    name = "_".join(parts)
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[:MAX_NAME - 9]}_{digest}"


def signature(field: dict) -> str:
    ftype = field_types.get(field["type"])
    storage = ftype.storage_for(field)
    if storage == "values":
        return "values:" + repr(ftype.value_sa_type(field))
    if storage == "rows":
        return "rows"
    return repr(ftype.sa_type(field))


def plan_storage_map(app_id: int, app: AppDef, old: dict | None) -> dict:
    """The storage map for `app`, keeping every name `old` had and naming what is new."""
    old = old or {}
    new: dict = {}
    for key, form in app.forms.items():
        prev = old.get(key) or {"table": short_name(f"a{app_id}", key), "fields": {}, "retired": {}}
        new[key] = _form_map(prev, form, prev["table"])
    for key, prev in old.items():
        if key not in new:
            new[key] = {**prev, "removed": True}
    return new


def _form_map(prev: dict, form: FormDef, table: str) -> dict:
    fields, retired = {}, dict(prev.get("retired", {}))
    known = {**retired, **prev.get("fields", {})}
    for key, f in form.fields.items():
        entry = known.get(key)
        sig = signature(f)
        if entry is not None and entry["sig"] == sig:
            retired.pop(key, None)
            if "child" in entry:
                entry = {**entry, "child": _form_map(entry["child"], form.children[key], entry["child"]["table"])}
            fields[key] = entry
            continue
        if entry is not None:  # type change: keep the old storage retired, write a new one
            retired[key] = entry
        fields[key] = _new_entry(table, key, f, form, taken=_taken(prev, fields, retired))
    for key, entry in prev.get("fields", {}).items():
        if key not in form.fields:
            retired[key] = entry
    return {"table": table, "fields": fields, "retired": retired}


def _taken(prev: dict, fields: dict, retired: dict) -> set[str]:
    names = set()
    for group in (prev.get("fields", {}), fields, retired):
        for entry in group.values():
            names.update(v for k, v in entry.items() if k in ("column", "values"))
            if "child" in entry:
                names.add(entry["child"]["table"])
    return names


def _new_entry(table: str, key: str, f: dict, form: FormDef, taken: set[str]) -> dict:
    sig = signature(f)
    storage = field_types.get(f["type"]).storage_for(f)
    n = 1

    def name(base: str) -> str:
        nonlocal n
        candidate = base
        while candidate in taken:
            n += 1
            candidate = f"{base}_{n}"
        taken.add(candidate)
        return candidate

    if storage == "values":
        return {"values": name(short_name(table, "_" + key)), "sig": sig}
    if storage == "rows":
        child_table = name(short_name(table, "_" + key))
        return {"child": _form_map({"table": child_table, "fields": {}, "retired": {}},
                                   form.children[key], child_table), "sig": sig}
    return {"column": name(f"f_{key}"), "sig": sig}


@dataclass
class FormTables:
    """The SQLAlchemy tables of one form: main table, one per multi-valued field, children."""

    form: FormDef
    table: sa.Table
    columns: dict[str, sa.Column]  # field key -> column (stored scalar fields)
    values: dict[str, sa.Table] = dc_field(default_factory=dict)  # field key -> (record_id, value, position)
    children: dict[str, FormTables] = dc_field(default_factory=dict)
    retired_columns: dict[str, sa.Column] = dc_field(default_factory=dict)

    def all_tables(self) -> list[sa.Table]:
        tables = [self.table, *self.values.values()]
        for child in self.children.values():
            tables.extend(child.all_tables())
        return tables


def system_columns(parent_table: str | None) -> list[sa.Column]:
    if parent_table:  # subform rows
        return [
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("parent_id", sa.Integer, sa.ForeignKey(f"{parent_table}.id", ondelete="CASCADE"),
                      nullable=False, index=True),
            sa.Column("position", sa.Integer, nullable=False, default=0),
        ]
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime, nullable=False, index=True),
        sa.Column("created_by", sa.Integer),
        sa.Column("updated_at", sa.DateTime, nullable=False, index=True),
        sa.Column("updated_by", sa.Integer),
        sa.Column("owner_id", sa.Integer, index=True),
        sa.Column("version", sa.Integer, nullable=False, default=1),
        sa.Column("flow_status", sa.String(20), index=True),
        sa.Column("deleted_at", sa.DateTime),  # indexed for the recycle bin only, see build_tables
    ]


def build_tables(form: FormDef, fmap: dict, metadata: sa.MetaData, parent_table: str | None = None,
                 placed: frozenset[str] = frozenset()) -> FormTables:
    """Declare the tables of `form` in `metadata` from its storage map entry. `placed`: fields
    a view places records by (a calendar's dates), indexed for its range reads."""
    table_name = fmap["table"]
    cols, columns, values, children, retired = system_columns(parent_table), {}, {}, {}, {}
    for key, entry in fmap["fields"].items():
        f = form.fields[key]
        if "column" in entry:
            indexed = _indexed(f) or (key in placed and field_types.get(f["type"]).can_be_indexed and not f.get("unique"))
            col = sa.Column(entry["column"], field_types.get(f["type"]).sa_type(f), index=indexed)
            cols.append(col)
            columns[key] = col
    for key, entry in fmap.get("retired", {}).items():
        if "column" in entry:
            col = sa.Column(entry["column"], _retired_type(entry["sig"]))
            cols.append(col)
            retired[key] = col
    table = sa.Table(table_name, metadata, *cols)
    for key, entry in fmap["fields"].items():
        f = form.fields[key]
        if "values" in entry:
            values[key] = _values_table(entry["values"], table_name, field_types.get(f["type"]).value_sa_type(f), metadata)
        elif "child" in entry:
            children[key] = build_tables(form.children[key], entry["child"], metadata, parent_table=table_name)
    for entry in fmap.get("retired", {}).values():
        if "values" in entry and entry["values"] not in metadata.tables:
            _values_table(entry["values"], table_name, sa.String(255), metadata)
    live = table.c.deleted_at.is_(None) if parent_table is None else None
    if parent_table is None:
        # Only the recycle bin looks for deleted rows. A full index on deleted_at makes
        # planners without fresh statistics treat "deleted_at IS NULL" as selective and walk
        # it for every list; a partial one cannot be picked for live rows.
        binned = table.c.deleted_at.is_not(None)
        sa.Index(short_name("ix", table_name, "binned"), table.c.deleted_at,
                 sqlite_where=binned, postgresql_where=binned)
    for key, f in form.fields.items():
        if key not in columns:
            continue
        # Named after the column, not the key: a type change writes a new column, which
        # needs its own index (the old one stays with the retired column).
        name = unique_index_name(table_name, columns[key].name)
        if type_of(f).numbered:  # numbers are never reused, even from the recycle bin
            sa.Index(name, columns[key], unique=True)
        elif f.get("unique") and live is not None:
            # A backstop for the service's check: two racing writers cannot both win.
            sa.Index(name, columns[key], unique=True, sqlite_where=live, postgresql_where=live)
    return FormTables(form=form, table=table, columns=columns, values=values, children=children,
                      retired_columns=retired)


def unique_index_name(table_name: str, column_name: str) -> str:
    return short_name("uq", table_name, column_name)


def _indexed(f: dict) -> bool:
    ftype = field_types.get(f["type"])
    if not ftype.can_be_indexed:
        return False
    return bool((f.get("indexed") and not f.get("unique")) or ftype.indexed_by_default)


def _values_table(name: str, parent: str, value_type, metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        name, metadata,
        sa.Column("record_id", sa.Integer, sa.ForeignKey(f"{parent}.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("value", value_type, primary_key=True, index=True),
        sa.Column("position", sa.Integer, nullable=False, default=0),
    )


def _retired_type(sig: str):
    # Retired columns are only read back for conversion or purge; a loose type is enough.
    return {"Date()": sa.Date(), "DateTime()": sa.DateTime(), "Boolean()": sa.Boolean(),
            "Float()": sa.Float(), "Integer()": sa.Integer(), "SmallInteger()": sa.SmallInteger(),
            "JSON()": sa.JSON()}.get(sig, sa.Float() if sig.startswith(("Numeric", "ExactNumeric")) else sa.Text())


def build_app_tables(app: AppDef, storage: dict) -> tuple[sa.MetaData, dict[str, FormTables]]:
    metadata = sa.MetaData()
    placed: dict[str, set[str]] = {}
    for view in (app.views or {}).values():
        placed.setdefault(view.form, set()).update(view.placed_by())
    tables = {key: build_tables(form, storage[key], metadata, placed=frozenset(placed.get(key, ())))
              for key, form in app.forms.items()}
    return metadata, tables
