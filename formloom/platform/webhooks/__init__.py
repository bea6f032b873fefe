"""Outbound webhooks: record events POSTed, signed, to URLs an app's admins choose.

Here: sending (the outbox fan-out, the signed delivery job, URL safety), which knows no app
definitions. Managing an app's webhooks is app-level: `builder/webhooks.py` (service) and
`builder/webhooks_api.py` (routes). Importing the package registers the job handlers and the
outbox subscription.
"""
from formloom.platform.webhooks import delivery  # noqa: F401 - registers the jobs
