"""The versions page (who published what, when), a diff in words, restoring a version through
the publish review, the app file (export) and importing one as a new app."""
from __future__ import annotations

import json
from datetime import UTC, datetime

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Regexp

from formloom.builder import recycle, transfer, versions
from formloom.builder.publish_web import losses, name_records, plan_lines
from formloom.builder.web import admin_page, bp
from formloom.platform.auth import current_actor
from formloom.platform.exceptions import (
    Conflict,
    DefinitionError,
    MigrationRefused,
    ValidationFailed,
)
from formloom.platform.inputs import parse_json

DENIED = _l("Only the app's administrators can see and restore its versions.")
PART_NAMES = {"views": _l("View"), "flows": _l("Approval flow"), "dashboards": _l("Dashboard"),
              "automations": _l("Automation"), "roles": _l("Role"), "permissions": _l("Permission")}
CHANGES = {"added": _l("%(part)s %(key)s added"), "removed": _l("%(part)s %(key)s removed"),
           "changed": _l("%(part)s %(key)s changed")}


@bp.get("/a/<app_key>/versions")
@login_required
def versions_page(app_key):
    page = admin_page(app_key, denied=DENIED)
    items = versions.list_versions(page.actor, app_key)
    for item in items:
        at = datetime.fromisoformat(item["published_at"].rstrip("Z")).replace(tzinfo=UTC)
        item["when"] = format_datetime(at, "medium")
    return render_template("builder/versions.html", page=page, items=items)


@bp.get("/a/<app_key>/versions/<int:number>/diff")
@login_required
def version_diff_page(app_key, number):
    page = admin_page(app_key, denied=DENIED)
    to = request.args.get("to", type=int) or page.runtime.version
    result = versions.diff(page.actor, app_key, number, to)
    old = versions.definition_of(page.actor, app_key, number)
    new = versions.definition_of(page.actor, app_key, to)
    lines = plan_lines(result["steps"], new, old, page.locale)
    lines += [{"text": CHANGES[p["change"]] % {"part": PART_NAMES[p["part"]], "key": p["key"]},
               "warn": p["change"] == "removed", "op": p["change"]} for p in result["parts"]]
    return render_template("builder/version_diff.html", page=page, number=number, to=to, lines=lines,
                           items=versions.list_versions(page.actor, app_key))


def _restore_review(page, number: int, refused=None, status: int = 200):
    result = versions.restore(page.actor, page.runtime.key, number, dry_run=True)
    definition = versions.definition_of(page.actor, page.runtime.key, number)
    refused = refused or result.get("refused")
    loss = losses(refused, definition, page.locale)
    name_records(page, loss)
    return render_template("builder/version_restore.html", page=page, number=number, result=result,
                           lines=plan_lines(result["plan"], definition, page.runtime.raw, page.locale),
                           loss=loss, refused=refused), status


@bp.get("/a/<app_key>/versions/<int:number>/restore")
@login_required
def version_restore_review(app_key, number):
    return _restore_review(admin_page(app_key, denied=DENIED), number)


@bp.post("/a/<app_key>/versions/<int:number>/restore")
@login_required
def version_restore(app_key, number):
    page = admin_page(app_key, denied=DENIED, write=True)
    try:
        result = versions.restore(page.actor, app_key, number, accept_loss=request.form.get("accept_loss") == "1")
    except MigrationRefused as exc:
        flash(_("Nothing was published: some values cannot be converted. Confirm the loss below, or fix "
                "those records first."), "danger")
        return _restore_review(page, number, {"detail": exc.message, "errors": exc.errors, **exc.extra}, 409)
    except (DefinitionError, Conflict) as exc:
        flash(exc.message, "danger")
        return redirect(url_for("builder.versions_page", app_key=app_key))
    flash(_("Version %(old)s is published again as version %(n)s.", old=number, n=result["version"]), "success")
    return redirect(url_for("builder.versions_page", app_key=app_key))


@bp.get("/a/<app_key>/export")
@login_required
def app_export(app_key):
    """The app file, to import in another Formloom (?data=1: with the records)."""
    page = admin_page(app_key, denied=DENIED)
    body = transfer.export_app(page.actor, app_key, with_records=request.args.get("data") == "1")
    return Response(json.dumps(body, ensure_ascii=False, indent=1, default=str), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{app_key}.formloom.json"'})


class ImportForm(FlaskForm):
    file = FileField(_l("App file"), description=_l("A .formloom.json file exported from a Formloom app."))
    key = StringField(_l("Key of the new app"), validators=[
        DataRequired(), Regexp(r"^[a-z][a-z0-9_]{0,29}$", message=_l("Use lower-case letters, digits and _, "
                                                                     "starting with a letter, at most 30."))])
    name = StringField(_l("Name"), description=_l("Leave empty to keep the file's name."), validators=[Length(max=200)])


@bp.route("/apps/import", methods=["GET", "POST"])
@login_required
def app_import():
    form = ImportForm()
    status = 200
    if form.validate_on_submit():
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                raise ValidationFailed(_("Choose the app file."))
            data = parse_json(upload.read())
            if not isinstance(data, dict):
                raise DefinitionError(_("This is not a Formloom app file."))
            transfer.import_app(current_actor(), data, key=form.key.data, name=form.name.data or None)
        except Conflict:
            form.key.errors = [_("An app with this key exists already; choose another key.")]
        except (DefinitionError, ValidationFailed) as exc:
            if exc.errors and exc.errors[0].get("pointer") == "/format":
                exc = DefinitionError(_("This is not a Formloom app file."))
            detail = "; ".join(f'{e.get("pointer") or e.get("field") or ""} {e.get("message", "")}'.strip()
                               for e in exc.errors[:5])
            form.file.errors = [exc.message + (f" ({detail})" if detail else "")]
        else:
            flash(_("The app was imported."), "success")
            return redirect(url_for("web.app_home", app_key=form.key.data))
        status = 422
    elif request.method == "POST":
        status = 422
    return render_template("builder/app_import.html", form=form), status


@bp.post("/a/<app_key>/delete")
@login_required
def app_delete(app_key):
    """Move the app to the bin; an organisation admin can restore it."""
    page = admin_page(app_key, denied=DENIED, write=True)
    name = page.app_name
    recycle.move_to_bin(page.actor, app_key)
    flash(_("%(name)s is in the bin. An organisation administrator can restore it.", name=name), "success")
    return redirect(url_for("web.index"))


@bp.get("/apps/bin")
@login_required
def app_bin():
    return render_template("builder/bin.html", items=recycle.in_bin(current_actor()))


@bp.post("/apps/bin/<int:app_id>/restore")
@login_required
def app_bin_restore(app_id):
    app = recycle.restore(current_actor(), app_id)
    flash(_("%(name)s is back.", name=app.name), "success")
    return redirect(url_for("web.app_home", app_key=app.key))
