"""Template packs as data: each folder holds a definition and a sample-data generator."""
from __future__ import annotations

import json
from importlib import import_module, resources

TEMPLATES = {
    "sales_mini": {"name": "Sales (mini)", "name_zh": "销售（简版）", "module": "formloom.app_templates.sales_mini",
                   "description": "Companies, deals with stages and amounts, quotes with line items and totals.",
                   "description_zh": "客户、带阶段和金额的商机、含明细行和合计的报价单。"},
}


def available() -> dict:
    return TEMPLATES


def load_definition(key: str, language: str = "zh") -> dict:
    """The template's definition (a fresh copy), in `language` where it ships translations."""
    module = import_module(TEMPLATES[key]["module"])
    if hasattr(module, "definition"):
        return module.definition(language)
    text = resources.files(TEMPLATES[key]["module"]).joinpath("definition.json").read_text("utf-8")
    return json.loads(text)


def sample_data(key: str):
    """The template's generator: `generate(app_key, scale, seed) -> {form: [fields, ...]}`."""
    return import_module(TEMPLATES[key]["module"]).generate
