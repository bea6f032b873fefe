"""Values as people read them: formatted cells, linked records' titles, users' names.

A page first says which records it will show (`want`), then `load` fetches the titles of
every linked record (one query per target form, through `query.list_records`, so the
actor's scope applies) and every user's and department's name (one query each), and then
`cell` formats each value without touching the database again.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from babel.numbers import format_compact_decimal
from flask_babel import gettext as _
from flask_babel import ngettext

from formloom.platform.extensions import db
from formloom.platform.i18n import format_moment
from formloom.platform.models import Department, User
from formloom.runtime.definition import FormDef
from formloom.runtime.fields import field_types, type_of
from formloom.runtime.records import query
from formloom.runtime.records.context import app_timezone
from formloom.runtime.storage.store import chunks
from formloom.runtime.web.fields import widget_for
from formloom.runtime.web.fields.base import Cell, human_size, ids_of

__all__ = ["Cell", "Display", "count_label", "count_text", "human_size", "ids_of", "records_phrase",
           "shown_as"]

def shown_as(f: dict) -> dict:
    """The definition a value is shown through: for a lookup, its source field's (the copy
    compiling keeps under `lookup.TARGET`), so a lookup of a select shows the same badge, a
    lookup of a link the same linked title; any other field, itself."""
    for _depth in range(4):  # compiling resolves a lookup of a lookup already; never loop
        ftype = type_of(f)
        if not ftype.copies_linked_value:
            break
        f = ftype.target(f)
    return f


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
                ftype = field_types.get(f["type"])
                value = values.get(key)
                if ftype.holds_rows:
                    self.want(form.children[key], value or [])
                elif ftype.refers_to == "record":
                    self._links[f["form"]].update(ids_of(value))
                elif ftype.refers_to == "user":
                    self._users.update(ids_of(value))
                elif ftype.refers_to == "department":
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
        return format_moment(value, self.tz)

    def cell(self, form: FormDef, key: str, value: Any) -> Cell:
        """A value as a list cell, by its field type's widget (a lookup's by its source's)."""
        f = shown_as(form.fields[key])
        return widget_for(f["type"]).cell(self, f, field_types.get(f["type"]), value)

    def detail(self, form: FormDef, key: str, value: Any) -> Cell:
        """A value as the record page shows it, by its field type's widget."""
        f = shown_as(form.fields[key])
        return widget_for(f["type"]).detail(self, f, field_types.get(f["type"]), value)


def count_label(n: int, more: bool) -> str:
    """A capped count as people read it: "1,234", or "10,000+" past the cap."""
    return f"{n:,}+" if more else f"{n:,}"



def count_text(count, locale: str) -> str:
    """A `views.counts.Count` as people read it: "1,234", "10,000+" (no estimate past the
    threshold) or "about 1.2 million" (the database's estimate, said to be one)."""
    if count.exact:
        return f"{count.n:,}"
    if not count.estimated:
        return f"{count.n:,}+"
    return _("about %(num)s", num=format_compact_decimal(count.n, format_type="long", locale=locale,
                                                         fraction_digits=1))


def records_phrase(count, locale: str, matching: bool = False) -> str:
    """"1 record", "1,234 records", "10,000+ matching records", "about 1.2 million records":
    a `views.counts.Count` in words, singular or plural as the reader's language wants."""
    n, words = count.n + (not count.exact), count_text(count, locale)
    if matching:
        return ngettext("%(count)s matching record", "%(count)s matching records", n, count=words)
    return ngettext("%(count)s record", "%(count)s records", n, count=words)

