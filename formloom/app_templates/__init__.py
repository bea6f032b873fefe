"""Template packs as data: each folder holds a definition and a sample-data generator."""
from __future__ import annotations

import json
from importlib import import_module, resources

TEMPLATES = {
    "crm": {"name": "客户关系管理", "name_en": "CRM", "module": "formloom.app_templates.crm", "languages": ["zh", "en"],
            "description": "销售目标、客户、线索与跟进、商机、报价与合同、订单与回款、售后服务。",
            "description_en": "Sales targets, customers, leads and follow-ups, opportunities, quotes and contracts, "
                              "orders and payments, after-sales service."},
    "sales_mini": {"name": "销售（简版）", "name_en": "Sales (mini)", "module": "formloom.app_templates.sales_mini",
                   "languages": ["zh", "en"], "description": "客户、带阶段和金额的商机、含明细行和合计的报价单。",
                   "description_en": "Companies, deals with stages and amounts, quotes with line items and totals."},
}


def available() -> dict:
    return TEMPLATES


def listing(locale: str = "zh") -> list[dict]:
    """The templates as `GET /api/v1/templates` gives them, named in `locale`, with their forms' keys."""
    en = locale.startswith("en")
    return [{"key": key, "name": meta["name_en"] if en else meta["name"],
             "description": meta["description_en"] if en else meta["description"], "languages": meta["languages"],
             "forms": [f["key"] for f in load_definition(key, "en" if en else "zh")["forms"]]}
            for key, meta in TEMPLATES.items()]


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
    """The template's generator: `generate(scale, seed[, language]) -> {form: [fields, ...]}`."""
    return import_module(TEMPLATES[key]["module"]).generate


def people(key: str, language: str = "zh") -> dict | None:
    """The template's demo organisation (departments and users with roles), if it ships one."""
    module = import_module(TEMPLATES[key]["module"])
    return module.people(language) if hasattr(module, "people") else None
