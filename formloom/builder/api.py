"""App routes of the API: create (also from a template), definition, draft, publish, members."""
from __future__ import annotations

from flask import Flask, jsonify, request
from flask_babel import get_locale

from formloom.app_templates import listing
from formloom.builder import apps
from formloom.builder.templates import install_template
from formloom.platform.api import actor, api_blueprint, if_match, json_body, with_etag
from formloom.platform.credentials import narrowed_to_token_app
from formloom.platform.extensions import csrf
from formloom.platform.inputs import is_id
from formloom.runtime.exceptions import ValidationFailed

bp = api_blueprint("builder_api")


def init_app(app: Flask) -> None:

    csrf.exempt(bp)  # cookie sessions are checked for the CSRF header in `authenticate`
    app.register_blueprint(bp)


@bp.get("/apps")
@narrowed_to_token_app
def list_apps():
    return jsonify({"items": [{"key": a.key, "name": a.name, "version": a.published_version}
                              for a in apps.list_apps(actor())]})


@bp.post("/apps")
def create_app():
    result = apps.create_app(actor(), json_body())
    return jsonify(result), 201


@bp.get("/templates")
def list_templates():
    """The template packs, a JSON list as DESIGN.md section 11 fixes it: key, name and description
    in the reader's language, the languages offered and the forms' keys."""
    actor()  # signed in (any user or token may read the list)
    return jsonify(listing(str(get_locale() or "zh")))


@bp.post("/apps/from-template")
def create_from_template():
    """{"template", "key", "name", "language": "zh"|"en", "sample_data": bool, "scale": n}."""
    body = json_body()
    if not isinstance(body.get("template"), str):
        raise ValidationFailed('"template" is required', [{"field": "template", "message": "is required"}])
    for key in ("key", "name", "language"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise ValidationFailed(f'"{key}" must be text', [{"field": key, "message": "must be text"}])
    result = install_template(body["template"], actor(), sample_data=bool(body.get("sample_data")),
                              app_key=body.get("key"), name=body.get("name"),
                              language=body.get("language") or "zh", scale=body.get("scale", 1))
    return jsonify(result), 201


@bp.get("/apps/<app_key>/definition")
def get_definition(app_key):
    return jsonify(apps.definition(actor(), app_key, reveal=_reveal()))


@bp.get("/apps/<app_key>/draft")
def get_draft(app_key):
    """The draft; its `ETag` is the version a `PUT` sends back as `If-Match`."""
    resp = jsonify(apps.draft(actor(), app_key, reveal=_reveal()))
    resp.headers["ETag"] = f'"{apps.draft_version(actor(), app_key)}"'
    return resp


def _reveal() -> bool:
    """`?reveal=secrets`: the stored webhook URLs unmasked (app admins; audited)."""
    value = request.args.get("reveal")
    if value not in (None, "secrets"):
        raise ValidationFailed('"reveal" may only be "secrets"', [{"field": "reveal", "message": 'must be "secrets"'}])
    return value == "secrets"


@bp.put("/apps/<app_key>/draft")
def put_draft(app_key):
    """Save the draft; with `If-Match` (the draft's ETag) a stale one gets 409 and changes nothing."""
    return with_etag(apps.save_draft(actor(), app_key, json_body(), expected_version=if_match()))


@bp.post("/apps/<app_key>/publish")
def publish(app_key):
    body = json_body(required=False)
    result = apps.publish(actor(), app_key, dry_run=bool(body.get("dry_run")),
                          accept_loss=bool(body.get("accept_loss")))
    return jsonify(result)


@bp.get("/apps/<app_key>/members")
def list_members(app_key):
    return jsonify({"items": apps.list_members(actor(), app_key)})


@bp.post("/apps/<app_key>/members")
def add_member(app_key):
    """{"user": id} | {"department": id, "include_children": true} | {"role": key}, with "admin"."""
    body = json_body()
    checks = (("user", int, "a user id"), ("department", int, "a department id"), ("role", str, "a role key"))
    for key, kind, what in checks:
        value = body.get(key)
        if value is not None and (not is_id(value) if kind is int else not isinstance(value, kind)):
            raise ValidationFailed(f'"{key}" must be {what}', [{"field": key, "message": f"must be {what}"}])
    for key in ("admin", "include_children"):
        if key in body and not isinstance(body[key], bool):
            raise ValidationFailed(f'"{key}" must be true or false', [{"field": key, "message": "must be true or false"}])
    member = apps.add_member(actor(), app_key, body.get("user"), bool(body.get("admin")),
                             department_id=body.get("department"), role_key=body.get("role"),
                             include_children=body.get("include_children", True))
    created = member.pop("created")
    return jsonify(member), 201 if created else 200


@bp.delete("/apps/<app_key>/members/<int:member_id>")
def remove_member(app_key, member_id):
    apps.remove_member(actor(), app_key, member_id)
    return "", 204
