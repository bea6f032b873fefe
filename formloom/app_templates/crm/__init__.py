"""The CRM template pack (../shared/CRM.md): one bilingual definition and its sample data.

The definition is data in four JSON files: `app.json` (views, flows, automations, roles,
grants), the forms in `forms_sales.json` and `forms_deals.json`, and `dashboards.json`. Every label is written
twice, `label`/`name` in Chinese and `label_en`/`name_en` in English; `definition(language)`
puts the chosen language first. Texts the runtime keeps in one language only (notification
titles and messages, descriptions) carry an `_en` twin here that `definition` resolves.
"""
from __future__ import annotations

import json
from importlib import resources

from formloom.app_templates.crm.sample import generate, people  # noqa: F401  (the pack's generator)

LANGUAGES = ("zh", "en")
# Texts with one slot in the runtime: "title" + "title_en" -> "title" in the chosen language.
SINGLE = ("title", "message", "description")
# Labels the runtime shows per reader: the chosen language goes in the first slot.
PAIRED = (("label", "label_en"), ("name", "name_en"))
# Dashboards show widget titles per reader too: "title" is paired there, not single.
DASHBOARD_SINGLE = ("message", "description")
DASHBOARD_PAIRED = PAIRED + (("title", "title_en"),)
# Grant shorthands of app.json -> (preset or actions, rows).
ALL_ACTIONS = ["view", "add", "edit", "delete", "import", "export", "print", "bulk_edit", "reassign"]
TEAM_ACTIONS = ["view", "add", "edit", "delete", "export", "print", "reassign"]
GRANTS = {
    "manage_own": ({"preset": "manage_own"}, None),
    "manage_team": ({"actions": TEAM_ACTIONS}, "team"),
    "manage_all": ({"actions": ALL_ACTIONS}, None),
    "view_own": ({"actions": ["view", "print"]}, "own"),
    "view_team": ({"actions": ["view", "export", "print"]}, "team"),
    "view_all": ({"actions": ["view", "export", "print"]}, None),
    "add_view_own": ({"actions": ["view", "add", "print"]}, "own"),
    "add_view_team": ({"actions": ["view", "add", "export", "print"]}, "team"),
}


def _read(name: str):
    return json.loads(resources.files(__name__).joinpath(name).read_text("utf-8"))


def source() -> dict:
    """The pack as written: both languages, grants in shorthand."""
    app = _read("app.json")
    app["forms"] = _read("forms_sales.json") + _read("forms_deals.json")
    app["dashboards"] = _read("dashboards.json")
    return app


def definition(language: str = "zh") -> dict:
    """The app definition with `language`'s labels first (zh or en; anything else is en)."""
    app = source()
    grants = app.pop("grants")
    app["permissions"] = [_grant(form, role, kind) for role, forms in grants.items() for form, kind in forms.items()]
    language = "zh" if language.startswith("zh") else "en"
    dashboards = _localise(app.pop("dashboards"), language, DASHBOARD_SINGLE, DASHBOARD_PAIRED)
    return {**_localise(app, language), "dashboards": dashboards}


def _grant(form: str, role: str, kind: str | dict) -> dict:
    """One shorthand -> a grant; `{"grant": kind, "hidden": [...]}` also hides fields from the role."""
    spec = kind if isinstance(kind, dict) else {"grant": kind}
    what, rows = GRANTS[spec["grant"]]
    grant = {"form": form, "to": {"role": role}, **what}
    if rows:
        grant["rows"] = rows
    if spec.get("hidden"):
        grant["fields"] = {"hidden": spec["hidden"]}
    return grant


def _localise(node, language: str, single=SINGLE, paired=PAIRED):
    if isinstance(node, list):
        return [_localise(x, language, single, paired) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _localise(v, language, single, paired) for k, v in node.items()}
    for key in single:
        twin = out.pop(key + "_en", None)
        if language == "en" and twin is not None:
            out[key] = twin
    if language == "en":
        for zh, en in paired:
            if out.get(en):
                out[zh] = out[en]
    return out
