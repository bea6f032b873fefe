"""The options of an import, checked: what the API's "options" JSON and the page's form say."""
from __future__ import annotations

from formloom.runtime.exceptions import ValidationFailed

MODES = ("create", "update", "upsert")
ON_ERROR = ("stop", "skip")
KNOWN = {"mapping", "values", "mode", "key", "on_error", "dry_run", "encoding", "sheet", "header_row"}


def _bad(name: str, message: str):
    raise ValidationFailed(f'"{name}" {message}', [{"field": name, "message": message}])


def clean(options) -> dict:
    """The options with their defaults; ValidationFailed naming the first bad one."""
    if options is None:
        options = {}
    if not isinstance(options, dict):
        _bad("options", "must be a JSON object")
    unknown = sorted(set(options) - KNOWN)
    if unknown:
        _bad(unknown[0], f"is not an option; the options are {', '.join(sorted(KNOWN))}")
    out = dict(options)
    out.setdefault("mode", "create")
    out.setdefault("on_error", "stop")
    out.setdefault("dry_run", False)
    if out["mode"] not in MODES:
        _bad("mode", f"must be one of {', '.join(MODES)}")
    if out["on_error"] not in ON_ERROR:
        _bad("on_error", f"must be one of {', '.join(ON_ERROR)}")
    if not isinstance(out["dry_run"], bool):
        _bad("dry_run", "must be true or false")
    if out["mode"] != "create" and not isinstance(out.get("key"), str):
        _bad("key", f'must name the unique field that finds the record to {out["mode"]}')
    for name in ("encoding", "sheet"):
        if out.get(name) is not None and not isinstance(out[name], str):
            _bad(name, "must be text")
    hr = out.get("header_row")
    if hr is not None and (isinstance(hr, bool) or not isinstance(hr, int) or not 1 <= hr <= 1000):
        _bad("header_row", "must be a row number from 1 to 1000")
    return out
