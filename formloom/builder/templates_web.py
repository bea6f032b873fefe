"""The template gallery: the template packs as cards, each installed as a new app from a
short form (the app's key, its language, with or without sample data)."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import Optional, Regexp

from formloom.app_templates import listing
from formloom.builder.templates import install_template
from formloom.builder.web import bp
from formloom.platform.auth import current_actor
from formloom.platform.exceptions import FormloomError
from formloom.platform.extensions import db
from formloom.platform.models import App

LANGUAGE_NAMES = {"zh": "中文", "en": "English"}


class InstallForm(FlaskForm):
    key = StringField(_l("App key"), validators=[Optional(), Regexp(r"^[a-z][a-z0-9_]{0,29}$", message=_l(
        "Use lower-case letters, digits and _, starting with a letter, at most 30 characters."))])
    language = SelectField(_l("Language of the app"))
    sample_data = BooleanField(_l("With sample data"), default=True)


@dataclass
class Card:
    key: str
    name: str
    description: str
    form: InstallForm
    error: str = ""


def _free_key(key: str) -> str:
    """`key`, or `key_2`, `key_3`... : the first no app has."""
    taken = set(db.session.execute(sa.select(App.key).where(App.key.like(f"{key}%"))).scalars())
    n, candidate = 1, key
    while candidate in taken:
        n += 1
        candidate = f"{key}_{n}"
    return candidate


def _cards(failed: Card | None = None) -> list[Card]:
    locale = str(get_locale() or "zh")
    cards = []
    for t in listing(locale):
        if failed is not None and failed.key == t["key"]:
            cards.append(failed)
            continue
        form = InstallForm(prefix=t["key"], formdata=None)
        form.language.choices = [(code, LANGUAGE_NAMES.get(code, code)) for code in t["languages"]]
        form.language.data = "zh" if locale.startswith("zh") else "en"
        form.key.data = _free_key(t["key"])
        cards.append(Card(t["key"], t["name"], t["description"], form))
    return cards


@bp.get("/templates")
@login_required
def template_gallery():
    return render_template("builder/template_gallery.html", cards=_cards())


@bp.post("/templates/<key>/install")
@login_required
def template_install(key):
    """Install template `key` as a new app (its sample data too, when asked) and open it."""
    known = {t["key"]: t for t in listing(str(get_locale() or "zh"))}
    if key not in known:
        return render_template("builder/template_gallery.html", cards=_cards(),
                               error=_("There is no such template.")), 404
    form = InstallForm(prefix=key)
    form.language.choices = [(code, LANGUAGE_NAMES.get(code, code)) for code in known[key]["languages"]]
    card = Card(key, known[key]["name"], known[key]["description"], form)
    if form.validate_on_submit():
        try:
            result = install_template(key, current_actor(), sample_data=form.sample_data.data,
                                      app_key=form.key.data or _free_key(key), language=form.language.data)
        except FormloomError as exc:
            card.error = exc.message
        else:
            flash(_("The app is installed.") if not form.sample_data.data
                  else _("The app is installed with sample data."), "success")
            return redirect(url_for("web.app_home", app_key=result["app"]))
    return render_template("builder/template_gallery.html", cards=_cards(card)), 422
