"""Webhook routes for an app's administrators (/api/v1/apps/<app_key>/webhooks); the work is
done in `builder/webhooks.py`."""
from __future__ import annotations

from flask import Flask, jsonify

from formloom.builder import webhooks as service
from formloom.platform.api import actor, api_blueprint, json_body
from formloom.platform.extensions import csrf

bp = api_blueprint("webhooks_api")


def init_app(app: Flask) -> None:
    csrf.exempt(bp)
    app.register_blueprint(bp)


@bp.get("/apps/<app_key>/webhooks")
def list_webhooks(app_key: str):
    return jsonify({"items": service.list_webhooks(actor(), app_key)})


@bp.post("/apps/<app_key>/webhooks")
def create_webhook(app_key: str):
    return jsonify(service.create_webhook(actor(), app_key, json_body())), 201


@bp.patch("/apps/<app_key>/webhooks/<int:webhook_id>")
def update_webhook(app_key: str, webhook_id: int):
    return jsonify(service.update_webhook(actor(), app_key, webhook_id, json_body()))


@bp.delete("/apps/<app_key>/webhooks/<int:webhook_id>")
def delete_webhook(app_key: str, webhook_id: int):
    service.delete_webhook(actor(), app_key, webhook_id)
    return "", 204


@bp.get("/apps/<app_key>/webhooks/<int:webhook_id>/deliveries")
def list_deliveries(app_key: str, webhook_id: int):
    return jsonify({"items": service.list_deliveries(actor(), app_key, webhook_id)})
