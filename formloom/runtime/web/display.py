"""Values as people read them: formatted cells, linked records' titles, users' names.

A page first says which records it will show (`want`), then `load` fetches the titles of
every linked record (one query per target form, through `query.list_records`, so the
actor's scope applies) and every user's and department's name (one query each), and then
`cell` formats each value without touching the database again.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _

from formloom.platform.extensions import db
from formloom.platform.models import Department, User
from formloom.runtime.definition import FormDef
from formloom.runtime.fields import field_types
from formloom.runtime.fields.datetime_ import to_local
from formloom.runtime.fields.lookup import LookupFieldType
from formloom.runtime.fields.select import option_label, options
from formloom.runtime.records import query
from formloom.runtime.records.context import app_timezone
from formloom.runtime.storage.store import chunks

PALETTE = ["#2563eb", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#475569", "#dc2626"]
REF_TYPES = ("link", "user", "department")


@dataclass
class Cell:
    """One formatted value. `kind` picks the markup: text, num, long, badges, links, files,
    bool, url, email, phone, or empty."""

    kind: str = "empty"
    text: str = ""
    items: list = dc_field(default_factory=list)  # badges: (label, colour); links/files: dicts
    href: str = ""


def ids_of(value: Any) -> list[int]:
    if value in (None, [], ""):
        return []
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, int)]


def shown_as(f: dict) -> dict:
    """The definition a value is shown through: for a lookup, its source field's (the copy
    compiling keeps under `lookup.TARGET`), so a lookup of a select shows the same badge, a
    lookup of a link the same linked title; any other field, itself."""
    for _depth in range(4):  # compiling resolves a lookup of a lookup already; never loop
        if f.get("type") != "lookup":
            break
        f = LookupFieldType.target(f)
    return f


def option_color(f: dict, value: str) -> str:
    """The option's own colour, else one from a fixed palette by its position."""
    for i, opt in enumerate(options(f)):
        if opt["value"] == value:
            return opt.get("color") or PALETTE[i % len(PALETTE)]
    return "secondary"


class Display:
    """Formats values for one page and one reader."""

    def __init__(self, page):
        self.page = page
        self.locale = page.locale
        self.tz = app_timezone(page.runtime)
        self.titles: dict[str, dict[int, str]] = defaultdict(dict)
        self.users: dict[int, str] = {}
        self.departments: dict[int, str] = {}
        self._links: dict[str, set[int]] = defaultdict(set)
        self._users: set[int] = set()
        self._departments: set[int] = set()

    # -- collecting ---------------------------------------------------------------
    def want(self, form: FormDef, values_list: list[dict], keys=None) -> None:
        """Remember the references inside these field values (of `keys`, or of every field)."""
        for values in values_list:
            for key in keys if keys is not None else form.fields:
                f = shown_as(form.fields[key])
                value = values.get(key)
                if f["type"] == "subform":
                    self.want(form.children[key], value or [])
                elif f["type"] == "link":
                    self._links[f["form"]].update(ids_of(value))
                elif f["type"] == "user":
                    self._users.update(ids_of(value))
                elif f["type"] == "department":
                    self._departments.update(ids_of(value))

    def want_record(self, form_key: str, record_id: int) -> None:
        """Remember one record whose title is wanted (shown only where the reader may see it)."""
        self._links[form_key].add(record_id)

    def want_users(self, ids) -> None:
        self._users.update(i for i in ids if isinstance(i, int))

    def load(self) -> None:
        """Fetch what `want` collected and is not known yet."""
        for target, ids in self._links.items():
            missing = sorted(ids - set(self.titles[target]))
            if missing and target in self.page.runtime.definition.forms:
                self.titles[target].update(self._titles(target, missing))
        self._links.clear()
        self._fetch_names(User, self._users, self.users)
        self._fetch_names(Department, self._departments, self.departments)

    def _titles(self, target: str, ids: list[int]) -> dict[int, str]:
        form = self.page.runtime.form(target)
        out = {}
        for batch in chunks(ids, query.MAX_LIMIT):
            records, _cursor = query.list_records(
                self.page.actor, self.page.runtime, target, limit=len(batch),
                condition={"field": "$id", "op": "in", "value": batch})
            out.update({r["id"]: self.title(form, r) for r in records})
        return out

    @staticmethod
    def _fetch_names(model, wanted: set[int], known: dict[int, str]) -> None:
        missing = sorted(wanted - set(known))
        for batch in chunks(missing):
            rows = db.session.execute(sa.select(model.id, model.name).where(model.id.in_(batch)))
            known.update({rid: name for rid, name in rows})
        wanted.clear()

    # -- formatting ---------------------------------------------------------------
    def title(self, form: FormDef, record: dict) -> str:
        """A record's title: its title field as people read it, or its number."""
        key = form.title_field
        if key and key in form.fields:
            text = self.cell(form, key, record["fields"].get(key)).text
            if text:
                return text
        return f"#{record['id']}"

    def user_name(self, user_id: int | None) -> str:
        if user_id is None:
            return _("System")
        return self.users.get(user_id) or _("User #%(id)s", id=user_id)

    def local_time(self, value) -> str:
        return to_local(value, self.tz).strftime("%Y-%m-%d %H:%M") if value else ""

    def cell(self, form: FormDef, key: str, value: Any) -> Cell:
        f = shown_as(form.fields[key])
        ftype = field_types.get(f["type"])
        if f["type"] not in ("boolean",) and ftype.is_empty(value):
            return Cell()
        kind = ftype.result_kind(f)
        if f["type"] in ("select", "multiselect"):
            values = value if isinstance(value, list) else [value]
            return Cell("badges", items=[(option_label(f, v, self.locale), option_color(f, v)) for v in values])
        if f["type"] in REF_TYPES:
            return self._ref_cell(f, value)
        if f["type"] in ("file", "image"):
            return self._file_cell(value)
        if f["type"] == "subform":
            return Cell("text", ftype.format(f, value, self.locale))
        if f["type"] == "boolean":
            return Cell("bool", ftype.format(f, value, self.locale)) if value is not None else Cell()
        if kind == "datetime":
            return Cell("text", self.local_time(value))
        text = ftype.format(f, value, self.locale)
        if kind == "number":
            return Cell("num", text)
        if f["type"] in ("email", "phone"):
            return Cell(f["type"], text, href=("mailto:" if f["type"] == "email" else "tel:") + text)
        if f["type"] == "url":
            # Only web addresses become links: never a javascript: URL, whatever got stored.
            safe = text.lower().startswith(("http://", "https://"))
            return Cell("url", text, href=text) if safe else Cell("text", text)
        if f["type"] == "textarea" or (f["type"] == "formula" and kind == "text" and len(text) > 80):
            return Cell("long", text)
        return Cell("text", text)

    def _ref_cell(self, f: dict, value: Any) -> Cell:
        ids = ids_of(value)
        if f["type"] == "user":
            return Cell("text", ", ".join(self.user_name(i) for i in ids))
        if f["type"] == "department":
            return Cell("text", ", ".join(self.departments.get(i) or f"#{i}" for i in ids))
        known = self.titles.get(f["form"], {})
        items = []
        for rid in ids:
            title = known.get(rid)
            url = url_for("web.record_detail", app_key=self.page.runtime.key, form_key=f["form"],
                          record_id=rid) if title else ""
            items.append({"title": title or f"#{rid}", "url": url})
        return Cell("links", items=items)

    def _file_cell(self, value: Any) -> Cell:
        items = []
        for meta in value or []:
            if not isinstance(meta, dict) or "id" not in meta:
                continue
            url = url_for("web.download", app_key=self.page.runtime.key, file_id=meta["id"])
            image = str(meta.get("content_type", "")).startswith("image/")
            items.append({"name": meta.get("name") or meta["id"], "url": url, "image": image,
                          "size": human_size(meta.get("size") or 0)})
        return Cell("files", items=items)


def count_label(n: int, more: bool) -> str:
    """A capped count as people read it: "1,234", or "10,000+" past the cap."""
    return f"{n:,}+" if more else f"{n:,}"


def human_size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"
