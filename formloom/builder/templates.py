"""Installing a template pack: its definition as a new app, optionally with sample data."""
from __future__ import annotations

import sqlalchemy as sa

from formloom.app_templates import TEMPLATES, load_definition, sample_data
from formloom.builder.apps import create_app
from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import App
from formloom.runtime.apps import get_runtime
from formloom.runtime.exceptions import NotFound
from formloom.runtime.fields import type_of
from formloom.runtime.records import service


def template_installed(app_key: str) -> bool:
    return db.session.execute(sa.select(App.id).where(App.key == app_key)).first() is not None


def install_template(key: str, actor: Actor, *, sample_data: bool = False, app_key: str | None = None,
                     name: str | None = None, language: str = "zh", scale: int = 1) -> dict:
    """Create an app from template `key`; with `sample_data`, fill it. Raises NotFound."""
    if key not in TEMPLATES:
        raise NotFound(f'No template "{key}"; available: {", ".join(TEMPLATES)}')
    definition = load_definition(key, language)
    if app_key:
        definition["key"] = app_key
    if name:  # the name given is the app's name in every language
        definition["name"] = name
        definition.pop("name_en", None)
    result = create_app(actor, definition)
    if sample_data:
        fill_sample_data(key, actor, definition["key"], scale)
    return result


def fill_sample_data(key: str, actor: Actor, app_key: str, scale: int = 1) -> dict[str, int]:
    """Insert the template's generated records, mapping positional links to real ids."""
    runtime = get_runtime(app_key)
    data = sample_data(key)(scale=scale)
    ids: dict[str, list[int]] = {}
    counts = {}
    for form_key, rows in data.items():
        form = runtime.form(form_key)
        links = {k: f["form"] for k, f in form.fields.items() if type_of(f).refers_to == "record"}
        for row in rows:
            for field_key, target in links.items():
                if isinstance(row.get(field_key), int):
                    row[field_key] = ids[target][row[field_key] - 1]
        ids[form_key] = []
        for start in range(0, len(rows), service.MAX_BULK):
            ids[form_key] += service.bulk_create(actor, runtime, form_key, rows[start:start + service.MAX_BULK])
        counts[form_key] = len(rows)
    return counts
