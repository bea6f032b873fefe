"""A gallery view's page: a card per record with its cover image (the view's image or file
field), its title and the view's card fields, a page at a time (keyset, as every list)."""
from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_babel import gettext as _

from formloom.runtime.exceptions import ValidationFailed
from formloom.runtime.views import query
from formloom.runtime.web.display import Display
from formloom.runtime.web.viewparts import card_keys, cards

PAGE_SIZE = 24


def _cover(display: Display, form, key: str | None, record: dict):
    """The first image of the cover field: (url, name), or None."""
    if not key:
        return None
    cell = display.cell(form, key, record["fields"].get(key))
    for item in cell.items if cell.kind == "files" else []:
        if item.get("image"):
            return item["url"] + "?inline=1", item["name"]
    return None


def gallery(page, ov):
    """The gallery page (`/a/<app>/v/<view>` of a gallery view)."""
    form = page.form
    cover = ov.view.options.get("cover")
    cover = cover if cover in form.fields and cover not in ov.hidden else None
    keys = card_keys(ov, form, exclude={cover})
    cursor = request.args.get("cursor") or None
    try:
        _ov, records, next_cursor = query.view_records(page.actor, page.runtime, ov.view.key, limit=PAGE_SIZE,
                                                       cursor=cursor)
    except ValidationFailed:
        flash(_("That sort order or page link is no longer valid; showing the first page."), "warning")
        cursor = None
        _ov, records, next_cursor = query.view_records(page.actor, page.runtime, ov.view.key, limit=PAGE_SIZE)
    display = Display(page)
    display.want(form, [r["fields"] for r in records], keys=keys + ([cover] if cover else []))
    display.load()
    shown = cards(page, display, form, records, keys)
    covers = [_cover(display, form, cover, r) for r in records]

    def link(**kw):
        return url_for("web.view_page", app_key=page.runtime.key, view_key=ov.view.key, **{k: v for k, v in kw.items() if v})

    return render_template("web/gallery.html", page=page, view=ov.view, view_label=ov.view.label(page.locale),
                           items=list(zip(shown, covers, strict=True)), has_cover=cover is not None,
                           next_url=link(cursor=next_cursor) if next_cursor else None,
                           first_url=link() if cursor else None)
