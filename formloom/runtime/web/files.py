"""Downloading a file attached to a record, for someone who may see it there."""
from __future__ import annotations

from flask import request
from flask_login import login_required

from formloom.platform.extensions import db
from formloom.platform.files import send_stored
from formloom.platform.models import StoredFile
from formloom.runtime import access
from formloom.runtime.exceptions import NotFound
from formloom.runtime.web.blueprint import bp
from formloom.runtime.web.common import load


@bp.route("/a/<app_key>/files/<file_id>")
@login_required
def download(app_key, file_id):
    page = load(app_key)
    row = db.session.get(StoredFile, file_id)
    if row is None or not access.may_download(page.actor, page.runtime, row):
        raise NotFound("No such file in this app")
    return send_stored(row, inline=request.args.get("inline") == "1")
