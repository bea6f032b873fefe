"""What every view page shows the same way: totals as text, groups' labels, a record as a
card, and a refused write in the reader's words. Used by the table, kanban, calendar and
gallery pages (`viewpage.py`, `kanban.py`, `calendar.py`, `gallery.py`)."""
from __future__ import annotations

import json
from dataclasses import dataclass

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from formloom.runtime.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from formloom.runtime.forms.errors import sentence, translate
from formloom.runtime.views import query
from formloom.runtime.views.base import SYSTEM_KINDS
from formloom.runtime.web.display import Display
from formloom.runtime.web.fields import widget_for

AGG_LABELS = {"sum": lazy_gettext("Sum"), "avg": lazy_gettext("Average"), "min": lazy_gettext("Least"),
              "max": lazy_gettext("Greatest"), "count": lazy_gettext("Filled"), "empty": lazy_gettext("Empty")}


@dataclass
class Total:
    key: str
    label: str
    text: str


def totals(display: Display, form, wanted: dict[str, str], values: dict) -> list[Total]:
    """Each total as "Sum · Amount" and its value as the field shows numbers."""
    out = []
    for key, agg in wanted.items():
        value = values.get(key)
        if value is None:
            text = "—"
        elif agg in ("count", "empty"):
            text = f"{value:,}"
        else:
            shown = round(value, 2) if agg == "avg" and isinstance(value, float) else value
            if key in form.fields and isinstance(shown, (int, float)):
                f = form.fields[key]
                if f.get("display", "plain") == "plain":  # a sum runs long: its digits grouped
                    f = {**f, "display": "thousands"}
                shown = widget_for(f["type"]).cell(display, f, form.type_of(key), shown).text or str(shown)
            text = str(shown)
        out.append(Total(key, f"{AGG_LABELS[agg]} · {form.label(key, display.locale)}", text))
    return out


def group_labels(display: Display, form, field: str, bucketed: bool, values: list) -> dict:
    """How each group's value reads: an option's label, a user's or record's name, a bucket."""
    labels = {None: _("(empty)")}
    present = [v for v in values if v is not None]
    if bucketed:
        labels.update({v: str(v) for v in present})
    elif field in SYSTEM_KINDS:
        display.want_users(present)
        display.load()
        labels.update({v: display.user_name(v) for v in present})
    else:
        display.want(form, [{field: v} for v in present], keys=[field])
        display.load()
        for v in present:
            cell = display.cell(form, field, v)
            # An option reads as its label (a badge), a link as its record's title.
            labels[v] = cell.text or (cell.items[0][0] if cell.kind == "badges" and cell.items else
                                      cell.items[0]["title"] if cell.kind == "links" and cell.items else str(v))
    return labels


def group_arg(name: str = "group"):
    """A group's value from the query or the posted form (JSON, or plain text);
    `query.NO_GROUP` when absent."""
    raw = request.values.get(name)
    if raw is None or raw == "":
        return query.NO_GROUP
    try:
        return json.loads(raw)
    except ValueError:
        return raw


@dataclass
class Card:
    id: int
    version: int
    title: str
    url: str
    fields: list  # [(label, Cell)]


def card_keys(ov, form, exclude=()) -> list[str]:
    """The fields a card shows: the view's card fields, else its columns (the title and
    `exclude` left out), only those the reader sees."""
    keys = ov.view.options.get("card_fields") or ov.view.columns
    return [k for k in keys if k in form.fields and k not in ov.hidden and k != form.title_field and k not in exclude]


def cards(page, display: Display, form, records: list[dict], keys: list[str]) -> list[Card]:
    """Records as cards; `display.want` must have been given the records already."""
    return [Card(r["id"], r["version"], display.title(form, r), page.url("web.record_detail", record_id=r["id"]),
                 [(form.label(k, page.locale), display.cell(form, k, r["fields"].get(k))) for k in keys
                  if r["fields"].get(k) not in (None, "", [])])
            for r in records]


def refusal(form, locale: str, exc: Exception) -> tuple[int, str]:
    """(HTTP status, why in the reader's words) for a write the records service refused."""
    if isinstance(exc, Conflict):
        if exc.extra.get("reason") == "stale":
            return 409, _("Someone else changed this record meanwhile. Reload the page to see the latest version.")
        return 409, translate(exc.message)
    if isinstance(exc, ValidationFailed):
        parts = [sentence(form.label(e["field"], locale), e.get("message", "")) if e.get("field") in form.fields
                 else translate(e.get("message", "")) for e in exc.errors] or [translate(exc.message)]
        return 422, " ".join(parts)
    if isinstance(exc, PermissionDenied):
        return 403, translate(exc.message) or _("You may not change this record.")
    if isinstance(exc, NotFound):
        return 404, _("This record is no longer there.")
    raise exc
