"""An app as one file, and back: export its definition (and, if asked, its records), import
the file as a new app with a key of its own.

The file: {"format": "formloom-app", "format_version": 1, "app", "version", "definition",
"records": {form: [{"id": id in the exporting instance, "fields": {...}}]} (with data)}. Links
between the records are renumbered on import; computed values (formulas, serial numbers,
lookups, rollups) are computed again; files are not carried (their fields come back empty).
Webhook URLs are masked unless the export reveals them (an import needs them whole).

Raises NotFound, PermissionDenied, DefinitionError (the definition does not validate),
Conflict (the key is taken), ValidationFailed (a record the new app refuses: nothing is kept).
"""
from __future__ import annotations

from formloom.builder import apps
from formloom.platform import audit
from formloom.platform.actor import Actor
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import App
from formloom.runtime.apps import get_runtime
from formloom.runtime.exceptions import DefinitionError, PermissionDenied
from formloom.runtime.fields import type_of
from formloom.runtime.records import query, service

FORMAT = "formloom-app"
PAGE = 500


def export_app(actor: Actor, app_key: str, with_records: bool = False, reveal: bool = False) -> dict:
    """The published definition (webhook URLs masked as `apps.definition` masks them, unless
    `reveal`, which it audits), for app admins; the export itself is audited too."""
    app = apps.get_app(actor, app_key, admin=True)
    rt = get_runtime(app_key)
    definition = apps.definition(actor, app_key, reveal=reveal)
    out = {"format": FORMAT, "format_version": 1, "app": rt.key, "version": rt.version, "definition": definition}
    if with_records:
        out["records"] = {key: _records(actor, rt, key) for key in rt.definition.forms}
    with write_transaction():
        audit.record("export", actor, app_id=app.id, object_type="app", object_id=app.key, label=app.name,
                     detail=f"the app file of version {rt.version}" + (", with its records" if with_records else ""))
    return out


def _records(actor: Actor, rt, form_key: str) -> list[dict]:
    form = rt.form(form_key)
    keep = [k for k, f in form.fields.items() if _carried(f)]
    items, cursor = [], None
    while True:
        page, cursor = query.list_records(actor, rt, form_key, sort="$id", limit=PAGE, cursor=cursor)
        items += [{"id": r["id"], "fields": {k: r["fields"].get(k) for k in keep if k in r["fields"]}} for r in page]
        if cursor is None:
            return items


def _carried(field: dict) -> bool:
    """Whether a field's values travel in the file: typed ones, not computed ones or files."""
    ftype = type_of(field)
    return not (ftype.computed or ftype.reads_related or ftype.holds_files or ftype.numbered)


def import_app(actor: Actor, file: dict, key: str | None = None, name: str | None = None) -> dict:
    """A new app from an exported file (published as version 1), with its records if it has them."""
    if actor.read_only:
        raise PermissionDenied("This API token is read-only")
    definition = file.get("definition")
    if file.get("format") != FORMAT or not isinstance(definition, dict):
        raise DefinitionError("This is not a Formloom app file", [{"pointer": "/format",
                                                                  "message": f'must be "{FORMAT}"'}])
    definition = {**definition, **({"key": key} if key else {}), **({"name": name} if name else {})}
    result = apps.create_app(actor, definition)
    records = file.get("records") or {}
    counts = {}
    if records:
        rt = get_runtime(definition["key"])
        counts = _load_records(actor, rt, records)
    with write_transaction():
        app = db.session.query(App).filter_by(key=definition["key"]).one()
        audit.record("app_import", actor, app_id=app.id, object_type="app", object_id=app.key, label=app.name,
                     detail=f"from the file of app {file.get('app')} version {file.get('version')}",
                     after={"records": counts})
    return {**result, "records": counts}


def _order(rt, forms: list[str]) -> list[str]:
    """Forms whose records others link to first (a cycle keeps the definition's order)."""
    done: list[str] = []

    def visit(key, seen):
        if key in done or key in seen or key not in forms:
            return
        for f in rt.form(key).fields.values():
            if type_of(f).refers_to == "record" and f.get("form") != key:
                visit(f["form"], seen | {key})
        done.append(key)

    for key in forms:
        visit(key, frozenset())
    return done


def _load_records(actor: Actor, rt, records: dict) -> dict[str, int]:
    """Create each form's records, renumbering links to records created before them."""
    ids: dict[str, dict[int, int]] = {}
    counts = {}
    for form_key in _order(rt, [k for k in records if k in rt.definition.forms]):
        form = rt.form(form_key)
        links = {k: f for k, f in form.fields.items() if type_of(f).refers_to == "record"}
        rows = []
        for item in records[form_key]:
            values = {k: v for k, v in (item.get("fields") or {}).items() if k in form.fields and _carried(form.fields[k])}
            for k in values.keys() & form.children.keys():  # subform rows: their typed columns, no row ids
                columns = form.children[k].fields
                values[k] = [{c: v for c, v in row.items() if c in columns and _carried(columns[c])}
                             for row in values[k] or [] if isinstance(row, dict)]
            for k, f in links.items():
                if k in values:
                    values[k] = _renumber(values[k], ids.get(f["form"], {}))
            rows.append(values)
        new_ids: list[int] = []
        for start in range(0, len(rows), service.MAX_BULK):
            new_ids += service.bulk_create(actor, rt, form_key, rows[start:start + service.MAX_BULK])
        ids[form_key] = {item["id"]: new for item, new in zip(records[form_key], new_ids, strict=True)}
        counts[form_key] = len(new_ids)
    return counts


def _renumber(value, mapping: dict[int, int]):
    """A link value with the new ids (a link to a record not in the file is dropped)."""
    if isinstance(value, list):
        return [mapping[v] for v in value if v in mapping]
    return mapping.get(value) if value is not None else None
