"""Recomputing the formulas of every record of a form, when a publish changes a formula or a
type (called by the publish in `builder/apps.py`, after the storage's data steps)."""
from __future__ import annotations

import copy

import sqlalchemy as sa

from formloom.platform.extensions import db
from formloom.runtime.exceptions import DefinitionError
from formloom.runtime.fields import ValueContext
from formloom.runtime.records.values import FormulaFailed, compute_formulas
from formloom.runtime.storage import store
from formloom.runtime.storage.tables import FormTables


def recompute_form(rt, form_key: str, ctx: ValueContext) -> int:
    """Recompute every formula of every record of a form (after a formula changed)."""
    ft = rt.form_tables(form_key)
    form = ft.form
    if not form.formulas and not any(c.formulas for c in form.children.values()):
        return 0
    ids = list(db.session.execute(sa.select(ft.table.c.id).order_by(ft.table.c.id)).scalars())
    formula_keys = [k for k, _ in form.formulas]
    for batch in store.chunks(ids):
        scalar_updates = []
        for rid, rec in store.load_records(ft, batch, include_deleted=True).items():
            values = copy.deepcopy(rec["fields"])  # rows are recomputed in place
            try:
                compute_formulas(form, values, ctx, store.flat_values(rec))
            except FormulaFailed as exc:
                raise _refused_formula(rt, form_key, rid, exc) from None
            changed = {k: values[k] for k in formula_keys if values[k] != rec["fields"].get(k)}
            if changed:
                scalar_updates.append({"rid": rid, **{f"v_{k}": v for k, v in store.column_values(ft, changed).items()}})
            rows = {k: values[k] for k in form.children if values[k] != rec["fields"].get(k)}
            if rows:
                store.write_related(ft, rid, rows)
        _write_columns(ft, scalar_updates)
    return len(ids)


def _refused_formula(rt, form_key: str, record_id: int, exc) -> DefinitionError:
    """A formula that fails on an existing record: the definition is refused, pointing at it."""
    error = exc.errors[0]
    forms = rt.source.get("forms", [])
    i = next((n for n, f in enumerate(forms) if f.get("key") == form_key), None)
    pointer = f"/forms/{i}" if i is not None else ""
    path = [error["field"], error["column"]] if "column" in error else [error["field"]]
    fields = forms[i].get("fields", []) if i is not None else []
    for key in path:
        j = next((n for n, f in enumerate(fields) if f.get("key") == key), None)
        if j is None:
            break
        pointer += f"/fields/{j}"
        fields = fields[j].get("fields", [])
    message = f'record {record_id}: {error["message"]}'
    return DefinitionError(f'Formula "{".".join([form_key, *path])}" fails on an existing record; nothing was '
                           f"changed. {message[0].upper()}{message[1:]}",
                           [{"pointer": pointer + "/expr", "message": message, "record_id": record_id}])


def _write_columns(ft: FormTables, updates: list[dict]) -> None:
    """Write formula results, one statement per set of changed columns."""
    groups: dict[tuple, list[dict]] = {}
    for row in updates:
        groups.setdefault(tuple(sorted(k for k in row if k != "rid")), []).append(row)
    for names, rows in groups.items():
        stmt = sa.update(ft.table).where(ft.table.c.id == sa.bindparam("rid")).values(
            {name[2:]: sa.bindparam(name) for name in names})
        db.session.execute(stmt, rows)
