"""Outbound webhooks: record events POSTed, signed, to URLs an app's admins choose.

Here: sending (the outbox fan-out, the signed delivery job, URL safety), which knows no app
definitions. Managing an app's webhooks is app-level: `builder/webhooks.py` (service) and
`builder/webhooks_api.py` (routes). Importing the package declares the job handlers;
`init()` (platform init_app) subscribes the delivery fan-out to the outbox.
"""
from formloom.platform.webhooks import delivery  # declares the jobs


def init() -> None:
    delivery.init()
