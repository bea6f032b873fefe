"""App administration page for lookups and rollups: each one in words, a rebuild per form, and
the background refreshes that keep them current, with their progress.

For the app's administrators; the work (and the permission check of a rebuild) is done in
`runtime/records/refreshes.py`. Times read in the app's time zone. The routes join the
builder's blueprint.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import login_required

from formloom.builder import web
from formloom.builder.automations_web import Moment, moment
from formloom.builder.web import bp, in_words
from formloom.platform.exceptions import FormloomError, NotFound, PermissionDenied
from formloom.platform.extensions import db
from formloom.platform.models import RelationRefresh, User
from formloom.runtime import conditions
from formloom.runtime.definition import FormDef
from formloom.runtime.records import refreshes, relations
from formloom.runtime.records.context import app_timezone
from formloom.runtime.web.common import Page

DENIED = _l("Only the app's administrators can see its lookups and rollups.")
STATUS_NAMES = {"queued": _l("Queued"), "running": _l("Running"), "done": _l("Done"), "failed": _l("Failed")}
STATUS_COLORS = {"queued": "secondary", "running": "info", "done": "success", "failed": "danger"}
AGG_NAMES = {"sum": _l("sum"), "avg": _l("average"), "min": _l("smallest"), "max": _l("largest")}
OP_WORDS = {"eq": _l("is"), "ne": _l("is not"), "gt": _l("is more than"), "gte": _l("is at least"),
            "lt": _l("is less than"), "lte": _l("is at most"), "before": _l("is before"), "after": _l("is after"),
            "between": _l("is between"), "in": _l("is one of"), "not_in": _l("is none of"),
            "contains": _l("contains"), "not_contains": _l("does not contain"), "starts_with": _l("starts with"),
            "ends_with": _l("ends with"), "has_any": _l("has any of"), "has_all": _l("has all of"),
            "is_empty": _l("is empty"), "is_not_empty": _l("is not empty")}
RECENT = 20


def admin_page(app_key: str) -> Page:
    return web.admin_page(app_key, DENIED)


# --- the fields in words --------------------------------------------------------------------

@dataclass
class Derived:
    """One lookup, rollup or formula: its name and what it holds, in words."""

    key: str
    label: str
    words: str
    kind: str  # lookup | rollup | formula


@dataclass
class FormRelations:
    form: FormDef
    name: str
    fields: list[Derived] = field(default_factory=list)


def _label(form: FormDef | None, key: str | None, locale: str) -> str:
    if form is None or not key:
        return key or ""
    if key.startswith("$"):
        return key
    return form.label(key, locale) if key in form.fields else key


def _value_words(value) -> str:
    if isinstance(value, dict):
        if "today" in value:
            days = value["today"]
            return _("today") if not days else _("today %(days)+d days", days=days)
        if "now" in value:
            return _("now") if value["now"] in ("PT0S", "P0D") else _("now %(offset)s", offset=value["now"])
        if "var" in value:
            return str(value["var"])
    if isinstance(value, list):
        return in_words([_value_words(v) for v in value])
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return "" if value is None else str(value)


def condition_words(form: FormDef | None, node, locale: str) -> str:
    """A condition in words ("Stage is won and Amount is more than 100"); field names when it
    holds something this does not know how to say."""
    if isinstance(node, dict):
        if "all" in node and isinstance(node["all"], list):
            parts = [condition_words(form, n, locale) for n in node["all"]]
            return _(" and ").join(parts)
        if "any" in node and isinstance(node["any"], list):
            parts = [condition_words(form, n, locale) for n in node["any"]]
            return "(" + _(" or ").join(parts) + ")" if len(parts) > 1 else "".join(parts)
        if "not" in node:
            return _("not (%(condition)s)", condition=condition_words(form, node["not"], locale))
        op = OP_WORDS.get(node.get("op"))
        if "field" in node and op is not None:
            name = _label(form, node["field"], locale)
            if node["op"] in ("is_empty", "is_not_empty"):
                return f"{name} {op}"
            return f"{name} {op} {_value_words(node.get('value'))}".strip()

    return _("a condition on %(fields)s",
             fields=in_words([_label(form, k, locale) for k in sorted(conditions.fields_used(node))]))


def lookup_words(runtime, dep: relations.Lookup, locale: str) -> str:
    form = runtime.definition.forms[dep.form]
    source = runtime.definition.forms.get(dep.source_form)
    return _("the %(field)s of the linked %(link)s", field=_label(source, dep.source, locale),
             link=_label(form, dep.link, locale))


def rollup_words(runtime, dep: relations.Rollup, locale: str) -> str:
    other = runtime.definition.forms.get(dep.other)
    others = other.display_name(locale) if other else dep.other
    if dep.agg == "count":
        words = _("number of %(form)s records linking here (by %(link)s)", form=others,
                  link=_label(other, dep.link, locale))
    else:
        words = _("%(agg)s of %(field)s of %(form)s records linking here (by %(link)s)",
                  agg=AGG_NAMES.get(dep.agg, dep.agg), field=_label(other, dep.field, locale), form=others,
                  link=_label(other, dep.link, locale))
    if dep.where:
        words = _("%(what)s, where %(condition)s", what=words, condition=condition_words(other, dep.where, locale))
    return words


def forms_with_relations(runtime, locale: str) -> list[FormRelations]:
    """Every form holding lookups, rollups or formulas, each of them in words."""
    deps = relations.index(runtime)
    out = []
    for form in runtime.definition.forms.values():
        item = FormRelations(form, form.display_name(locale))
        item.fields += [Derived(d.key, form.label(d.key, locale), lookup_words(runtime, d, locale), "lookup")
                        for d in deps.lookups.get(form.key, ())]
        item.fields += [Derived(d.key, form.label(d.key, locale), rollup_words(runtime, d, locale), "rollup")
                        for d in deps.rollups.get(form.key, ())]
        item.fields += [Derived(k, form.label(k, locale), form.fields[k].get("expr", ""), "formula")
                        for k, _parsed in form.formulas]
        if item.fields:
            out.append(item)
    return out


# --- the refreshes --------------------------------------------------------------------------

@dataclass
class RefreshView:
    data: dict  # refreshes.describe
    form_name: str
    cause: str
    status_name: str
    color: str
    started: Moment | None
    finished: Moment | None

    @property
    def working(self) -> bool:
        return self.data["status"] in ("queued", "running")


def cause_words(runtime, data: dict, users: dict[int, str], actor_id: int | None, locale: str) -> str:
    cause = data.get("cause") or {}
    kind = cause.get("kind")
    if kind == "source":
        source = runtime.definition.forms.get(cause.get("form", ""))
        name = source.display_name(locale) if source else cause.get("form", "")
        if not name:
            return _("A change to linked records")
        labels = ", ".join(source.label(k, locale) if k in source.fields else k for k in cause.get("fields") or ())
        if cause.get("record") and labels:
            return _("%(form)s #%(id)s changed: %(fields)s", form=name, id=cause["record"], fields=labels)
        if labels:
            return _("%(count)s %(form)s records changed: %(fields)s", count=cause.get("records", 0), form=name,
                     fields=labels)
        return _("A change to %(form)s's fields", form=name)
    if kind == "rebuild":
        who = users.get(actor_id) if actor_id else None
        return _("Rebuild asked by %(user)s", user=who) if who else _("Rebuild asked by the system")
    if kind == "publish":
        return _("Publish of version %(version)s", version=cause.get("version", "?"))
    if kind == "clock":
        return _("Daily pass for dates (%(slot)s)", slot=cause.get("slot", ""))
    return str(kind or "")


def refresh_views(page: Page, tz: str) -> list[RefreshView]:
    items = refreshes.recent(page.runtime.app_id, RECENT)
    ids = [d["id"] for d in items]
    rows = {r.id: r for r in db.session.execute(sa.select(
        RelationRefresh.id, RelationRefresh.actor_id, RelationRefresh.created_at, RelationRefresh.finished_at)
        .where(RelationRefresh.id.in_(ids))).all()} if ids else {}
    user_ids = {r.actor_id for r in rows.values() if r.actor_id}
    users = dict(db.session.execute(sa.select(User.id, User.name).where(User.id.in_(user_ids))).all()) \
        if user_ids else {}
    out = []
    for d in items:
        form = page.runtime.definition.forms.get(d["form"])
        row = rows[d["id"]]
        out.append(RefreshView(d, form.display_name(page.locale) if form else d["form"],
                               cause_words(page.runtime, d, users, row.actor_id, page.locale),
                               str(STATUS_NAMES.get(d["status"], d["status"])),
                               STATUS_COLORS.get(d["status"], "secondary"), moment(row.created_at, tz),
                               moment(row.finished_at, tz)))
    return out


# --- the routes -----------------------------------------------------------------------------

@bp.get("/a/<app_key>/relations")
@login_required
def relations_page(app_key):
    """The app's lookups, rollups and formulas in words, and its recent refreshes."""
    page = admin_page(app_key)
    tz = app_timezone(page.runtime)
    views = refresh_views(page, tz)
    return render_template("builder/relations.html", page=page, forms=forms_with_relations(page.runtime, page.locale),
                           refreshes=views, working=any(v.working for v in views), tz=tz)


@bp.post("/a/<app_key>/relations/<form_key>/rebuild")
@login_required
def relations_rebuild(app_key, form_key):
    page = admin_page(app_key)
    form = page.runtime.definition.forms.get(form_key)
    try:
        refresh = refreshes.rebuild(page.actor, page.runtime, form_key)
    except (NotFound, PermissionDenied):
        raise
    except FormloomError as exc:
        flash(exc.localized(), "error")
    else:
        flash(ngettext("Rebuilding the lookups, rollups and formulas of %(form)s: %(num)d record to go through. "
                       "Its progress shows below.",
                       "Rebuilding the lookups, rollups and formulas of %(form)s: %(num)d records to go through. "
                       "Its progress shows below.", refresh.total, form=form.display_name(page.locale)), "success")
    return redirect(url_for("builder.relations_page", app_key=app_key))


@bp.get("/a/<app_key>/relations/refreshes/<int:refresh_id>.json")
@login_required
def relations_refresh_json(app_key, refresh_id):
    page = admin_page(app_key)
    return jsonify(refreshes.get(page.runtime.app_id, refresh_id))
