"""Running one import: the file read in batches, each row converted (mapping.Converter),
checked (records.service.check_rows) and written (records.service.bulk_create / update).

Row numbers count data rows: 1 is the row under the header, so row n is the spreadsheet's
line `header_row + n` (blank rows are skipped but counted).
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import ImportRun, utcnow
from formloom.runtime.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from formloom.runtime.fields import FieldValueError, type_of
from formloom.runtime.imports import mapping, reading
from formloom.runtime.records import service
from formloom.runtime.records.context import value_context
from formloom.runtime.storage import store

BATCH = 2000  # rows a batch: one bulk create, one transaction (skip: short, so other writers wait little), one progress step
ERROR_COLUMN = "Import error"


class Cancelled(Exception):
    """Someone asked the import to stop."""


@dataclass
class Batch:
    """Consecutive data rows: `first` is the row number of rows[0]; blank rows are None."""

    first: int
    rows: list[list[str] | None]


@dataclass
class Item:
    """One non-blank row on its way in."""

    row: int
    cells: list[str]
    data: dict
    errors: list[dict] = field(default_factory=list)
    record_id: int | None = None  # the record it changes (update, upsert)


class Runner:
    def __init__(self, actor, runtime, row: ImportRun, path: Path, failed: Path, max_errors: int):
        self.actor, self.runtime, self.row, self.path, self.failed = actor, runtime, row, path, failed
        self.max_errors = max_errors
        self.options = row.options
        self.mode = self.options["mode"]
        self.key = self.options.get("key")
        self.form = runtime.form(row.form_key)
        self.errors: list[dict] = list(row.errors or [])
        self.seen: dict[str, dict] = {}  # unique field -> {value: first row}, across batches (check pass)

    # -- reading ----------------------------------------------------------------------------
    def _source(self) -> reading.Source:
        return reading.open_source(self.path, self.row.file_name, self.options.get("encoding"),
                                   self.options.get("sheet"))

    def _data_rows(self) -> Iterator[list[str] | None]:
        it = self._source().rows()
        for _ in range(self.options["header_row"] - 1):
            next(it, None)
        header = next(it, None)
        self.headers = reading.column_names(header or [])
        for cells in it:
            yield cells if any(c.strip() for c in cells) else None

    def _batches(self, skip: int = 0) -> Iterator[Batch]:
        rows, first, n = [], skip + 1, 0
        for n, cells in enumerate(self._data_rows(), start=1):
            if n <= skip:
                continue
            if n > (self.row.total or 0):
                break  # blank rows after the last one
            rows.append(cells)
            if len(rows) >= BATCH:
                yield Batch(first, rows)
                rows, first = [], n + 1
        if rows:
            yield Batch(first, rows)

    def _count(self) -> int:
        last = 0
        for n, cells in enumerate(self._data_rows(), start=1):
            if cells is not None:
                last = n
        return last

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> str:
        row = self.row
        self.headers = []
        next(self._data_rows(), None)  # reads the header (FileProblem for an unreadable file)
        self.columns = mapping.plan_columns(self.runtime, self.form, self.headers, self.options)
        self.by_key = {c.key: c for c in self.columns}
        if row.status == "queued" or row.total is None:
            total = self._count()
            self._update(status="running", total=total, started_at=utcnow(), done=0, created=0, updated=0,
                         failed_rows=0, errors=[])
            self.errors = []
            self._new_failed_file()
        stop = self.options["on_error"] == "stop"
        try:
            if row.dry_run or stop:
                if row.phase != "writing":
                    self._check_pass()
                    if row.dry_run or row.failed_rows:
                        status = "finished" if row.dry_run else "failed"
                        error = None if row.dry_run else (f"{row.failed_rows} rows cannot be imported; nothing was "
                                                          "written. Fix them (see the failed rows file) and import again")
                        written = {} if row.dry_run else {"created": 0, "updated": 0}  # dry run: would be
                        self._update(status=status, error=error, finished_at=utcnow(), phase=None, **written)
                        return status
                self._stop_write_pass()
            else:
                self._skip_write_pass()
        except Cancelled:
            db.session.rollback()
            self._update(status="cancelled", finished_at=utcnow(),
                         error="Cancelled; nothing was written" if stop else "Cancelled; the rows before it were written")
            return "cancelled"
        self._update(status="finished", finished_at=utcnow(), phase=None)
        return "finished"

    def _update(self, **values) -> None:
        with write_transaction():
            self._set(**values)

    def _set(self, **values) -> None:
        db.session.execute(sa.update(ImportRun).where(ImportRun.id == self.row.id).values(**values)
                           .execution_options(synchronize_session=False))
        db.session.expire(self.row)  # read again from the row when next asked

    def _cancel_asked(self) -> bool:
        return bool(db.session.execute(sa.select(ImportRun.cancel_asked).where(ImportRun.id == self.row.id)).scalar())

    # -- passes -----------------------------------------------------------------------------
    def _check_pass(self) -> None:
        """Every row converted and checked, nothing written: the errors, and what would be done."""
        self._update(phase="checking", done=0, created=0, updated=0, failed_rows=0, errors=[])
        self.errors = []
        self._new_failed_file()
        created = updated = failed = 0
        for batch in self._batches():
            if self._cancel_asked():
                raise Cancelled
            items = self._evaluate(batch)
            self._check(items)
            self._across_batches(items)
            bad = [it for it in items if it.errors]
            failed += len(bad)
            created += sum(1 for it in items if not it.errors and it.record_id is None)
            updated += sum(1 for it in items if not it.errors and it.record_id is not None)
            self._write_failed(bad)
            self._update(done=batch.first + len(batch.rows) - 1, created=created, updated=updated,
                         failed_rows=failed, errors=self.errors)

    def _stop_write_pass(self) -> None:
        """All rows in one transaction: a failure leaves nothing written."""
        self._update(phase="writing", done=0, created=0, updated=0)
        created = updated = 0
        with write_transaction():
            for batch in self._batches():
                if self._cancel_asked():
                    raise Cancelled
                items = self._evaluate(batch)
                bad = [it for it in items if it.errors]
                if bad:
                    raise ValidationFailed(f"Row {bad[0].row}: {bad[0].errors[0]['message']}; nothing was written")
                c, u = self._write(items, skip=False)
                created, updated = created + c, updated + u
                self._set(done=batch.first + len(batch.rows) - 1, created=created, updated=updated)

    def _skip_write_pass(self) -> None:
        """Batch by batch, each batch and the progress in one transaction; after a restart the
        rows already written are not read again."""
        self._update(phase="writing")
        for batch in self._batches(skip=self.row.done):
            if self._cancel_asked():
                raise Cancelled
            for attempt in (1, 2):
                try:
                    with write_transaction():
                        items = self._evaluate(batch)
                        c, u = self._write(items, skip=True)
                        bad = [it for it in items if it.errors]
                        for it in bad:
                            self._keep(it)
                        self._set(done=batch.first + len(batch.rows) - 1, created=ImportRun.created + c,
                                  updated=ImportRun.updated + u, failed_rows=ImportRun.failed_rows + len(bad),
                                  errors=self.errors)
                    self._write_failed(bad)
                    break
                except Conflict as exc:  # a unique value taken meanwhile: the batch once more
                    db.session.rollback()
                    self.errors = list(db.session.get(ImportRun, self.row.id).errors or [])
                    if attempt == 2:
                        items = self._evaluate(batch)
                        for it in items:
                            it.errors.append({"column": None, "field": None, "message": exc.message})
                            self._keep(it)
                        self._update(done=batch.first + len(batch.rows) - 1,
                                     failed_rows=ImportRun.failed_rows + len(items), errors=self.errors)
                        self._write_failed(items)
        db.session.expire(self.row)

    # -- one batch --------------------------------------------------------------------------
    def _evaluate(self, batch: Batch) -> list[Item]:
        ctx = value_context(self.actor, self.runtime)
        items = [Item(batch.first + i, cells, {}) for i, cells in enumerate(batch.rows) if cells is not None]
        width = len(self.headers)
        converted = mapping.Converter(self.actor, self.runtime, self.form, self.columns, ctx).convert(
            [it.cells for it in items])
        for it, (data, errors) in zip(items, converted, strict=True):
            it.data = data
            it.errors = errors
            if len(it.cells) > width:
                it.errors.append({"column": None, "field": None,
                                  "message": f"has {len(it.cells)} cells; the header names {width} columns"})
        if self.mode != "create":
            self._find_records(items, ctx)
        return items

    def _find_records(self, items: list[Item], ctx) -> None:
        key, f = self.key, self.form.fields[self.key]
        ft = self.runtime.form_tables(self.form.key)
        col = ft.columns[key]
        ftype = type_of(f)
        wanted: dict = {}
        for it in items:
            value = it.data.get(key)
            if it.errors or ftype.is_empty(value):
                if not it.errors:
                    it.errors.append({"column": self.by_key[key].name, "field": key,
                                      "message": "is empty; it must name the record to change"})
                continue
            try:
                db_value = store.column_values(ft, {key: ftype.to_python(f, value, ctx)})[col.name]
            except FieldValueError as exc:
                it.errors.append({"column": self.by_key[key].name, "field": key, "message": str(exc)})
                continue
            wanted.setdefault(db_value, []).append(it)
        found = {}
        for chunk in store.chunks(list(wanted), 500):
            stmt = sa.select(col, ft.table.c.id).where(col.in_(chunk), ft.table.c.deleted_at.is_(None))
            found.update(dict(db.session.execute(stmt).all()))
        for value, its in wanted.items():
            for it in its:
                if value in found:
                    it.record_id = found[value]
                    # a blank cell leaves the record's value as it is
                    it.data = {k: v for k, v in it.data.items() if not type_of(self.form.fields[k]).is_empty(v)}
                elif self.mode == "update":
                    it.errors.append({"column": self.by_key[key].name, "field": key,
                                      "message": f'matches no record of {self.form.display_name("en")}'})

    def _check(self, items: list[Item]) -> None:
        """The records service's checks for every row (a row with a bad cell too, without that
        cell, so that every problem of a row shows at once)."""
        rows = [it for it in items if self.mode != "update" or it.record_id is not None]
        sent = []
        for it in rows:
            bad = {e["field"] for e in it.errors}
            sent.append((it.record_id, {k: v for k, v in it.data.items() if k not in bad}))
        for e in service.check_rows(self.actor, self.runtime, self.form.key, sent,
                                    name=lambda i: f"row {rows[i].row} in this file"):
            it = rows[e["index"]]
            if e.get("field") is None or e["field"] not in {x["field"] for x in it.errors}:
                self._error(it, e)

    def _write(self, items: list[Item], skip: bool) -> tuple[int, int]:
        """Write the rows without errors; with `skip`, a row the service refuses gets the error."""
        creates = [it for it in items if not it.errors and it.record_id is None]
        created = 0
        while creates:
            try:
                ids = service.bulk_create(self.actor, self.runtime, self.form.key, [it.data for it in creates])
                created += len(ids)
                break
            except (ValidationFailed, PermissionDenied):
                if not skip:
                    raise
                errors = service.check_rows(self.actor, self.runtime, self.form.key, [(None, it.data) for it in creates],
                                            name=lambda i, sent=creates: f"row {sent[i].row} in this file")
                if not errors:
                    raise
                for e in errors:
                    self._error(creates[e["index"]], e)
                creates = [it for it in creates if not it.errors]
        updated = 0
        for it in items:
            if it.errors or it.record_id is None:
                continue
            try:
                service.update(self.actor, self.runtime, self.form.key, it.record_id, it.data)
                updated += 1
            except (ValidationFailed, PermissionDenied, NotFound) as exc:
                if not skip:
                    raise
                for e in exc.errors or [{"message": exc.message}]:
                    self._error(it, e)
        return created, updated

    def _across_batches(self, items: list[Item]) -> None:
        """A unique value that an earlier batch of the file already has (the check pass)."""
        for key, f in self.form.fields.items():
            if not f.get("unique") or key not in self.by_key:
                continue
            seen = self.seen.setdefault(key, {})
            mine: dict = {}
            for it in items:
                v = it.data.get(key)
                if it.errors or v in (None, "") or it.record_id is not None:
                    continue
                if v in seen:
                    self._error(it, {"field": key, "message": f"repeats the value of row {seen[v]} in this file"})
                mine.setdefault(v, it.row)
            for v, n in mine.items():
                seen.setdefault(v, n)

    def _error(self, it: Item, e: dict) -> None:
        key = e.get("field")
        column = self.by_key[key].name if key in self.by_key else None
        it.errors.append({"column": column, "field": key, "message": e.get("message", "")})

    def _keep(self, it: Item) -> None:
        for e in it.errors:
            if len(self.errors) >= self.max_errors:
                return
            self.errors.append({"row": it.row, **e})

    # -- the failed rows file ---------------------------------------------------------------
    def _new_failed_file(self) -> None:
        with open(self.failed, "w", encoding="utf-8-sig", newline="") as out:
            out.write(reading.write_csv_line([*self.headers, ERROR_COLUMN]))

    def _write_failed(self, items: list[Item]) -> None:
        if not items:
            return
        if not os.path.exists(self.failed):
            self._new_failed_file()
        with open(self.failed, "a", encoding="utf-8", newline="") as out:
            for it in items:
                if not any("row" in e for e in self.errors if e.get("row") == it.row):
                    self._keep(it)
                text = "; ".join(f"{e['column']}: {e['message']}" if e.get("column") else e["message"] for e in it.errors)
                cells = list(it.cells) + [""] * max(0, len(self.headers) - len(it.cells))
                out.write(reading.write_csv_line([*cells, f"row {it.row}: {text}"]))


