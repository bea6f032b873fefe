"""Installing a template pack: its definition as a new app, optionally with sample data."""
from __future__ import annotations

import inspect

import sqlalchemy as sa

from formloom.app_templates import TEMPLATES, load_definition, sample_data
from formloom.builder.apps import create_app
from formloom.platform.actor import Actor
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import App, OutboxEvent, utcnow
from formloom.runtime.apps import get_runtime
from formloom.runtime.exceptions import NotFound, ValidationFailed
from formloom.runtime.fields import type_of
from formloom.runtime.records import service

LANGUAGES = ("zh", "en")
MAX_SCALE = 100


def template_installed(app_key: str) -> bool:
    return db.session.execute(sa.select(App.id).where(App.key == app_key)).first() is not None


def install_template(key: str, actor: Actor, *, sample_data: bool = False, app_key: str | None = None,
                     name: str | None = None, language: str = "zh", scale: float = 1,
                     people: dict | None = None) -> dict:
    """Create an app from template `key` in `language`; with `sample_data`, fill it.

    `people` maps the sample data's person and department keys to ids (the demo
    organisation); without it every sample record belongs to `actor`.
    Raises NotFound, ValidationFailed.
    """
    if key not in TEMPLATES:
        raise NotFound(f'No template "{key}"; available: {", ".join(TEMPLATES)}')
    if language not in LANGUAGES:
        raise ValidationFailed(f'"language" must be one of {", ".join(LANGUAGES)}',
                               [{"field": "language", "message": f'must be one of {", ".join(LANGUAGES)}'}])
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0 < scale <= MAX_SCALE:
        raise ValidationFailed(f'"scale" must be a number above 0 and at most {MAX_SCALE}',
                               [{"field": "scale", "message": f"must be above 0 and at most {MAX_SCALE}"}])
    definition = load_definition(key, language)
    if app_key:
        definition["key"] = app_key
    if name:  # the name given is the app's name in every language
        definition["name"] = name
        definition.pop("name_en", None)
    result = create_app(actor, definition)
    if sample_data:
        result["sample_data"] = fill_sample_data(key, actor, definition["key"], scale, language, people)
    return result


def fill_sample_data(key: str, actor: Actor, app_key: str, scale: float = 1, language: str = "zh",
                     people: dict | None = None) -> dict[str, int]:
    """Insert the template's generated records, mapping positional links to real ids.

    A key "form:part" holds more records of `form`, loaded after its earlier parts (so data
    linkage in them sees those records); positions count across the parts in order.
    Sample records are history: records marked `"$flow_status"` are stored as having been
    through their approval, the others of a form with a flow as never submitted, and the
    load's events are marked delivered, so no automation or webhook acts on them.
    """
    runtime = get_runtime(app_key)
    generate = sample_data(key)
    wanted = inspect.signature(generate).parameters
    data = generate(scale=scale, **({"language": language} if "language" in wanted else {}))
    people = people or {}
    ids: dict[str, list[int]] = {}
    counts = {}
    since = db.session.execute(sa.select(sa.func.max(OutboxEvent.id))).scalar() or 0
    flowed = {f.form for f in runtime.definition.flows.values() if f.enabled}
    for part, rows in data.items():
        form_key = part.split(":")[0]  # "form:part": more records of a form, after its earlier parts
        form = runtime.form(form_key)
        refs = {k: (type_of(f).refers_to, f.get("form")) for k, f in form.fields.items() if type_of(f).refers_to}
        subrefs = {(sub, k): f["form"] for sub, child in form.children.items()
                   for k, f in child.fields.items() if type_of(f).refers_to == "record"}
        statuses = [row.pop("$flow_status", None) for row in rows]
        for row in rows:
            _map_row(row, refs, ids, people, actor)
            for (sub, column), target in subrefs.items():
                for line in row.get(sub) or []:
                    if isinstance(line.get(column), int):
                        line[column] = ids[target][line[column] - 1]
        new = []
        for start in range(0, len(rows), service.MAX_BULK):
            new += service.bulk_create(actor, runtime, form_key, rows[start:start + service.MAX_BULK],
                                       draft=form_key in flowed)
        if form_key in flowed:
            _settle_flow_status(runtime, form_key, new, statuses)
        ids[form_key] = ids.get(form_key, []) + new
        counts[form_key] = counts.get(form_key, 0) + len(rows)
    with write_transaction():
        db.session.execute(sa.update(OutboxEvent).where(OutboxEvent.id > since, OutboxEvent.app_id == runtime.app_id,
                                                        OutboxEvent.dispatched_at.is_(None))
                           .values(dispatched_at=utcnow()))
    return counts


def _map_row(row: dict, refs: dict, ids: dict, people: dict, actor: Actor) -> None:
    """Positions -> record ids; person and department keys -> ids (the actor, or none)."""
    for field_key, (kind, target) in refs.items():
        value = row.get(field_key)
        if kind == "record" and isinstance(value, int):
            row[field_key] = ids[target][value - 1]
        elif kind == "user" and isinstance(value, str):
            row[field_key] = people.get(value, actor.user_id)
        elif kind == "department" and isinstance(value, str):
            if value in people:
                row[field_key] = people[value]
            else:
                row.pop(field_key)


def _settle_flow_status(runtime, form_key: str, ids: list[int], statuses: list[str | None]) -> None:
    """Drafts loaded into a form with a flow: as approved history, or as never submitted."""
    table = runtime.form_tables(form_key).table
    with write_transaction():
        for status in set(statuses):
            chosen = [i for i, s in zip(ids, statuses, strict=True) if s == status]
            for start in range(0, len(chosen), 500):
                db.session.execute(sa.update(table).where(table.c.id.in_(chosen[start:start + 500]))
                                   .values(flow_status=status))
