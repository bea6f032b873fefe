"""The secrets an app definition holds, and how they are masked on read.

An automation's webhook URL often carries a secret in its path or query (a chat bot's
token, a signed endpoint), so it is stored whole but served masked to everyone: scheme,
host and port stay, the rest becomes "…" (`https://hooks.example.com/…`). App admins see
it whole only when they ask (`?reveal=secrets`), which is audited. A definition saved back
with a masked URL keeps the URL it masks, so GET definition -> PUT draft never loses it.
"""
from __future__ import annotations

import copy
from collections.abc import Iterator
from urllib.parse import urlsplit

from formloom.runtime.automations.model import action_types

MASK = "…"


def _calls_out(action: dict) -> bool:
    kind = action.get("type")
    return isinstance(kind, str) and kind in action_types and action_types.get(kind).calls_out


def webhook_actions(definition) -> Iterator[tuple[str, str | None, int, dict]]:
    """(pointer, automation key, action index, action) of each webhook action with a URL."""
    autos = definition.get("automations") if isinstance(definition, dict) else None
    for i, auto in enumerate(autos if isinstance(autos, list) else []):
        actions = auto.get("actions") if isinstance(auto, dict) else None
        for j, action in enumerate(actions if isinstance(actions, list) else []):
            if isinstance(action, dict) and _calls_out(action) and isinstance(action.get("url"), str):
                yield f"/automations/{i}/actions/{j}", auto.get("key"), j, action


def mask_url(url: str) -> str:
    """`url` with all but its scheme, host and port masked."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:
        return MASK
    if not parts.scheme or not host:
        return MASK
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}/{MASK}"


def is_masked(url) -> bool:
    return isinstance(url, str) and (url == MASK or url.endswith("/" + MASK))


def masked(definition):
    """A copy of the definition with every secret masked."""
    if not isinstance(definition, dict):
        return definition
    out = copy.deepcopy(definition)
    for _ptr, _key, _j, action in webhook_actions(out):
        action["url"] = mask_url(action["url"])
    return out


def keep_secrets(definition, *stored):
    """A copy of `definition` where each masked URL is the stored one it masks: the URL of
    the same action (automation key and place) in a stored definition, else the one stored
    URL anywhere with this mask. A masked URL matching none (or several) stays masked, for
    `masked_errors` to report."""
    if not isinstance(definition, dict):
        return definition
    places, by_mask = {}, {}
    for old in stored:
        for _ptr, key, j, action in webhook_actions(old):
            if not is_masked(action["url"]):
                places.setdefault((key, j), action["url"])
                by_mask.setdefault(mask_url(action["url"]), set()).add(action["url"])
    out = copy.deepcopy(definition)
    for _ptr, key, j, action in webhook_actions(out):
        url = action["url"]
        if not is_masked(url):
            continue
        same_place = places.get((key, j))
        if same_place is not None and mask_url(same_place) == url:
            action["url"] = same_place
        elif len(by_mask.get(url, ())) == 1:
            [action["url"]] = by_mask[url]
    return out


def masked_errors(definition) -> list[dict]:
    """A problem for each URL still masked: there is no stored URL it stands for."""
    return [{"pointer": ptr + "/url",
             "message": "is masked and matches no URL this app keeps: give the whole URL (app admins see "
                        "the stored ones with ?reveal=secrets)"}
            for ptr, _key, _j, action in webhook_actions(definition) if is_masked(action["url"])]
