"""The `formloom` command: init, create-admin, create-token, demo, templates, export/import."""
import json

import sqlalchemy as sa

from formloom.platform.extensions import db
from formloom.platform.models import App, User

from support_formloom import DATA


def test_create_admin_then_token_works_on_the_api(runner, client):
    result = runner.invoke(args=["create-admin", "--email", "Boss@Example.com", "--password", "long-enough-1"])
    assert result.exit_code == 0, result.output
    user = db.session.execute(sa.select(User)).scalar_one()
    assert user.email == "boss@example.com" and user.is_admin
    result = runner.invoke(args=["create-token", "--email", "boss@example.com"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]  # the token alone on the last line
    assert client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_create_admin_refuses_short_password(runner):
    result = runner.invoke(args=["create-admin", "--email", "a@example.com", "--password", "short"])
    assert result.exit_code != 0 and "8 characters" in result.output


def test_create_token_for_unknown_user_fails_clearly(runner):
    result = runner.invoke(args=["create-token", "--email", "nobody@example.com"])
    assert result.exit_code != 0 and "No user with email" in result.output


def test_init_is_idempotent(runner):
    assert runner.invoke(args=["init"]).exit_code == 0
    assert runner.invoke(args=["init"]).exit_code == 0


def test_demo_installs_the_crm_and_the_example_with_data_once(runner):
    result = runner.invoke(args=["demo", "--password", "demo-password-1", "--language", "en", "--scale", "0.05"])
    assert result.exit_code == 0, result.output
    assert "admin@example.com" in result.output
    assert "rep1@example.com" in result.output and "formloom-demo" in result.output  # the demo logins
    apps = {a.key: a for a in db.session.execute(sa.select(App)).scalars()}
    assert sorted(apps) == ["crm", "sales_mini"] and apps["crm"].published_version == 1
    assert apps["crm"].name == "CRM"
    rep = db.session.execute(sa.select(User).where(User.email == "rep1@example.com")).scalar_one()
    assert rep.check_password("formloom-demo") and rep.department.name == "Sales East"
    again = runner.invoke(args=["demo", "--password", "demo-password-1", "--language", "en", "--scale", "0.05"])
    assert "rep1@example.com" in again.output  # the logins again, for whoever lost them
    assert again.exit_code == 0 and "already" in again.output


def test_template_list_and_export_import(runner, make, tmp_path):
    assert "sales_mini" in runner.invoke(args=["template", "list"]).output
    user = make.user("Imp")
    definition = json.loads((DATA / "sales-mini.json").read_text("utf-8"))
    definition["key"] = "copy_of_sales"
    path = tmp_path / "def.json"
    path.write_text(json.dumps(definition), "utf-8")
    result = runner.invoke(args=["app", "import", str(path), "--email", user.email])
    assert result.exit_code == 0, result.output
    exported = runner.invoke(args=["app", "export", "copy_of_sales"])
    assert json.loads(exported.output)["forms"] == definition["forms"]


def test_import_of_invalid_definition_names_the_problem(runner, make, tmp_path):
    user = make.user("Bad")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"key": "bad", "name": "Bad", "forms": [
        {"key": "f", "name": "F", "fields": [{"key": "x", "type": "nonsense"}]}]}), "utf-8")
    result = runner.invoke(args=["app", "import", str(path), "--email", user.email])
    assert result.exit_code != 0
    assert "/forms/0/fields/0/type" in result.output and "unknown field type" in result.output


def test_export_masks_webhook_urls_unless_told_to_reveal_them(runner, make, tmp_path):
    from formloom.platform.models import AuditEvent

    user = make.user("Exp")
    definition = json.loads((DATA / "sales-mini.json").read_text("utf-8"))
    definition["automations"] = [{"key": "hook", "trigger": {"on": "record_created", "form": "deal"},
                                  "actions": [{"type": "webhook", "url": "https://93.184.216.34/hook/TOKEN"}]}]
    path = tmp_path / "def.json"
    path.write_text(json.dumps(definition), "utf-8")
    assert runner.invoke(args=["app", "import", str(path), "--email", user.email]).exit_code == 0
    masked = json.loads(runner.invoke(args=["app", "export", "sales_mini"]).output)
    assert masked["automations"][0]["actions"][0]["url"] == "https://93.184.216.34/…"
    assert db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "reveal")).first() is None
    whole = json.loads(runner.invoke(args=["app", "export", "sales_mini", "--reveal-secrets"]).output)
    assert whole == definition
    assert db.session.execute(sa.select(AuditEvent.object_id).where(AuditEvent.action == "reveal")).scalar() == "sales_mini"


def test_serve_works_from_a_folder_holding_a_formloom_directory_and_servers_share_no_socket(tmp_path):
    """Two `formloom serve` started where a `formloom/` folder of someone else's lies."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    (tmp_path / "formloom").mkdir()
    (tmp_path / "formloom" / "__init__.py").write_text("# not the installed package\n")
    formloom = Path(sys.executable).parent / "formloom"
    env = {**os.environ, "FORMLOOM_INSTANCE": str(tmp_path / "instance"), "SECRET_KEY": "test",
           "XDG_RUNTIME_DIR": str(tmp_path)}  # where gunicorn's shared default socket would go
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    assert subprocess.run([str(formloom), "init"], cwd=tmp_path, env=env, capture_output=True).returncode == 0
    servers, ports = [], []
    try:
        for n in range(2):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                ports.append(s.getsockname()[1])
            with (tmp_path / f"server{n}.log").open("w") as log:
                servers.append(subprocess.Popen([str(formloom), "serve", "--port", str(ports[-1]), "--workers", "1"],
                                                cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
                                                start_new_session=True))
        for n, (port, server) in enumerate(zip(ports, servers, strict=True)):
            status = None
            for _ in range(600):  # polls until it answers (the bound only stops a hang)
                if server.poll() is not None:
                    break
                try:
                    status = urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5).status
                    break
                except OSError:
                    time.sleep(0.05)
            assert status == 200, (tmp_path / f"server{n}.log").read_text()[-3000:]
        assert not (tmp_path / "gunicorn.ctl").exists()
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)
