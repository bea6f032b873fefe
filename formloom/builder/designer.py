"""What the designer pages need beyond `apps.py`: new apps (blank or from a template pack)
and the template gallery. Drafts and publishing go through `apps.py` like the API's.

Raises what `apps.create_app` and `templates.install_template` raise.
"""
from __future__ import annotations

from dataclasses import dataclass

from formloom.app_templates import TEMPLATES, load_definition
from formloom.builder.apps import create_app
from formloom.builder.templates import install_template
from formloom.platform.actor import Actor
from formloom.platform.i18n import localized

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


def gallery(locale: str) -> list[TemplateCard]:
    """The installed template packs, with their forms' names, in the reader's language."""
    zh = not locale.startswith("en")
    cards = []
    for key, meta in TEMPLATES.items():
        definition = load_definition(key, "zh" if zh else "en")
        forms = [localized(f, "name", locale, f["key"]) for f in definition["forms"]]
        cards.append(TemplateCard(key, localized(meta, "name", locale), localized(meta, "description", locale),
                                  forms))
    return cards
