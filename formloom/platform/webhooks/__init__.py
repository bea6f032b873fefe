"""Outbound webhooks: record events POSTed, signed, to URLs an app's admins choose.

Importing the package registers the job handlers and the outbox subscription.
"""
from formloom.platform.webhooks import delivery  # noqa: F401 - registers the jobs
