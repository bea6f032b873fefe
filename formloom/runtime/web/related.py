"""Related lists on a record page: per form that links here, a count, the newest rows, and
links to see them all or add one already linked.

Each list costs one count and one page query, both through the records query service, so
the reader's row scope and hidden fields apply as on the other form's own list.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from flask import url_for
from flask_babel import gettext as _

from formloom.runtime import access
from formloom.runtime.definition import FormDef
from formloom.runtime.fields import type_of
from formloom.runtime.forms import entry_fields
from formloom.runtime.records import query
from formloom.runtime.web import listing
from formloom.runtime.web.common import Page, actor_form
from formloom.runtime.web.display import Cell, Display, count_label

MAX_LISTS = 10
ROWS = 5
COUNT_CAP = 1000
MORE_COLUMNS = 3  # besides the title


@dataclass
class Row:
    title: str
    url: str
    cells: list[Cell]


@dataclass
class RelatedList:
    form_key: str
    field: str
    title: str
    form_name: str
    count: str
    title_label: str  # the first column: the records' titles
    columns: list[listing.Column]  # the others
    rows: list[Row]
    view_all_url: str
    add_url: str | None


def referrers(page: Page) -> list[tuple[FormDef, str]]:
    """(form, link field) for each top-level link field pointing at the page's form, in form
    order; a subform's links are rows of its owner, not related lists."""
    out = []
    for other in page.runtime.definition.forms.values():
        if other.parent:
            continue
        out += [(other, key) for key, f in other.fields.items() if type_of(f).refers_to == "record" and f["form"] == page.form.key]
    return out


def _condition(form: FormDef, key: str, record_id: int) -> dict:
    if form.fields[key].get("multiple"):
        return {"field": key, "op": "has_any", "value": [record_id]}
    return {"field": key, "op": "eq", "value": record_id}


def _may_set(fa: access.FormAccess, key: str) -> bool:
    """Whether the new-record page lets the reader fill in the link (so a prefill holds)."""
    hidden = fa.hidden_when_adding()
    return fa.can("add") and key in entry_fields(actor_form(fa.form, hidden, fa.locked() - hidden))


@dataclass
class _Fetched:
    form: FormDef  # as the reader sees it
    key: str
    fa: access.FormAccess
    records: list[dict]
    count: tuple[int, bool]


def _columns(form: FormDef, key: str, locale: str) -> list[listing.Column]:
    """The title field, then up to MORE_COLUMNS other cells (never the link back here)."""
    cols = [c for c in listing.columns(form, set(), locale) if c.key != key]
    if cols and cols[0].key == form.title_field:
        return cols[:MORE_COLUMNS + 1]
    return cols[:MORE_COLUMNS]


def _fetch(page: Page, record_id: int) -> list[_Fetched]:
    """One count and one page query per list the reader may see, in form order."""
    out = []
    for other, key in referrers(page):
        fa = access.form_access(page.actor, page.runtime, other.key)
        hidden = fa.hidden()
        if not fa.can("view") or key in hidden:  # filtering by a hidden link is refused, rightly
            continue
        condition = _condition(other, key, record_id)
        records, _cursor = query.list_records(page.actor, page.runtime, other.key, condition=condition,
                                              sort="-$created_at", limit=ROWS)
        count = query.count_records(page.actor, page.runtime, other.key, condition, cap=COUNT_CAP)
        out.append(_Fetched(actor_form(other, hidden), key, fa, records, count))
        if len(out) == MAX_LISTS:
            break
    return out


def related_lists(page: Page, record: dict, display: Display) -> list[RelatedList]:
    """The record's related lists the reader may see (at most MAX_LISTS); `display` fetches
    the linked titles of all their rows at once."""
    fetched = _fetch(page, record["id"])
    links_here = Counter(other.key for other, _key in referrers(page))
    columns = [_columns(f.form, f.key, page.locale) for f in fetched]
    for f, cols in zip(fetched, columns, strict=True):
        display.want(f.form, [r["fields"] for r in f.records], keys=[c.key for c in cols])
    display.load()
    app_key = page.runtime.key
    here = url_for("web.record_detail", app_key=app_key, form_key=page.form.key, record_id=record["id"])
    out = []
    for f, cols in zip(fetched, columns, strict=True):
        name = f.form.display_name(page.locale)
        title = name
        if links_here[f.form.key] > 1:  # say which link: "Deal (Referred by)"
            title = _("%(form)s (%(field)s)", form=name, field=f.form.label(f.key, page.locale))
        has_title = bool(cols) and cols[0].key == f.form.title_field
        more = cols[1:] if has_title else cols
        rows = [Row(display.title(f.form, r),
                    url_for("web.record_detail", app_key=app_key, form_key=f.form.key, record_id=r["id"]),
                    [display.cell(f.form, c.key, r["fields"].get(c.key)) for c in more])
                for r in f.records]
        add = None
        if not record.get("deleted_at") and _may_set(f.fa, f.key):
            # `next`: once saved (or cancelled), back to this record.
            add = url_for("web.record_new", app_key=app_key, form_key=f.form.key,
                          **{f.key: record["id"], "next": here})
        out.append(RelatedList(
            f.form.key, f.key, title, name, count_label(*f.count), cols[0].label if has_title else "#", more, rows,
            url_for("web.record_list", app_key=app_key, form_key=f.form.key,
                    **{listing.FILTER + f.key: record["id"]}), add))
    return out
