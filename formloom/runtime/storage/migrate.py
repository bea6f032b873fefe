"""Publishing a changed definition: the migration plan, and applying it in one transaction.

The plan is a list of steps a person can read (add field, hide field with data kept,
relabel, add option, change type with conversion, add index, recompute formulas). The
schema side is reconciled from the new tables (create what is missing, never drop), so
applying is idempotent; data steps convert values and report every row they cannot convert.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from formloom.platform.extensions import db
from formloom.runtime.definition import AppDef, FormDef
from formloom.runtime.exceptions import MigrationRefused
from formloom.runtime.fields import FieldValueError, ValueContext, field_types, type_of
from formloom.runtime.fields.select import options
from formloom.runtime.storage import store
from formloom.runtime.storage.tables import FormTables

REPORT_ROWS = 100  # rows listed in a refusal report; the count covers all


def compute_plan(old: AppDef | None, new: AppDef, old_storage: dict | None, new_storage: dict) -> list[dict]:
    """The steps that turn the old definition's storage into the new one's."""
    steps: list[dict] = []
    for key, form in new.forms.items():
        if old is None or key not in old.forms:
            steps.append({"op": "create_form", "form": key, "fields": list(form.fields)})
            continue
        steps.extend(_form_steps(old.forms[key], form, (old_storage or {}).get(key, {}), new_storage[key], key))
    for key in (old.forms if old else {}):
        if key not in new.forms:
            steps.append({"op": "hide_form", "form": key, "note": "records are kept"})
    return [{**step, "summary": describe(step)} for step in steps]


SUMMARIES = {
    "create_form": 'Create form "{form}" with {n} fields',
    "hide_form": 'Hide form "{form}"; its records are kept',
    "add_field": 'Add field "{field}" ({type}) to "{form}"',
    "restore_field": 'Bring back field "{field}" of "{form}" with the data it had',
    "change_type": 'Change field "{field}" of "{form}" from {from} to {to}, converting every value',
    "relabel": 'Rename field "{field}" of "{form}" from "{from}" to "{to}"',
    "add_option": 'Add option "{value}" to field "{field}" of "{form}"',
    "remove_option": 'Remove option "{value}" from field "{field}" of "{form}"; records keep the value',
    "add_unique": 'Make field "{field}" of "{form}" unique',
    "add_index": 'Index field "{field}" of "{form}"',
    "recompute": 'Recompute formula "{field}" of "{form}" for every record',
    "relate": 'Compute "{field}" of "{form}" for every record from the records it relates to',
    "require": 'Require field "{field}" of "{form}" from now on; existing empty values stay until edited',
    "hide_field": 'Hide field "{field}" of "{form}"; its data is kept and returns if the field is added again',
    "view_drop_field": 'View "{view}" no longer shows or uses "{field}", removed from "{form}"',
}


def describe(step: dict) -> str:
    """One plain sentence for a plan step, as the admin reads it before publishing."""
    values = {k: v for k, v in step.items() if isinstance(v, (str, int))}
    values["n"] = len(step.get("fields", []))
    if step["op"] == "recompute" and step.get("field") == "*":
        return f'Recompute every formula of "{step["form"]}" for every record'
    try:
        return SUMMARIES[step["op"]].format(**values)
    except (KeyError, IndexError):
        return step["op"].replace("_", " ")


def _form_steps(old: FormDef, new: FormDef, old_map: dict, new_map: dict, path: str) -> list[dict]:
    steps = []
    for key, f in new.fields.items():
        before = old.fields.get(key)
        where = {"form": path, "field": key}
        if before is None:
            revived = key in old_map.get("retired", {}) and new_map["fields"][key] == old_map["retired"][key]
            steps.append({"op": "restore_field" if revived else "add_field", **where, "type": f["type"]})
            if type_of(f).reads_related:
                steps.append({"op": "relate", **where})
            continue
        if before["type"] != f["type"] or new_map["fields"][key] != old_map["fields"].get(key):
            if "child" in new_map["fields"][key] and before["type"] == f["type"]:
                pass
            else:
                steps.append({"op": "change_type", **where, "from": before["type"], "to": f["type"]})
        if (before.get("label"), before.get("label_en")) != (f.get("label"), f.get("label_en")):
            steps.append({"op": "relabel", **where, "from": before.get("label"), "to": f.get("label")})
        steps.extend(_option_steps(before, f, where))
        if f.get("unique") and not before.get("unique"):
            steps.append({"op": "add_unique", **where})
        if f.get("indexed") and not before.get("indexed"):
            steps.append({"op": "add_index", **where})
        if type_of(f).has_expression and type_of(before).has_expression and before.get("expr") != f.get("expr"):
            steps.append({"op": "recompute", **where, "from": before.get("expr"), "to": f.get("expr")})
        if type_of(f).reads_related and (before["type"] != f["type"] or _relation(before) != _relation(f)):
            steps.append({"op": "relate", **where})
        if f.get("required") and not before.get("required"):
            steps.append({"op": "require", **where, "note": "existing records with no value keep it until edited"})
        if type_of(f).holds_rows and type_of(before).holds_rows:
            steps.extend(_form_steps(old.children[key], new.children[key], old_map["fields"][key]["child"],
                                     new_map["fields"][key]["child"], f"{path}.{key}"))
    for key in old.fields:
        if key not in new.fields:
            steps.append({"op": "hide_field", "form": path, "field": key, "note": "data kept until purged"})
    if any(s["op"] in ("add_field", "restore_field", "change_type") and type_of(new.fields[s["field"]]).has_expression
           for s in steps if s["form"] == path):
        steps.append({"op": "recompute", "form": path, "field": "*"})
    return steps


def _relation(f: dict) -> tuple:
    """What a lookup or rollup reads: a change of it means computing it again for every record."""
    return tuple(repr(f.get(k)) for k in ("link", "field", "form", "agg", "where"))


def _option_steps(before: dict, f: dict, where: dict) -> list[dict]:
    if "options" not in f or "options" not in before:
        return []
    old_values = {o["value"] for o in options(before)}
    new_values = {o["value"] for o in options(f)}
    steps = [{"op": "add_option", **where, "value": v} for v in sorted(new_values - old_values)]
    steps += [{"op": "remove_option", **where, "value": v, "note": "records keep the value"}
              for v in sorted(old_values - new_values)]
    return steps


def reconcile_schema(metadata: sa.MetaData) -> list[str]:
    """Create the tables, columns and indexes of `metadata` that the database lacks."""
    conn = db.session.connection()
    inspector = sa.inspect(conn)
    existing = set(inspector.get_table_names())
    done = []
    ops = Operations(MigrationContext.configure(conn))
    for table in metadata.sorted_tables:
        if table.name not in existing:
            table.create(conn)
            done.append(f"create table {table.name}")
            continue
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for col in table.columns:
            if col.name not in have:
                ops.add_column(table.name, sa.Column(col.name, col.type, nullable=True))
                done.append(f"add column {table.name}.{col.name}")
        have_ix = {ix["name"] for ix in inspector.get_indexes(table.name)}
        for ix in table.indexes:
            if ix.name not in have_ix:
                ix.create(conn)
                done.append(f"create index {ix.name}")
    return done


def refuse_duplicates(plan: list[dict], old_rt, new_rt) -> None:
    """Refuse a field made unique while records repeat its values (before any DDL runs)."""
    problems = []
    for step in plan:
        if step["op"] != "add_unique" or "." in step["form"] or old_rt is None:
            continue
        old_col = old_rt.form_tables(step["form"]).columns.get(step["field"])
        new_col = new_rt.form_tables(step["form"]).columns.get(step["field"])
        if old_col is not None and new_col is not None and old_col.name == new_col.name:
            problems.extend(_duplicates(new_rt, step))
    if problems:
        raise MigrationRefused("A field made unique already has repeated values; make them distinct first",
                               problems[:REPORT_ROWS], total=len(problems))


def apply_data_steps(plan: list[dict], old_rt, new_rt, ctx: ValueContext, accept_loss: bool) -> dict:
    """The storage's data steps: convert changed types, fill defaults. Raises MigrationRefused on
    loss. Recomputing formulas and relations is the records' part: the publish (`builder/apps.py`)
    runs it after this."""
    report: dict[str, Any] = {"converted": {}, "lost": {}}
    refuse_duplicates(plan, old_rt, new_rt)
    for step in plan:
        if step["op"] == "change_type":
            convert = _convert if "." not in step["form"] else _convert_rows
            lost = convert(step, old_rt, new_rt, ctx)
            report["converted"][f"{step['form']}.{step['field']}"] = lost["rows"]
            if lost["errors"]:
                report["lost"][f"{step['form']}.{step['field']}"] = lost["errors"]
    losses = [dict(e, form=k.rsplit(".", 1)[0], field=k.rsplit(".", 1)[1])
              for k, errs in report["lost"].items() for e in errs]
    if losses and not accept_loss:
        raise MigrationRefused(f"{len(losses)} values cannot be converted; nothing was changed. "
                               "Fix them, or publish again accepting the loss.", losses[:REPORT_ROWS],
                               total=len(losses))
    for step in plan:
        if step["op"] == "add_field":
            report.setdefault("filled", {})[f"{step['form']}.{step['field']}"] = _fill_default(step, new_rt, ctx)
    return report


def _tables_at(rt, path: str) -> FormTables:
    """The tables of a form ("quote") or of a subform's rows ("quote.items")."""
    form_key, *children = path.split(".")
    ft = rt.form_tables(form_key)
    for key in children:
        ft = ft.children[key]
    return ft


def _fill_default(step: dict, rt, ctx: ValueContext) -> int:
    """Give existing records (or rows) a new field's fixed default, as new ones get it."""
    ft = _tables_at(rt, step["form"])
    f = ft.form.fields[step["field"]]
    ftype = field_types.get(f["type"])
    if "default" not in f or ftype.computed or f["default"] in ("$me", "$today", "$now"):
        return 0
    value = ftype.default(f, ctx)
    if ftype.is_empty(value):
        return 0
    if step["field"] in ft.columns:
        col = ft.columns[step["field"]]
        stmt = sa.update(ft.table).where(col.is_(None)).values({col.name: store.column_values(ft, {step["field"]: value})[col.name]})
        return db.session.execute(stmt).rowcount
    table = ft.values.get(step["field"])
    if table is None:
        return 0
    ids = list(db.session.execute(sa.select(ft.table.c.id)).scalars())
    rows = [{"record_id": rid, "value": ftype.to_db(f, v), "position": i} for rid in ids for i, v in enumerate(value)]
    for batch in store.chunks(rows, 2000):
        db.session.execute(sa.insert(table), batch)
    return len(ids)


def _duplicates(rt, step: dict) -> list[dict]:
    ft = rt.form_tables(step["form"])
    col = ft.columns.get(step["field"])
    if col is None:
        return []
    t = ft.table
    stmt = (sa.select(col, sa.func.count()).where(t.c.deleted_at.is_(None), col.is_not(None))
            .group_by(col).having(sa.func.count() > 1).limit(REPORT_ROWS))
    return [{"form": step["form"], "field": step["field"], "value": str(v), "message": f"used by {n} records"}
            for v, n in db.session.execute(stmt)]


def _convert(step: dict, old_rt, new_rt, ctx: ValueContext) -> dict:
    """Copy one field's values into its new storage, converting each; list the failures."""
    key = step["field"]
    old_ft: FormTables = old_rt.form_tables(step["form"])
    new_ft: FormTables = new_rt.form_tables(step["form"])
    old_f, new_f = old_ft.form.fields[key], new_ft.form.fields[key]
    old_type, new_type = field_types.get(old_f["type"]), field_types.get(new_f["type"])
    ids = list(db.session.execute(sa.select(old_ft.table.c.id).order_by(old_ft.table.c.id)).scalars())
    errors, rows = [], 0
    for batch in store.chunks(ids):
        records = store.load_records(old_ft, batch, include_deleted=True)
        updates = {}
        for rid, rec in records.items():
            old_value = rec["fields"].get(key)
            if old_type.is_empty(old_value):
                continue
            try:
                updates[rid] = _convert_value(old_type, old_f, new_type, new_f, old_value, ctx)
            except FieldValueError as exc:
                errors.append({"record_id": rid, "value": old_type.to_json(old_f, old_value), "message": str(exc)})
                updates[rid] = new_type.empty(new_f)
        rows += len(updates)
        _write_converted(new_ft, key, updates)
    return {"rows": rows, "errors": errors}


def _convert_value(old_type, old_f, new_type, new_f, value, ctx):
    as_json = old_type.to_json(old_f, value)
    if new_type.computed:
        return None
    if isinstance(as_json, list) and new_type.storage_for(new_f) == "column":
        if len(as_json) > 1:
            raise FieldValueError(f"has {len(as_json)} values; the new type holds one")
        as_json = as_json[0] if as_json else None
    try:
        return new_type.to_python(new_f, as_json, ctx)
    except FieldValueError:
        text = old_type.format(old_f, value) if not isinstance(as_json, str) else as_json
        return new_type.parse_cell(new_f, text, ctx)


def _convert_rows(step: dict, old_rt, new_rt, ctx: ValueContext) -> dict:
    """Convert one column of a subform's rows into its new column; list the failures."""
    key = step["field"]
    old_ft, new_ft = _tables_at(old_rt, step["form"]), _tables_at(new_rt, step["form"])
    old_col, new_col = old_ft.columns.get(key), new_ft.columns.get(key)
    if old_col is None or new_col is None:
        return {"rows": 0, "errors": []}
    old_f, new_f = old_ft.form.fields[key], new_ft.form.fields[key]
    old_type, new_type = field_types.get(old_f["type"]), field_types.get(new_f["type"])
    t = new_ft.table
    rows = db.session.execute(sa.select(t.c.id, t.c.parent_id, t.c.position, t.c[old_col.name])
                              .where(t.c[old_col.name].is_not(None)).order_by(t.c.id)).all()
    errors, updates = [], []
    for rid, parent, position, raw in rows:
        old_value = old_type.from_db(old_f, raw)
        if old_type.is_empty(old_value):
            continue
        try:
            value = _convert_value(old_type, old_f, new_type, new_f, old_value, ctx)
        except FieldValueError as exc:
            errors.append({"record_id": parent, "row": position, "value": old_type.to_json(old_f, old_value),
                           "message": str(exc)})
            value = new_type.empty(new_f)
        updates.append({"rid": rid, "v": new_type.to_db(new_f, value)})
    stmt = sa.update(t).where(t.c.id == sa.bindparam("rid")).values({new_col.name: sa.bindparam("v")})
    for batch in store.chunks(updates, 2000):
        db.session.execute(stmt, batch)
    return {"rows": len(updates), "errors": errors}


def _write_converted(ft: FormTables, key: str, updates: dict) -> None:
    if not updates:
        return
    if key in ft.columns:
        col = ft.columns[key]
        stmt = sa.update(ft.table).where(ft.table.c.id == sa.bindparam("rid")).values({col.name: sa.bindparam("v")})
        db.session.execute(stmt, [{"rid": rid, "v": store.column_values(ft, {key: v})[col.name]}
                                  for rid, v in updates.items()])
        return
    for rid, v in updates.items():
        store.write_related(ft, rid, {key: v})
