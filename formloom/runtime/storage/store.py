"""Reading and writing record rows: the main table, multi-value tables and child rows.

Plain data work with no permission checks: callers (the record service) check access.
Values here are canonical Python values (see `FieldType.to_python`).
"""
from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg.types.json import Json

from formloom.platform import epoch
from formloom.platform.extensions import db
from formloom.runtime.fields import field_types
from formloom.runtime.storage.tables import FormTables

SYSTEM_COLUMNS = {
    "$id": "id", "$created_at": "created_at", "$updated_at": "updated_at",
    "$created_by": "created_by", "$updated_by": "updated_by", "$owner": "owner_id",
    "$flow_status": "flow_status", "$version": "version",
}
BATCH = 500  # ids per IN (...): far below every database's bound-parameter limit


def chunks(items: list, size: int = BATCH) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _to_db(ft: FormTables, key: str, value: Any) -> Any:
    return ft.form.types_by_key[key].to_db(ft.form.fields[key], value)


def _from_db(ft: FormTables, key: str, value: Any) -> Any:
    return ft.form.types_by_key[key].from_db(ft.form.fields[key], value)


def column_values(ft: FormTables, fields: dict) -> dict:
    """The main-table column values for the scalar fields in `fields`."""
    return {ft.columns[k].name: _to_db(ft, k, v) for k, v in fields.items() if k in ft.columns}


def insert_rows(table: sa.Table, rows: list[dict]) -> None:
    """Insert many rows, returning nothing: COPY on PostgreSQL, executemany elsewhere.

    psycopg runs an executemany as one INSERT per row (pipelined); COPY streams them all,
    several times faster for bulk loads.
    """
    if not rows:
        return
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.execute(sa.insert(table), rows)
        return
    names = list(dict.fromkeys(k for row in rows for k in row))
    is_json = [isinstance(table.c[n].type, sa.JSON) for n in names]
    columns = ", ".join(f'"{n}"' for n in names)
    statement = f'COPY "{table.name}" ({columns}) FROM STDIN'
    cursor = db.session.connection().connection.driver_connection.cursor()
    try:
        with cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([Json(row.get(n)) if j and row.get(n) is not None else row.get(n)
                                for n, j in zip(names, is_json, strict=True)])
    except psycopg.errors.IntegrityError as exc:
        # Callers handle SQLAlchemy's error (a unique clash names its index), as for INSERTs.
        raise sa.exc.IntegrityError(statement, None, exc) from exc


def insert_ids(table: sa.Table, rows: list[dict]) -> list[int]:
    """Insert rows in a few statements; return their ids in the rows' order."""
    ids: list[int] = []
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    for batch in chunks(rows, 2000):
        if sqlite:
            # SQLAlchemy keeps parameter order on SQLite by inserting row by row. A multi-row
            # INSERT gives ascending rowids in VALUES order, so sorting the ids restores it.
            ids.extend(sorted(db.session.execute(sa.insert(table).returning(table.c.id), batch).scalars()))
        elif len(batch) < 100:  # one round trip for a few rows
            stmt = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
            ids.extend(db.session.execute(stmt, batch).scalars())
        else:
            # An INSERT ... RETURNING that keeps parameter order costs PostgreSQL several times
            # a plain COPY: take the ids from the sequence first instead.
            seq = db.session.execute(sa.select(sa.func.pg_get_serial_sequence(table.name, "id"))).scalar()
            new_ids = list(db.session.execute(
                sa.select(sa.func.nextval(seq)).select_from(sa.func.generate_series(1, len(batch)))).scalars())
            insert_rows(table, [{**row, "id": rid} for row, rid in zip(batch, new_ids, strict=True)])
            ids.extend(new_ids)
    return ids


def insert_records(ft: FormTables, items: list[tuple[dict, dict]]) -> list[int]:
    """Insert records given as (fields, system columns) pairs; return their ids in order.

    Multi-value and child rows of all the records are written in a few statements.
    """
    if not items:
        return []
    rows = [{**system, **column_values(ft, fields)} for fields, system in items]
    ids = insert_ids(ft.table, rows)
    for key, table in ft.values.items():
        vals = [{"record_id": rid, "value": _to_db(ft, key, v), "position": i}
                for rid, (fields, _s) in zip(ids, items, strict=True) for i, v in enumerate(fields.get(key) or [])]
        for batch in chunks(vals, 5000):
            insert_rows(table, batch)
    for key, child in ft.children.items():
        _insert_children(child, [(rid, fields.get(key) or []) for rid, (fields, _s) in zip(ids, items, strict=True)])
    return ids


def _returns(kind: str) -> bool:
    dialect = db.session.get_bind().dialect
    return bool(getattr(dialect, f"{kind}_returning", False))


def insert_record(ft: FormTables, fields: dict, system: dict) -> dict:
    """Insert one record and return it as `load_records` would: read back by the INSERT
    itself (RETURNING), unless the form keeps multi-value or child rows."""
    if ft.values or ft.children or not _returns("insert"):
        [rid] = insert_records(ft, [(fields, system)])
        return load_records(ft, [rid])[rid]
    row = db.session.execute(_insert_returning(ft.table), {**system, **column_values(ft, fields)}).mappings().one()
    return to_record(ft, row, {})


@functools.lru_cache(maxsize=256)
def _insert_returning(table: sa.Table) -> sa.Insert:
    """One statement per table: SQLAlchemy then reuses its cache key and compiled form."""
    return sa.insert(table).returning(*table.c)


def update_record_returning(ft: FormTables, rid: int, fields: dict, system: dict, expected_version: int) -> dict | None:
    """`update_record`, returning the record as it now is (None if it had moved on): read
    back by the UPDATE itself (RETURNING) unless the form keeps multi-value or child rows."""
    if ft.values or ft.children or not _returns("update"):
        if not update_record(ft, rid, fields, system, expected_version):
            return None
        return load_records(ft, [rid], include_deleted=True)[rid]
    values = {**system, **column_values(ft, fields), "version": expected_version + 1,
              "b_id": rid, "b_version": expected_version}
    row = db.session.execute(_update_returning(ft.table), values).mappings().first()
    return None if row is None else to_record(ft, row, {})


@functools.lru_cache(maxsize=256)
def _update_returning(table: sa.Table) -> sa.Update:
    """The columns to set come with the parameters (SQLAlchemy compiles once per set of them)."""
    return (sa.update(table).where(table.c.id == sa.bindparam("b_id"), table.c.version == sa.bindparam("b_version"))
            .returning(*table.c))


def write_related(ft: FormTables, rid: int, fields: dict, new: bool = False) -> None:
    """Write the multi-value and child rows of one record for the keys present in `fields`."""
    for key, table in ft.values.items():
        if key not in fields:
            continue
        if not new:
            db.session.execute(sa.delete(table).where(table.c.record_id == rid))
        vals = [{"record_id": rid, "value": _to_db(ft, key, v), "position": i} for i, v in enumerate(fields[key] or [])]
        if vals:
            db.session.execute(sa.insert(table), vals)
    for key, child in ft.children.items():
        if key not in fields:
            continue
        if not new:
            db.session.execute(sa.delete(child.table).where(child.table.c.parent_id == rid))
        _insert_children(child, [(rid, fields[key] or [])])


def _insert_children(child: FormTables, parents: list[tuple[int, list[dict]]]) -> None:
    rows = [{"parent_id": pid, "position": i, **column_values(child, row)}
            for pid, items in parents for i, row in enumerate(items)]
    for batch in chunks(rows, 2000):
        insert_rows(child.table, batch)


def update_record(ft: FormTables, rid: int, fields: dict, system: dict, expected_version: int) -> bool:
    """Write changed fields if the record is still at `expected_version`; False if it moved on."""
    t = ft.table
    stmt = (sa.update(t).where(t.c.id == rid, t.c.version == expected_version)
            .values(**system, **column_values(ft, fields), version=expected_version + 1))
    if db.session.execute(stmt).rowcount != 1:
        return False
    write_related(ft, rid, fields)
    return True


def load_records(ft: FormTables, ids: list[int], include_deleted: bool = False, where=None) -> dict[int, dict]:
    """Records by id (canonical values, system values apart), in the order of `ids`; with
    `where` (SQL on the form's table), only those it holds for."""
    if not ids:
        return {}
    t = ft.table
    rows = {}
    if isinstance(where, sa.sql.elements.True_):
        where = None  # every row the ids name: the statement kept for the table serves
    for batch in chunks(list(ids)):
        stmt = _select_by_ids(t, include_deleted)
        if where is not None:
            stmt = stmt.where(where)
        for row in db.session.execute(stmt, {"ids": batch}).mappings():
            rows[row["id"]] = row
    related = load_related(ft, list(rows))
    return {rid: to_record(ft, rows[rid], related.get(rid, {})) for rid in ids if rid in rows}


@functools.lru_cache(maxsize=512)
def live_ids(table: sa.Table) -> sa.Select:
    """The ids among `ids` (a parameter) of rows not in the recycle bin; one statement per table."""
    return sa.select(table.c.id).where(table.c.id.in_(sa.bindparam("ids", expanding=True)),
                                       table.c.deleted_at.is_(None))


@functools.lru_cache(maxsize=512)
def _select_by_ids(table: sa.Table, include_deleted: bool) -> sa.Select:
    stmt = sa.select(table).where(table.c.id.in_(sa.bindparam("ids", expanding=True)))
    return stmt if include_deleted else stmt.where(table.c.deleted_at.is_(None))


def load_related(ft: FormTables, ids: list[int]) -> dict[int, dict]:
    """{record id: {field key: list}} for multi-value fields and subforms."""
    out: dict[int, dict] = defaultdict(dict)
    if not ids:
        return out
    for key, table in ft.values.items():
        for rid in ids:
            out[rid][key] = []
        for batch in chunks(ids):
            stmt = sa.select(table.c.record_id, table.c.value).where(table.c.record_id.in_(batch)).order_by(
                table.c.record_id, table.c.position)
            for rid, value in db.session.execute(stmt):
                out[rid][key].append(_from_db(ft, key, value))
    for key, child in ft.children.items():
        for rid in ids:
            out[rid][key] = []
        for batch in chunks(ids):
            t = child.table
            stmt = sa.select(t).where(t.c.parent_id.in_(batch)).order_by(t.c.parent_id, t.c.position)
            for row in db.session.execute(stmt).mappings():
                out[row["parent_id"]][key].append(
                    {k: _from_db(child, k, row[c.name]) for k, c in child.columns.items()})
    return out


def to_record(ft: FormTables, row, related: dict) -> dict:
    fields = {}
    for key, f in ft.form.fields.items():
        if key in ft.columns:
            fields[key] = _from_db(ft, key, row[ft.columns[key].name])
        elif key in related:
            fields[key] = related[key]
        else:
            fields[key] = field_types.get(f["type"]).empty(f)
    return {
        "id": row["id"], "version": row["version"], "created_at": row["created_at"],
        "updated_at": row["updated_at"], "created_by": row["created_by"], "updated_by": row["updated_by"],
        "owner": row["owner_id"], "flow_status": row["flow_status"], "deleted_at": row["deleted_at"],
        "fields": fields,
    }


def flat_values(record: dict) -> dict:
    """Field values plus `$` system values: the shape conditions and formulas read."""
    return {**record["fields"], "$id": record.get("id"), "$created_at": record.get("created_at"),
            "$updated_at": record.get("updated_at"), "$created_by": record.get("created_by"),
            "$updated_by": record.get("updated_by"), "$owner": record.get("owner"),
            "$flow_status": record.get("flow_status")}


def _estimated_rows(conn, table: sa.Table) -> float:
    """The planner's last row count for `table` (0 when it has never been analysed)."""
    if conn.dialect.name == "postgresql":
        sql = "SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"
    else:
        sql = "SELECT CAST(stat AS INTEGER) FROM sqlite_stat1 WHERE tbl = :t LIMIT 1"
    try:
        return max(float(conn.execute(sa.text(sql), {"t": table.name}).scalar() or 0), 0.0)
    except sa.exc.OperationalError:  # SQLite before its first ANALYZE has no sqlite_stat1
        conn.rollback()
        return 0.0


ANALYZE_FROM = 1_000  # rows: a smaller table is planned well enough without statistics
# Rows of each index SQLite samples. A small sample caps the rows it thinks one value has (a
# sample of 1,000 said 1,001 deals per stage of 88,000), so a filter on a select field looked
# selective and lists sorted every match instead of walking the sort's index.
SQLITE_SAMPLE = 100_000


def refresh_statistics(ft: FormTables) -> None:
    """Analyse the form's tables for the query planner once they hold twice the rows it last
    counted (best effort, after a bulk load): loads add up, whatever their size, and a table
    is analysed as it doubles, so the cost stays in proportion to what was loaded."""
    bind = db.session.get_bind()
    try:
        with bind.connect() as conn:  # its own short transaction, after the load committed
            rows = conn.execute(sa.select(sa.func.max(ft.table.c.id))).scalar() or 0  # cheap: the key's end
            if rows < ANALYZE_FROM or rows < 2 * _estimated_rows(conn, ft.table):
                return
            if bind.dialect.name == "sqlite":
                conn.exec_driver_sql(f"PRAGMA analysis_limit={SQLITE_SAMPLE}")
            for table in ft.all_tables():
                conn.exec_driver_sql(f'ANALYZE "{table.name}"')
            if bind.dialect.name == "sqlite":
                conn.execute(epoch.STATISTICS_CHANGED)  # other connections still plan with the old ones
            conn.commit()
    except sa.exc.OperationalError:
        # A busy database: the planner keeps its older statistics until the next load.
        pass
