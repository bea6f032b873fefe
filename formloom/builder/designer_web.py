"""The builder's pages: a new app (blank or from a template) and the form designer.

The designer edits the app's draft in the browser through the API (`PUT /api/v1/apps/<app>/draft`
with `If-Match`), the same service the API's clients use; this module renders the page and
hands the script what it needs as JSON: the draft and its version, the field types with their
`config_schema`, the keys already published (they cannot change).
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.validators import Length, Optional, Regexp

from formloom.builder import apps, designer
from formloom.builder.web import admin_page, bp
from formloom.platform.auth import current_actor
from formloom.platform.exceptions import Conflict, FormloomError, NotFound, PermissionDenied
from formloom.platform.i18n import current_locale_name
from formloom.runtime.formulas.functions import FUNCTIONS
from formloom.runtime.web.fields.base import choices
from formloom.runtime.web.fields.palette import GROUPS, palette

KEY_HELP = _l("Lower-case letters, digits and _, starting with a letter; it is part of the app's address "
              "and cannot change later.")
DENIED = _l("Only the app's administrators can design it.")
# Icons an app may pick for its tile (Bootstrap Icons names).
ICONS = ["grid-1x2", "briefcase", "people", "person-vcard", "cart", "box-seam", "truck", "cash-coin", "receipt",
         "calendar-check", "clipboard-check", "journal-text", "building", "house", "tools", "mortarboard",
         "heart-pulse", "headset", "megaphone", "graph-up"]


LANGUAGES = {"zh": _l("Chinese"), "en": _l("English")}


class NewAppForm(FlaskForm):
    # From a template, an empty name keeps the template's and an empty key takes the next free one.
    name = StringField(_l("Name"), validators=[Length(max=200)])
    key = StringField(_l("Key"), description=KEY_HELP, validators=[
        Optional(), Regexp(r"^[a-z][a-z0-9_]{0,29}$", message=_l("Use lower-case letters, digits and _, "
                                                                 "starting with a letter, at most 30."))])
    language = SelectField(_l("Language of its labels"))
    template = HiddenField()
    sample_data = BooleanField(_l("Add sample records"), default=True)


def _prepare(form: NewAppForm, cards: list) -> designer.TemplateCard | None:
    """The card chosen (None for a blank app or an unknown template), the language choices it
    allows, and on a first visit the key it proposes and the reader's language."""
    card = next((c for c in cards if c.key == form.template.data), None)
    codes = card.languages if card else list(LANGUAGES)
    form.language.choices = choices([(code, LANGUAGES.get(code, code)) for code in codes])
    if request.method == "GET":
        reader = "en" if current_locale_name().startswith("en") else "zh"
        form.language.data = reader if reader in codes else codes[0]
        form.key.data = card.free_key if card else ""
    return card


@bp.route("/apps/new", methods=["GET", "POST"])
@login_required
def app_new():
    """A new app: blank, or from one of the installed template packs (`?template=crm` picks one)."""
    actor = current_actor()
    cards = designer.gallery(current_locale_name())
    form = NewAppForm()
    if request.method == "GET":
        form.template.data = request.args.get("template", "")
    card = _prepare(form, cards)
    errors = {}  # a template's card -> what stopped it
    status = 200
    if form.validate_on_submit() and _complete(form, card):
        template = form.template.data or None
        key = form.key.data or (card.free_key if card else "")
        try:
            if actor.read_only:
                raise PermissionDenied(_("This API token is read-only"))
            designer.new_app(actor, key, form.name.data or None, form.language.data, template,
                             bool(form.sample_data.data))
        except Conflict:
            form.key.errors = [_("An app with this key exists already; choose another key.")]
        except NotFound:
            form.template.errors = [_("This template is not installed.")]
        except PermissionDenied:
            raise
        except FormloomError as exc:
            if card:
                errors[card.key] = exc.message
            else:
                form.form_errors.append(exc.message)
        else:
            if card:
                flash(_("The app is installed with sample data.") if form.sample_data.data
                      else _("The app is installed."), "success")
                return redirect(url_for("web.app_home", app_key=key))
            flash(_("The app %(name)s was created. Add fields to its form, then publish.", name=form.name.data),
                  "success")
            return redirect(url_for("builder.designer_page", app_key=key))
        status = 422
    elif request.method == "POST":
        status = 422
    return render_template("builder/app_new.html", form=form, cards=cards, errors=errors,
                           chosen=form.template.data or ""), status


def _complete(form: NewAppForm, card) -> bool:
    """A blank app needs its name and key; a template supplies both when they are left empty."""
    if form.template.data and card is None:
        form.template.errors = [_("This template is not installed.")]
        return False
    if card is None:
        for field in (form.name, form.key):
            if not field.data:
                field.errors = [_("A blank app needs this.")]
    return not (form.name.errors or form.key.errors)


@bp.get("/templates")
@login_required
def template_gallery():
    """The old template gallery's address: templates are chosen on the new-app page now."""
    return redirect(url_for("builder.app_new"), 308)


def field_types(locale: str) -> list[dict]:
    """The palette as the script reads it: each type's name, icon, group, settings schema and
    capabilities (never a list of type names: the registry says what each can do)."""
    return [{"type": e.type, "label": e.label, "icon": e.icon, "group": e.group,
             # JSON keeps no key order (tojson sorts): the settings follow the schema's own order.
             "schema": {**e.field_type.config_schema, "x-order": list(e.field_type.config_schema.get("properties", {}))},
             "unique": e.field_type.can_be_unique, "kind": e.field_type.kind,
             "numbered": e.field_type.numbered, "computed": e.field_type.computed,
             "in_subform": e.field_type.in_subform, "options": e.field_type.has_options,
             "expression": e.field_type.has_expression, "rows": e.field_type.holds_rows,
             "refers_to_record": e.field_type.refers_to == "record"}
            for e in palette()]


def published_keys(page) -> dict[str, list[str]]:
    """The field keys of each published form (subform columns too): they name stored data, so
    the designer locks them."""
    def keys(fields):
        return [k for x in fields for k in [x["key"], *keys(x.get("fields") or [])]]

    return {f["key"]: keys(f.get("fields", [])) for f in page.runtime.raw.get("forms", [])}


@bp.get("/a/<app_key>/design")
@login_required
def designer_page(app_key):
    """The form designer: a palette, the form's fields, the chosen field's settings; autosaved."""
    page = admin_page(app_key, denied=DENIED)
    draft = apps.draft(page.actor, app_key)
    data = {
        "app": app_key, "version": apps.draft_version(page.actor, app_key), "draft": draft,
        "draftUrl": url_for("builder_api.get_draft", app_key=app_key),
        "types": field_types(page.locale), "groups": [[k, str(v)] for k, v in GROUPS.items()],
        "published": published_keys(page),
        "functions": {n: n + "(" + ", ".join(fn.params) + ")" for n, fn in sorted(FUNCTIONS.items())},
        "form": request.args.get("form", ""), "locale": page.locale,
        "errors": apps.draft_errors(page.actor, app_key), "icons": ICONS,
    }
    return render_template("builder/designer.html", page=page, data=data)
