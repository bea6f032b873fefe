"""Template packs as data: each folder holds a definition and a sample-data generator."""
from __future__ import annotations

import json
from importlib import import_module, resources

TEMPLATES = {
    "sales_mini": {"name": "Sales (mini)", "module": "formloom.app_templates.sales_mini"},
}


def available() -> dict:
    return TEMPLATES


def load_definition(key: str, language: str = "zh") -> dict:
    """The template's definition (a fresh copy). Templates ship both languages (`name`/`label`
    Chinese, `name_en`/`label_en` English), and each reader sees theirs; `language="en"`
    makes an English-only app instead (English in `name`/`label`, no second language)."""
    module = import_module(TEMPLATES[key]["module"])
    if hasattr(module, "definition"):
        return module.definition(language)
    text = resources.files(TEMPLATES[key]["module"]).joinpath("definition.json").read_text("utf-8")
    definition = json.loads(text)
    return _english_only(definition) if language.startswith("en") else definition


def _english_only(node):
    """`node` with each `name`/`label` replaced by its English twin, the twin dropped."""
    if isinstance(node, list):
        return [_english_only(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _english_only(v) for k, v in node.items()}
    for key in ("name", "label"):
        if out.get(f"{key}_en"):
            out[key] = out.pop(f"{key}_en")
    return out


def sample_data(key: str):
    """The template's generator: `generate(app_key, scale, seed) -> {form: [fields, ...]}`."""
    return import_module(TEMPLATES[key]["module"]).generate
