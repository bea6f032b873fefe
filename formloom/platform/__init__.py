"""The shell: extensions, accounts and auth, errors, i18n, files, CLI."""
from flask import Flask


def init_app(app: Flask) -> None:
    from formloom.platform import (
        audit_api,
        audit_web,
        auth,
        cli,
        errors,
        files,
        i18n,
        inputs,
        jobs,
        jobs_web,
        notifications_api,
        notifications_web,
        notify,  # noqa: F401 - registers the "email.send" job
        org_api,
        org_web,
        ratelimit,  # noqa: F401 - registers the formloom-db:// storage before the limiter starts
        reqcache,
        security,
        tokens_web,
        webhooks,
    )
    from formloom.platform.extensions import csrf, db, limiter, migrate

    inputs.init_app(app)  # first: routes added later use its id converter
    db.init_app(app)
    reqcache.init()
    migrate.init_app(app, db, directory=str(cli.MIGRATIONS_DIR))
    security.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    org_api.init_app(app)
    org_web.init_app(app)
    audit_web.init_app(app)
    audit_api.init_app(app)
    tokens_web.init_app(app)
    jobs.init_app(app)
    ratelimit.init()
    files.init()
    webhooks.init()
    jobs_web.init_app(app)
    notifications_web.init_app(app)
    notifications_api.init_app(app)
    cli.init_app(app)
