"""A record's revisions as a timeline people can read: who, when, field: old -> new."""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from flask_babel import gettext as _

from formloom.runtime.definition import FormDef
from formloom.runtime.fields import FieldValueError, ValueContext, field_types, type_of
from formloom.runtime.web.display import Cell, Display, shown_as

ACTIONS = {"created": "plus-circle", "updated": "pencil", "deleted": "trash", "restored": "arrow-counterclockwise"}


@dataclass
class Change:
    """One line of a revision: a field's old and new value, or a note (a row added)."""

    label: str
    old: Cell | None
    new: Cell | None
    note: str = ""


@dataclass
class Entry:
    action: str
    title: str
    icon: str
    who: str
    when: str
    version: int
    changes: list[Change] = dc_field(default_factory=list)


def canonical(f: dict, value: Any) -> Any:
    """A value as a revision stored it (JSON) back as the value the field type formats."""
    f = shown_as(f)  # a lookup's value is its source field's
    ftype = field_types.get(f["type"])
    if ftype.holds_files or ftype.holds_rows or value is None:
        return value
    ftype = ftype.delegate(f)  # a formula's or rollup's value is read as its result kind's
    try:
        return ftype.to_python(f, value, ValueContext(tz="UTC"))
    except (FieldValueError, TypeError, ValueError):
        return value


def _title(action: str, changes: dict) -> str:
    if action == "created":
        return _("imported the record") if changes.get("$bulk") else _("created the record")
    return {"updated": _("changed the record"), "deleted": _("moved the record to the recycle bin"),
            "restored": _("restored the record")}.get(action, action)


def _row_changes(child: FormDef, label: str, old: list, new: list, display: Display, locale: str) -> list[Change]:
    out = []
    for i in range(max(len(old), len(new))):
        where = _("%(table)s, row %(row)s", table=label, row=i + 1)
        if i >= len(old) or i >= len(new):
            out.append(Change(where, None, None, _("added") if i >= len(old) else _("removed")))
            continue
        for key in child.fields:
            a, b = old[i].get(key), new[i].get(key)
            if a != b:
                f = child.fields[key]
                out.append(Change(f"{where} · {child.label(key, locale)}",
                                  display.cell(child, key, canonical(f, a)), display.cell(child, key, canonical(f, b))))
    return out


def _changes(form: FormDef, changes: dict, display: Display, locale: str) -> list[Change]:
    out = []
    for key, pair in changes.items():
        if key not in form.fields or not isinstance(pair, list) or len(pair) != 2:
            continue
        f = form.fields[key]
        label = form.label(key, locale)
        if type_of(f).holds_rows:
            out += _row_changes(form.children[key], label, pair[0] or [], pair[1] or [], display, locale)
        else:
            out.append(Change(label, display.cell(form, key, canonical(f, pair[0])),
                              display.cell(form, key, canonical(f, pair[1]))))
    return out


def _values(form: FormDef, revisions) -> list[dict]:
    """Every old and new value in the revisions, as field values, to collect references."""
    values = []
    for rev in revisions:
        if rev.action != "updated":
            continue
        for side in (0, 1):
            row = {}
            for k, pair in (rev.changes or {}).items():
                if k in form.fields and isinstance(pair, list) and len(pair) == 2:
                    row[k] = canonical(form.fields[k], pair[side])
            values.append(row)
    return values


def timeline(form: FormDef, revisions, display: Display) -> list[Entry]:
    """Entries for the page, newest first; only changes get their field-by-field lines."""
    display.want(form, _values(form, revisions))
    display.want_users(rev.actor_id for rev in revisions)
    causes = {rev.id: _relation_cause(rev.caused_by, display) for rev in revisions}
    display.load()
    entries = []
    for rev in revisions:
        changes = _changes(form, rev.changes or {}, display, display.locale) if rev.action == "updated" else []
        title = _title(rev.action, rev.changes or {})
        if causes[rev.id] and rev.action == "updated":
            title = _because(*causes[rev.id], display)
        entries.append(Entry(rev.action, title, ACTIONS.get(rev.action, "dot"),
                             display.user_name(rev.actor_id), display.local_time(rev.at), rev.version, changes))
    return entries


def _relation_cause(caused_by: str | None, display: Display) -> tuple[str, int | None] | None:
    """(form, record id or None) of a lookup or rollup update ("relate:<form>[:<id>]"); its
    record's title is asked for, shown only to those who may see it."""
    if not caused_by or not caused_by.startswith("relate:"):
        return None
    form_key, _sep, rid = caused_by[len("relate:"):].partition(":")
    if form_key not in display.page.runtime.definition.forms:
        return None
    if rid.isdigit():
        display.want_record(form_key, int(rid))
        return form_key, int(rid)
    return form_key, None


def _because(form_key: str, record_id: int | None, display: Display) -> str:
    form_name = display.page.runtime.form(form_key).display_name(display.locale)
    title = display.titles.get(form_key, {}).get(record_id) if record_id else None
    if title:
        return _("brought lookups and totals up to date after %(form)s “%(title)s” changed",
                 form=form_name, title=title)
    if record_id:
        return _("brought lookups and totals up to date after a %(form)s record changed", form=form_name)
    return _("brought lookups and totals up to date after %(form)s records changed", form=form_name)
