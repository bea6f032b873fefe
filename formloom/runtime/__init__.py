"""Interprets app definitions: fields, storage, records, conditions, formulas, API, pages."""
from flask import Flask


def init_app(app: Flask) -> None:
    import formloom.runtime.imports.service  # noqa: F401 - registers the import job
    import formloom.runtime.records.refreshes  # noqa: F401 - registers the refresh job and tick
    from formloom.platform import hooks
    from formloom.runtime import access, automations, flows
    from formloom.runtime.api import init_app as init_api
    from formloom.runtime.records import reassign
    from formloom.runtime.web import init_app as init_web

    hooks.records_owned.register(reassign.count_owned)
    hooks.reassign_records.register(reassign.reassign_owner)
    hooks.app_role.register(access.app_role)
    flows.init()
    automations.init()
    init_api(app)
    init_web(app)
