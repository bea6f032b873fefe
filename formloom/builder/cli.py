"""Builder commands: demo, template list|install, app export|import, relations rebuild."""
from __future__ import annotations

import json
import locale
import os
import time
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext

from formloom.app_templates import available, people
from formloom.builder import apps
from formloom.builder.apps import create_app
from formloom.builder.demo_org import ensure_people
from formloom.builder.templates import fill_sample_data, install_template, template_installed
from formloom.platform.actor import Actor
from formloom.platform.cli import ensure_user
from formloom.platform.exceptions import DefinitionError
from formloom.platform.extensions import db
from formloom.platform.models import User
from formloom.runtime.apps import get_runtime


def init_app(app: Flask) -> None:
    for command in (demo, template_group, app_group, relations_group):
        app.cli.add_command(command)


def _user(email: str) -> User:
    user = db.session.execute(sa.select(User).where(User.email == email.lower())).scalar_one_or_none()
    if user is None:
        raise click.ClickException(f"No user with email {email}")
    return user


def _machine_language() -> str:
    """zh when the machine's locale is Chinese, else en."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        if os.environ.get(name):
            return "zh" if os.environ[name].lower().startswith("zh") else "en"
    return "zh" if (locale.getlocale()[0] or "").lower().startswith("zh") else "en"


@click.command("demo")
@click.option("--password", default="formloom-admin", show_default=True, help="the admin's password")
@click.option("--template", "key", default="crm", show_default=True, help="the template to open on")
@click.option("--language", type=click.Choice(["zh", "en"]), default=None,
              help="the app's language (default: the machine's locale, Chinese if it is Chinese, else English)")
@click.option("--scale", type=float, default=1, show_default=True, help="multiplies the sample data")
@click.option("--demo-password", default="formloom-demo", show_default=True, help="the demo users' password")
@click.option("--url", default=None, help="where Formloom is served (default: FORMLOOM_BASE_URL, else "
              "http://127.0.0.1:5000); `make run` passes its HOST and PORT")
@with_appcontext
def demo(password, key, language, scale, demo_password, url):
    """Install the CRM (and the small example) with sample data and print how to sign in."""
    if key not in available():
        raise click.ClickException(f"No template {key}; available: {', '.join(available())}")
    language = language or _machine_language()
    admin = ensure_user("admin@example.com", "Admin", password, admin=True)
    for template in dict.fromkeys([key, "sales_mini"]):
        if template_installed(template):
            click.echo(f"The {template} app is installed already.")
            continue
        org = people(template, language)
        click.echo(f"Installing {template} ({language}) with sample data…")
        started = time.monotonic()
        actor = Actor.from_user(admin)
        result = install_template(template, actor, language=language)
        mapping = ensure_people(org, demo_password) if org else None  # after the publish made the roles
        fill_sample_data(template, actor, result["app"], scale if template == key else 1, language, mapping)
        click.echo(f"Installed {template} ({language}) with sample data in {time.monotonic() - started:.0f} s.")
    url = (url or current_app.config.get("FORMLOOM_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    click.echo(f"Sign in at {url}/login?next=/a/{key} (it opens on the {key} app)")
    click.echo(f"  admin:    admin@example.com / {password}")
    org = people(key, language) or {"users": []}
    present = set(db.session.execute(sa.select(User.email).where(
        User.email.in_([u["email"] for u in org["users"]]))).scalars())
    for u in org["users"]:
        if u["email"] in present:
            click.echo(f"  {', '.join(u['roles']):<16} {u['email']:<34} {demo_password}   ({u['name']})")


@click.group("template")
def template_group():
    """App templates."""


@template_group.command("list")
def template_list():
    for key, meta in available().items():
        click.echo(f"{key}\t{meta['name_en']}\t{meta['name']}\t{','.join(meta['languages'])}")


@template_group.command("install")
@click.argument("key")
@click.option("--email", required=True, help="the user who will administer the app")
@click.option("--sample-data", is_flag=True)
@click.option("--app-key", default=None)
@click.option("--language", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--scale", type=float, default=1, show_default=True, help="multiplies the sample data")
@with_appcontext
def template_install(key, email, sample_data, app_key, language, scale):
    """Install template KEY as a new app administered by --email."""
    from formloom.platform.exceptions import FormloomError

    user = _user(email)
    try:
        result = install_template(key, Actor.from_user(user), sample_data=sample_data, app_key=app_key,
                                  language=language, scale=scale)
    except FormloomError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Installed {key} as app {result['app']} (version {result['version']}, {language}).")
    for form, count in (result.get("sample_data") or {}).items():
        click.echo(f"  {form}: {count}")


@click.group("app")
def app_group():
    """Export and import app definitions."""


@app_group.command("export")
@click.argument("key")
@click.option("--reveal-secrets", is_flag=True,
              help="webhook URLs whole, not masked (written to the audit log); an import needs them")
@with_appcontext
def app_export(key, reveal_secrets):
    click.echo(json.dumps(apps.definition(Actor.system(), key, reveal=reveal_secrets), ensure_ascii=False, indent=2))


@app_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--email", required=True)
@with_appcontext
def app_import(path, email):
    user = _user(email)
    try:
        result = create_app(Actor.from_user(user), json.loads(Path(path).read_text("utf-8")))
    except DefinitionError as exc:
        for err in exc.errors:
            click.echo(f"{err['pointer'] or '/'}: {err['message']}", err=True)
        raise click.ClickException(exc.message) from None
    click.echo(f"Imported app {result['app']} (version {result['version']}).")


@click.group("relations")
def relations_group():
    """Lookups, rollups and formulas."""


@relations_group.command("rebuild")
@click.argument("app_key")
@click.argument("form_key")
@click.option("--wait", is_flag=True, help="do the work now, in this process, and say how many records changed")
@with_appcontext
def relations_rebuild(app_key, form_key, wait):
    """Compute every lookup, rollup and formula of a form again, for every record."""
    from formloom.platform import jobs
    from formloom.platform.exceptions import FormloomError
    from formloom.platform.models import Job, RelationRefresh
    from formloom.runtime.records import refreshes

    try:
        refresh = refreshes.rebuild(Actor.system(), get_runtime(app_key), form_key)
    except FormloomError as exc:
        raise click.ClickException(exc.message) from None
    refresh_id, job_id = refresh.id, refresh.job_id
    click.echo(f"Refresh {refresh_id}: {_records(refresh.total)} of {form_key} to go through.")
    if not wait:
        return
    # Run it here; when a worker claimed it first, follow it until it ends.
    while True:
        status = jobs.run_job(job_id) if job_id else "skipped"
        db.session.expire_all()
        row = db.session.get(RelationRefresh, refresh_id)
        job = db.session.get(Job, job_id) if job_id else None
        if row is not None and row.status == "done":
            click.echo(f"Done: {_records(row.changed)} changed.")
            return
        if row is None or job is None or job.status in ("failed", "cancelled"):
            raise click.ClickException(f"Refresh {refresh_id} did not finish: "
                                       f"{(job.error if job else None) or (row.error if row else None) or status}")
        db.session.rollback()
        time.sleep(0.5)


def _records(count: int) -> str:
    return f"{count} record" if count == 1 else f"{count} records"
