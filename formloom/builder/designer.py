"""What the designer pages need beyond `apps.py`: new apps (blank or from a template pack)
and the template gallery (its cards, the next free app key). Drafts and publishing go through `apps.py` like the API's.

Raises what `apps.create_app` and `templates.install_template` raise.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from formloom.app_templates import TEMPLATES, load_definition
from formloom.builder.apps import create_app
from formloom.builder.templates import install_template
from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.i18n import localized
from formloom.platform.models import App

# A blank app's first form: one text field to name its records (a form needs a field).
BLANK = {
    "zh": {"form": "表单 1", "field": "标题"},
    "en": {"form": "Form 1", "field": "Title"},
}


def blank_definition(key: str, name: str, language: str = "zh") -> dict:
    """A new app with one form and one text field, in `language` ("zh" or "en")."""
    words = BLANK["en" if language == "en" else "zh"]
    return {"key": key, "name": name, "forms": [{
        "key": "form_1", "name": words["form"], "title_field": "title",
        "fields": [{"key": "title", "type": "text", "label": words["field"], "required": True}]}]}


def new_app(actor: Actor, key: str, name: str, language: str = "zh", template: str | None = None,
            sample_data: bool = False) -> dict:
    """Create an app, blank or from template pack `template`, and publish it as version 1."""
    if template:
        return install_template(template, actor, sample_data=sample_data, app_key=key, name=name,
                                language=language)
    return create_app(actor, blank_definition(key, name, language))


@dataclass
class TemplateCard:
    key: str
    name: str
    description: str
    forms: list[str]
    languages: list[str]
    free_key: str  # the app key proposed when the card is chosen: the pack's, or the next free one


def free_key(key: str) -> str:
    """`key`, or `key_2`, `key_3`... : the first no app has (apps in the bin keep theirs)."""
    taken = set(db.session.execute(sa.select(App.key).where(App.key.like(f"{key}%"))).scalars())
    n, candidate = 1, key
    while candidate in taken:
        n += 1
        candidate = f"{key}_{n}"
    return candidate


def gallery(locale: str) -> list[TemplateCard]:
    """The installed template packs, with their forms' names and languages, in the reader's
    language, each with the app key it proposes."""
    zh = not locale.startswith("en")
    cards = []
    for key, meta in TEMPLATES.items():
        definition = load_definition(key, "zh" if zh else "en")
        forms = [localized(f, "name", locale, f["key"]) for f in definition["forms"]]
        cards.append(TemplateCard(key, localized(meta, "name", locale), localized(meta, "description", locale),
                                  forms, list(meta["languages"]), free_key(key)))
    return cards
