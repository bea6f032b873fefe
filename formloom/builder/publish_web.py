"""Publishing from the browser: the draft's migration plan in words (a dry run of the same
`apps.publish` the API calls), the values a type change cannot convert, then publish."""
from __future__ import annotations

import copy

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from formloom.builder import apps
from formloom.builder.web import admin_page, bp
from formloom.platform.exceptions import Conflict, DefinitionError, MigrationRefused
from formloom.platform.i18n import localized
from formloom.runtime.fields import type_of
from formloom.runtime.records import query
from formloom.runtime.web.fields.palette import ENTRIES

DENIED = _l("Only the app's administrators can publish it.")
# One sentence per plan step; %(form)s and %(field)s are the names people gave them.
WORDS = {
    "create_form": _l("Adds the form %(form)s"),
    "hide_form": _l("Hides the form %(form)s; its records are kept"),
    "add_field": _l("Adds the field %(field)s to %(form)s"),
    "restore_field": _l("Brings back the field %(field)s of %(form)s with the data it had"),
    "change_type": _l("Changes %(field)s of %(form)s from %(from)s to %(to)s, converting every value"),
    "relabel": _l("Renames the field %(was)s of %(form)s to %(field)s"),
    "add_option": _l("Adds the option %(value)s to %(field)s of %(form)s"),
    "remove_option": _l("Removes the option %(value)s from %(field)s of %(form)s; records keep the value"),
    "add_unique": _l("Makes %(field)s of %(form)s unique"),
    "add_index": _l("Indexes %(field)s of %(form)s for faster filters"),
    "recompute": _l("Recomputes the formula %(field)s of %(form)s for every record"),
    "relate": _l("Computes %(field)s of %(form)s for every record from the records it relates to"),
    "require": _l("Requires %(field)s of %(form)s from now on; existing empty values stay until edited"),
    "hide_field": _l("Removes the field %(field)s from %(form)s; its data is kept and returns if the field "
                     "is added again"),
    "view_drop_field": _l("The view %(view)s no longer shows %(field)s, removed from %(form)s"),
}
# Steps whose records lose or may lose something: shown with a warning.
WARN = {"change_type", "hide_field", "hide_form", "remove_option"}


def names(definition: dict, locale: str) -> tuple[dict, dict]:
    """(form path -> name, (form path, field key) -> label) in the reader's language."""
    forms, fields = {}, {}

    def walk(path, name, items):
        forms[path] = name
        for f in items or []:
            if isinstance(f, dict) and isinstance(f.get("key"), str):
                fields[(path, f["key"])] = localized(f, "label", locale, f["key"])
                if isinstance(f.get("fields"), list):
                    walk(f"{path}.{f['key']}", fields[(path, f["key"])], f["fields"])

    for form in definition.get("forms") or []:
        if isinstance(form, dict) and isinstance(form.get("key"), str):
            walk(form["key"], localized(form, "name", locale, form["key"]),
                 form.get("fields"))
    return forms, fields


def pointer_words(pointer: str, definition: dict, locale: str) -> str:
    """A validator's pointer in the admin's words: "Deal › Region › options"."""
    node, out = definition, []
    for tok in (pointer or "").split("/")[1:]:
        nxt = node[int(tok)] if isinstance(node, list) and tok.isdigit() and int(tok) < len(node) else (
            node.get(tok) if isinstance(node, dict) else None)
        if isinstance(node, list) and isinstance(nxt, dict):
            out.append(localized(nxt, "name", locale) or localized(nxt, "label", locale)
                       or nxt.get("key") or str(int(tok) + 1))
        elif not isinstance(nxt, list) or tok == "options":
            out.append(tok.replace("_", " "))
        node = nxt
    return " › ".join(out) or _("App")


def type_name(type_key) -> str:
    entry = ENTRIES.get(type_key)
    return str(entry[0]) if entry else str(type_key)


def plan_lines(plan: list[dict], new: dict, old: dict, locale: str) -> list[dict]:
    """Each plan step as {text, warn, op}, naming forms and fields as the admin named them."""
    new_forms, new_fields = names(new, locale)
    old_forms, old_fields = names(old or {}, locale)
    lines = []
    for step in plan:
        if step["op"] == "recompute" and step.get("field") == "*":
            continue  # said by the formula steps themselves
        form = step.get("form", "")
        field = step.get("field", "")
        values = {"form": new_forms.get(form) or old_forms.get(form) or form,
                  "field": new_fields.get((form, field)) or old_fields.get((form, field)) or field,
                  "was": old_fields.get((form, field)) or field, "value": step.get("value", ""),
                  "view": step.get("view", ""), "from": type_name(step.get("from")), "to": type_name(step.get("to"))}
        words = WORDS.get(step["op"])
        text = words % values if words else step.get("summary") or step["op"]
        lines.append({"text": text, "warn": step["op"] in WARN, "op": step["op"]})
    return lines


def losses(refused: dict | None, new: dict, locale: str) -> list[dict]:
    """The values a publish cannot convert, each with its form, field and record."""
    if not refused:
        return []
    forms, fields = names(new, locale)
    return [{"form": forms.get(e.get("form"), e.get("form")), "field": fields.get((e.get("form"), e.get("field")),
                                                                                    e.get("field")),
             "record_id": e.get("record_id"), "form_key": e.get("form"), "value": e.get("value"),
             "message": e.get("message")} for e in refused.get("errors") or []]


def name_records(page, rows: list[dict]) -> None:
    """Give each row of the loss report its record's title (as published now), where it has one."""
    for form_key in {r["form_key"] for r in rows if isinstance(r["form_key"], str) and "." not in r["form_key"]}:
        if form_key not in page.runtime.definition.forms:
            continue
        form = page.runtime.form(form_key)
        title = form.fields.get(form.title_field) if form.title_field else None
        ids = [r["record_id"] for r in rows if r["form_key"] == form_key and isinstance(r["record_id"], int)]
        if title is None or not ids:
            continue
        records, _cursor = query.list_records(page.actor, page.runtime, form_key, limit=min(len(ids), query.MAX_LIMIT),
                                              condition={"field": "$id", "op": "in", "value": ids[:query.MAX_LIMIT]})
        named = {r["id"]: type_of(title).format(title, r["fields"].get(title["key"]), page.locale) for r in records}
        for row in rows:
            if row["form_key"] == form_key:
                row["title"] = named.get(row["record_id"], "")


def review(app_key: str, page, status: int = 200, refused: dict | None = None):
    """The publish page: the plan of a dry run, or what keeps the draft from publishing."""
    draft = apps.draft(page.actor, app_key) or {}
    try:
        result = apps.publish(page.actor, app_key, dry_run=True)
    except DefinitionError as exc:
        errors = [{**e, "where": pointer_words(e.get("pointer", ""), draft, page.locale)} for e in exc.errors]
        return render_template("builder/publish.html", page=page, errors=errors, lines=[], loss=[],
                               result=None, message=exc.message), 422
    refused = refused or result.get("refused")
    loss = losses(refused, draft, page.locale)
    name_records(page, loss)
    return render_template("builder/publish.html", page=page, errors=[], result=result, message=None,
                           lines=plan_lines(result["plan"], draft, page.runtime.raw, page.locale),
                           loss=loss, refused=refused), status


@bp.get("/a/<app_key>/publish")
@login_required
def publish_review(app_key):
    return review(app_key, admin_page(app_key, denied=DENIED))


@bp.post("/a/<app_key>/publish")
@login_required
def publish_apply(app_key):
    page = admin_page(app_key, denied=DENIED, write=True)
    accept = request.form.get("accept_loss") == "1"
    try:
        result = apps.publish(page.actor, app_key, accept_loss=accept)
    except MigrationRefused as exc:
        flash(_("Nothing was published: some values cannot be converted. Confirm the loss below, or fix "
                "those records first."), "danger")
        return review(app_key, page, 409, {"detail": exc.message, "errors": exc.errors, **exc.extra})
    except (DefinitionError, Conflict) as exc:
        flash(exc.message, "danger")
        return review(app_key, page, exc.status)
    flash(_("Version %(n)s is published: everyone now uses it.", n=result["version"]), "success")
    return redirect(url_for("web.app_home", app_key=app_key))


@bp.post("/a/<app_key>/draft/discard")
@login_required
def draft_discard(app_key):
    """Throw the draft away: it becomes the published version again."""
    page = admin_page(app_key, denied=DENIED, write=True)
    apps.save_draft(page.actor, app_key, copy.deepcopy(page.runtime.raw))
    flash(_("The draft was discarded: it is version %(n)s again.", n=page.runtime.version), "success")
    return redirect(url_for("builder.designer_page", app_key=app_key))
