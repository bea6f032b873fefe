"""App routes of the API: create (also from a template), definition, draft, publish, members."""
from __future__ import annotations

from flask import Flask, jsonify, request

from formloom.builder import apps
from formloom.builder.templates import install_template
from formloom.platform.api import actor, api_blueprint, json_body
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


@bp.post("/apps/from-template")
def create_from_template():
    body = json_body()
    if not isinstance(body.get("template"), str):
        raise ValidationFailed('"template" is required', [{"field": "template", "message": "is required"}])
    result = install_template(body["template"], actor(), sample_data=bool(body.get("sample_data")),
                              app_key=body.get("key"), name=body.get("name"),
                              language=body.get("language", "zh"))
    return jsonify(result), 201


@bp.get("/apps/<app_key>/definition")
def get_definition(app_key):
    return jsonify(apps.definition(actor(), app_key, reveal=_reveal()))


@bp.get("/apps/<app_key>/draft")
def get_draft(app_key):
    return jsonify(apps.draft(actor(), app_key, reveal=_reveal()))


def _reveal() -> bool:
    """`?reveal=secrets`: the stored webhook URLs unmasked (app admins; audited)."""
    value = request.args.get("reveal")
    if value not in (None, "secrets"):
        raise ValidationFailed('"reveal" may only be "secrets"', [{"field": "reveal", "message": 'must be "secrets"'}])
    return value == "secrets"


@bp.put("/apps/<app_key>/draft")
def put_draft(app_key):
    return jsonify(apps.save_draft(actor(), app_key, json_body()))


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
