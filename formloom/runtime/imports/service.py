"""The import service: one upload, its options checked at once, then a background job that
reads the file in batches (never all rows at once), converts and checks every row through the
records service, and writes through its bulk path (create) or its update (update, upsert).

- `"on_error": "stop"`: a first pass checks every row and writes nothing; when no row fails,
  a second pass writes all rows in one transaction, so a failure (a unique value taken
  meanwhile, a cancel) leaves nothing written.
- `"on_error": "skip"`: one pass; each batch is one transaction holding its good rows and
  the import's progress, so a job started again after its worker died goes on after the last
  batch, with no row twice and none lost.
- `"dry_run": true`: the first pass only.
"""
from __future__ import annotations

import secrets
from pathlib import Path

import sqlalchemy as sa

from formloom.platform import audit, jobs
from formloom.platform.actor import Actor
from formloom.platform.exceptions import FormloomError
from formloom.platform.extensions import db, write_transaction
from formloom.platform.files import files_dir
from formloom.platform.models import App, ImportRun, User, utcnow
from formloom.runtime import access
from formloom.runtime.exceptions import NotFound, ValidationFailed
from formloom.runtime.imports import mapping, reading
from formloom.runtime.imports import options as opts
from formloom.runtime.imports.batches import Runner

MAX_ERRORS = 1000  # kept on the import row; the failed rows file has them all
SCAN_ROWS = 2000  # rows the page's mapping step looks at for distinct select cells


def folder() -> Path:
    path = files_dir() / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_path(row: ImportRun) -> Path:
    return folder() / row.file_id


def failed_path(row: ImportRun) -> Path:
    return folder() / f"{row.id}.failed.csv"


def store_file(stream) -> tuple[str, int]:
    """Keep an upload under a generated name; (its id, its size)."""
    file_id = secrets.token_hex(16)
    size = 0
    with open(folder() / file_id, "wb") as out:
        while chunk := stream.read(1024 * 1024):
            size += len(chunk)
            out.write(chunk)
    return file_id, size


def require(actor: Actor, runtime, form_key: str, mode: str) -> access.FormAccess:
    """PermissionDenied unless the actor may import into the form in this mode: add (and
    import) to create, edit to update."""
    access.require_app(actor, runtime, write=True)
    fa = access.form_access(actor, runtime, form_key)
    if mode in ("create", "upsert"):
        fa.require("add")
        fa.require("import")
    if mode in ("update", "upsert"):
        fa.require("edit")
    return fa


def layout(runtime, form, path: Path, name: str, options: dict) -> dict:
    """How the file reads: its kind, encoding, sheets, header row, columns, the automatic
    mapping and the first rows (raises ValidationFailed for a file that cannot be read)."""
    source = reading.open_source(path, name, options.get("encoding"), options.get("sheet"))
    head = []
    for cells in source.rows():
        head.append(cells)
        if len(head) >= reading.HEADER_SCAN + reading.PREVIEW_ROWS:
            break
    at = reading.header_index(head, mapping.known_names(form), options.get("header_row"))
    headers = reading.column_names(head[at])
    if not headers:
        raise reading.FileProblem("has no column names in its header row")
    return {"kind": source.kind, "encoding": source.encoding, "sheets": source.sheets, "sheet": source.sheet,
            "header_row": at + 1, "headers": headers, "auto": mapping.auto_match(form, headers),
            "sample": head[at + 1:at + 1 + reading.PREVIEW_ROWS]}


def distinct_cells(path: Path, name: str, lay: dict, columns: list[mapping.Column], form) -> dict:
    """For each select column, the distinct cells of its first rows that name no option:
    what the page's per-value table offers to map."""
    from formloom.runtime.fields.select import find_option

    source = reading.open_source(path, name, lay.get("encoding"), lay.get("sheet"))
    wanted = [c for c in columns if form.type_of(c.key).has_options]
    out: dict[str, list[str]] = {c.key: [] for c in wanted}
    if not wanted:
        return out
    for n, cells in enumerate(source.rows()):
        if n < lay["header_row"]:
            continue
        if n > lay["header_row"] + SCAN_ROWS:
            break
        for c in wanted:
            text = cells[c.index].strip() if c.index < len(cells) else ""
            parts = [p.strip() for p in mapping.SPLIT.split(text) if p.strip()] \
                if form.fields[c.key].get("multiple") or form.type_of(c.key).storage_for(form.fields[c.key]) == "values" \
                else ([text] if text else [])
            for p in parts:
                if find_option(form.fields[c.key], p) is None and p not in out[c.key] and len(out[c.key]) < 50:
                    out[c.key].append(p)
    return out


def start(actor: Actor, runtime, form_key: str, stream, name: str, raw_options, file_id: str | None = None,
          size: int = 0) -> ImportRun:
    """Check the options against the file, keep the file, and queue the import job.

    `file_id` reuses a file an earlier import (the page's preview) kept. Raises
    ValidationFailed (options, mapping, file), PermissionDenied.
    """
    options = opts.clean(raw_options)
    form = runtime.form(form_key)
    require(actor, runtime, form_key, options["mode"])
    if file_id is None:
        file_id, size = store_file(stream)
    path = folder() / file_id
    try:
        lay = layout(runtime, form, path, name, options)
        columns = mapping.plan_columns(runtime, form, lay["headers"], options)
        _check_key(form, options, columns)
        if not columns:
            raise ValidationFailed("No column is mapped to a field", [{"field": "mapping", "message": "maps no column"}])
    except ValidationFailed:
        if stream is not None:
            path.unlink(missing_ok=True)
        raise
    options = {**options, "encoding": lay["encoding"], "sheet": lay["sheet"], "header_row": lay["header_row"],
               "mapping": {h: ({"field": c.key, "match": c.match} if c.match else c.key) if c else None
                           for h in lay["headers"] for c in [next((x for x in columns if x.name == h), None)]}}
    with write_transaction():
        row = ImportRun(app_id=runtime.app_id, form_key=form_key, created_by_id=actor.user_id, file_id=file_id,
                        file_name=(Path(name or "file").name or "file")[:255], file_size=size, options=options,
                        dry_run=options["dry_run"], status="queued", errors=[])
        db.session.add(row)
        db.session.flush()
        row.job_id = jobs.enqueue("imports.run", {"import": row.id}, app_id=runtime.app_id, max_attempts=3)
    return row


def stage(actor: Actor, runtime, form_key: str, stream, name: str, raw_options=None) -> ImportRun:
    """Keep an upload as a draft import (the page's mapping step): read, not queued."""
    options = opts.clean(raw_options)
    form = runtime.form(form_key)
    require(actor, runtime, form_key, options["mode"])
    file_id, size = store_file(stream)
    try:
        lay = layout(runtime, form, folder() / file_id, name, options)
    except ValidationFailed:
        (folder() / file_id).unlink(missing_ok=True)
        raise
    options = {**options, "encoding": lay["encoding"], "sheet": lay["sheet"], "header_row": lay["header_row"],
               "mapping": lay["auto"]}
    with write_transaction():
        row = ImportRun(app_id=runtime.app_id, form_key=form_key, created_by_id=actor.user_id, file_id=file_id,
                        file_name=(Path(name or "file").name or "file")[:255], file_size=size, options=options,
                        dry_run=False, status="draft", errors=[])
        db.session.add(row)
    return row


def restage(actor: Actor, runtime, draft: ImportRun, raw_options) -> dict:
    """Change a draft's options (the file read again when its encoding, sheet or header row
    changed: the mapping then starts over from the automatic one); its layout."""
    options = opts.clean(raw_options)
    require(actor, runtime, draft.form_key, options["mode"])
    form = runtime.form(draft.form_key)
    reread = False
    for k in ("encoding", "sheet", "header_row"):
        if options.get(k) in (None, ""):
            options[k] = draft.options.get(k)  # not said: as read before
        elif options[k] != draft.options.get(k):
            reread = True
    lay = layout(runtime, form, file_path(draft), draft.file_name, options)
    if reread:
        options["mapping"] = lay["auto"]
    with write_transaction():
        db.session.execute(sa.update(ImportRun).where(ImportRun.id == draft.id).values(options={
            **options, "encoding": lay["encoding"], "sheet": lay["sheet"], "header_row": lay["header_row"]}))
    db.session.expire(draft)
    return lay


def launch(actor: Actor, runtime, draft: ImportRun, raw_options) -> ImportRun:
    """Queue an import (or its dry run) of a draft's file with these options."""
    return start(actor, runtime, draft.form_key, None, draft.file_name, raw_options, file_id=draft.file_id,
                 size=draft.file_size)


def sample(actor: Actor, runtime, row: ImportRun, locale: str, n: int = reading.PREVIEW_ROWS) -> dict:
    """The first rows as they would be stored: {"columns": [Column], "rows": [(row number,
    [(cell, shown, error)])]} (the preview)."""
    from formloom.runtime.records.context import value_context

    form = runtime.form(row.form_key)
    lay = layout(runtime, form, file_path(row), row.file_name, row.options)
    try:
        columns = mapping.plan_columns(runtime, form, lay["headers"], row.options)
    except ValidationFailed:
        return {"columns": [], "rows": []}
    ctx = value_context(actor, runtime)
    cells = [r for r in lay["sample"] if any(c.strip() for c in r)][:n]
    out = []
    for i, (cells_of, (data, errors)) in enumerate(zip(cells, mapping.Converter(actor, runtime, form, columns, ctx)
                                                          .convert(cells), strict=True)):
        bad = {e["field"]: e["message"] for e in errors}
        shown = []
        for c in columns:
            text = cells_of[c.index] if c.index < len(cells_of) else ""
            ftype, f = form.type_of(c.key), form.fields[c.key]
            try:
                if c.key in bad:
                    value = ""
                elif ftype.refers_to and text.strip():
                    value = text.strip()  # the record, person or department it matched, as named
                else:
                    value = ftype.format(f, ftype.to_python(f, data.get(c.key), ctx), locale)
            except (ValueError, TypeError):
                value = ""
            shown.append((text, value, bad.get(c.key)))
        out.append((i + 1, shown))
    return {"columns": columns, "rows": out}


def _check_key(form, options: dict, columns: list[mapping.Column]) -> None:
    if options["mode"] == "create":
        return
    key = options["key"]
    f = form.fields.get(key)
    if f is None or not f.get("unique"):
        raise ValidationFailed(f'"key" must name a unique field of the form; "{key}" is not one',
                               [{"field": "key", "message": "is not a unique field"}])
    if not any(c.key == key for c in columns):
        raise ValidationFailed(f'No column is mapped to the key field "{key}"',
                               [{"field": "key", "message": "has no column"}])


def get(actor: Actor, import_id: int) -> ImportRun:
    """An import its maker (or an admin of its app) may read; NotFound otherwise."""
    row = db.session.get(ImportRun, import_id)
    if row is None or (actor.app_id is not None and actor.app_id != row.app_id):
        raise NotFound(f"No import {import_id}")
    if row.created_by_id != actor.user_id and not actor.is_admin:
        app = db.session.get(App, row.app_id)
        from formloom.runtime.apps import get_runtime

        try:
            if access.require_app(actor, get_runtime(app.key)) != "admin":
                raise NotFound(f"No import {import_id}")
        except FormloomError:
            raise NotFound(f"No import {import_id}") from None
    return row


def history(runtime, form_key: str, limit: int = 20) -> list[ImportRun]:
    return list(db.session.execute(sa.select(ImportRun).where(
        ImportRun.app_id == runtime.app_id, ImportRun.form_key == form_key)
        .order_by(ImportRun.id.desc()).limit(limit)).scalars())


def cancel(actor: Actor, import_id: int) -> ImportRun:
    row = get(actor, import_id)
    with write_transaction():
        db.session.execute(sa.update(ImportRun).where(ImportRun.id == row.id, ImportRun.status.in_(
            ("queued", "running"))).values(cancel_asked=True))
    db.session.refresh(row)
    return row


def status_json(row: ImportRun) -> dict:
    """The import as `GET /api/v1/imports/{id}` reads it."""
    elapsed = ((row.finished_at or utcnow()) - row.started_at).total_seconds() if row.started_at else None
    rate = round(row.done / elapsed, 1) if elapsed and row.done else None
    left = round((row.total - row.done) / rate) if rate and row.total and row.status == "running" else None
    return {"id": row.id, "status": row.status, "phase": row.phase, "dry_run": row.dry_run, "form": row.form_key,
            "file": row.file_name, "mode": row.options.get("mode"), "on_error": row.options.get("on_error"),
            "total": row.total, "done": row.done, "created": row.created, "updated": row.updated,
            "failed_rows": row.failed_rows, "errors": row.errors or [],
            "errors_truncated": row.failed_rows > 0 and len(row.errors or []) >= MAX_ERRORS,
            "error": row.error, "rate": rate, "seconds_left": left, "job": row.job_id,
            "created_at": row.created_at.isoformat() + "Z",
            "finished_at": row.finished_at.isoformat() + "Z" if row.finished_at else None}


# -- the job ----------------------------------------------------------------------------------
@jobs.handler("imports.run")
def run_job(payload: dict) -> dict:
    row = db.session.get(ImportRun, payload["import"])
    if row is None or row.status not in ("queued", "running"):
        return {"skipped": True}
    from formloom.runtime.apps import runtime_for

    app = db.session.get(App, row.app_id)
    user = db.session.get(User, row.created_by_id) if row.created_by_id else None
    if user is None or not user.active:
        _finish(row.id, "failed", error="The person who started the import is no longer active")
        return {"failed": True}
    actor = Actor.from_user(user)
    runtime = runtime_for(app.id, app.published_version)
    try:
        status = Runner(actor, runtime, row, file_path(row), failed_path(row), MAX_ERRORS).run()
    except FormloomError as exc:
        db.session.rollback()
        _finish(row.id, "failed", error=exc.message)
        return {"failed": True}
    except Exception as exc:
        db.session.rollback()
        _finish(row.id, "failed", error=f"The import stopped: {type(exc).__name__}: {exc}"[:2000])
        raise jobs.Fail(str(exc)) from exc
    row = db.session.get(ImportRun, payload["import"])
    with write_transaction():
        audit.record("import", actor, app_id=row.app_id, object_type="form", object_id=row.form_key,
                     label=runtime.form(row.form_key).name,
                     after={"import": row.id, "status": status, "created": row.created, "updated": row.updated,
                            "failed_rows": row.failed_rows, "dry_run": row.dry_run},
                     detail=f"{row.file_name}: {row.created} created, {row.updated} updated, "
                            f"{row.failed_rows} failed{' (dry run)' if row.dry_run else ''}")
    return {"status": status}


def _finish(import_id: int, status: str, error: str | None = None) -> None:
    with write_transaction():
        db.session.execute(sa.update(ImportRun).where(ImportRun.id == import_id).values(
            status=status, error=error, finished_at=utcnow()))


