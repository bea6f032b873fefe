"""Checking and compiling a definition's automations at publish."""
from __future__ import annotations

from formloom.runtime.automations.actions import check_action
from formloom.runtime.automations.model import Automation, CheckContext, Err
from formloom.runtime.automations.triggers import check_trigger
from formloom.runtime.definition import FormDef

MAX_ACTIONS = 20


def noting(problems: list, err: Err) -> Err:
    """`err` that also remembers each pointer in `problems`."""
    def note(pointer: str, message: str) -> None:
        problems.append(pointer)
        err(pointer, message)
    return note


def compile_automations(raw_list, forms: dict[str, FormDef], types, err: Err) -> dict[str, Automation]:
    """The definition's automations by key; each problem reported with its pointer."""
    out: dict[str, Automation] = {}
    seen: set = set()
    for i, raw in enumerate(raw_list if isinstance(raw_list, list) else []):
        ptr = f"/automations/{i}"
        if not isinstance(raw, dict) or not isinstance(raw.get("trigger"), dict):
            continue  # the meta-schema has said what is wrong with it
        problems: list = []
        note = noting(problems, err)
        ctx = CheckContext(forms, types, note)

        key = raw.get("key")
        if key in seen:
            note(ptr + "/key", f'automation key "{key}" is used twice')
        seen.add(key)
        if check_trigger(raw["trigger"], ptr + "/trigger", ctx):
            ctx = CheckContext(forms, types, note, source=raw["trigger"].get("form"))
            for j, action in enumerate(raw.get("actions") or []):
                if isinstance(action, dict):
                    check_action(action, f"{ptr}/actions/{j}", ctx)
        if not problems and isinstance(key, str):
            out[key] = Automation(index=i, key=key, name=raw.get("name") or key, name_en=raw.get("name_en", ""),
                                  enabled=raw.get("enabled", True), trigger=raw["trigger"],
                                  actions=tuple(raw.get("actions") or ()))
    return out
