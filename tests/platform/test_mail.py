"""Email over SMTP, against a real SMTP server on 127.0.0.1 (aiosmtpd): notifications and
invitations arrive; preferences, retries, refusals and "once only" hold."""
from __future__ import annotations

import email
import email.policy
import re
import socket
from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from formloom.platform import jobs
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import Job, Notification, NotificationPreference, User, utcnow
from formloom.platform.notify import notify

from support_formloom import AuthActions, Factory

BASE = "https://forms.example.com"


class Inbox:
    """An aiosmtpd handler that keeps what it receives and refuses nobody@… with 550."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        msg["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(msg)
        return "250 Message accepted"


class SMTPServer:
    """A local SMTP server on a free port, started and stopped at will."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.inbox = Inbox()
        self.controller = None

    def start(self):
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        return self.inbox.messages


@pytest.fixture
def smtp():
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_down():
    """A port where nothing listens yet; `.start()` brings the server up."""
    server = SMTPServer()
    yield server
    server.stop()


def mail_app(app_with, server, **config):
    return app_with(FORMLOOM_JOBS_EAGER=True, FORMLOOM_SMTP_HOST="127.0.0.1", FORMLOOM_SMTP_PORT=server.port,
                    FORMLOOM_SMTP_TIMEOUT=5, FORMLOOM_MAIL_FROM="Formloom <forms@example.com>", **config)


def tell(user, title="Webhook switched off", body="Deliveries failed 10 times.", url="/apps/sales/webhooks",
         kind="webhook_disabled") -> int:
    with write_transaction():
        [note_id] = notify([user.id], kind, title, body, url=url)
    return note_id


def email_jobs() -> list[Job]:
    db.session.expire_all()
    return list(db.session.execute(sa.select(Job).where(Job.queue == "email").order_by(Job.created_at)).scalars())


def text_of(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def html_of(msg) -> str:
    return msg.get_body(("html",)).get_content()


def run_again(job_id: str) -> str:
    with write_transaction():
        db.session.execute(sa.update(Job).where(Job.id == job_id).values(run_at=utcnow() - timedelta(seconds=1)))
    return jobs.run_job(job_id)


def make_user(app, name, **extra):
    return Factory(app).user(name, **extra)


# --- notifications ---------------------------------------------------------------------------

def test_a_notification_arrives_by_email_with_title_body_and_link(app_with, smtp):
    app = mail_app(app_with, smtp, FORMLOOM_BASE_URL=BASE + "/")
    user = make_user(app, "Nora", locale="en")
    note_id = tell(user)

    [msg] = smtp.messages
    assert msg["X-Envelope-To"] == user.email and user.email in msg["To"] and "Nora" in msg["To"]
    assert msg["Subject"] == "Webhook switched off" and "forms@example.com" in msg["From"]
    for part in (text_of(msg), html_of(msg)):
        assert "Deliveries failed 10 times." in part
        assert f"{BASE}/apps/sales/webhooks" in part and f"{BASE}/notifications/preferences" in part
    assert "Open in Formloom" in html_of(msg)
    db.session.expire_all()
    assert db.session.get(Notification, note_id).emailed_at is not None
    [job] = email_jobs()
    assert job.status == "done" and job.result == {"status": "sent", "to": user.email}


def test_chinese_subject_and_body_arrive_intact(app_with, smtp):
    app = mail_app(app_with, smtp, FORMLOOM_BASE_URL=BASE)
    user = make_user(app, "Li Lei", locale="zh_CN")
    tell(user, title="新的审批任务：采购申请 #42", body="王芳提交了采购申请，请尽快审批。", url="/apps/buy/forms/po/42")

    [msg] = smtp.messages
    assert msg["Subject"] == "新的审批任务：采购申请 #42"
    assert "王芳提交了采购申请，请尽快审批。" in text_of(msg) and f"{BASE}/apps/buy/forms/po/42" in text_of(msg)
    assert "王芳提交了采购申请" in html_of(msg)


def test_link_uses_the_request_address_without_a_base_url_and_is_left_out_outside_requests(app_with, smtp):
    app = mail_app(app_with, smtp)
    user = make_user(app, "Rita", locale="en")
    with app.test_request_context(base_url="http://intranet.local:8080/"):
        tell(user, url="/apps/crm")
    tell(user, url="/apps/crm")

    in_request, outside = smtp.messages
    assert "http://intranet.local:8080/apps/crm" in text_of(in_request)
    assert "http" not in text_of(outside) and "href" not in html_of(outside)
    assert "Deliveries failed 10 times." in text_of(outside)


def test_an_outside_link_is_not_put_in_the_email(app_with, smtp):
    app = mail_app(app_with, smtp, FORMLOOM_BASE_URL=BASE)
    user = make_user(app, "Ugo", locale="en")
    tell(user, url="https://evil.example.net/phish")
    [msg] = smtp.messages
    assert "evil.example.net" not in msg.as_string() and f"{BASE}/notifications" in text_of(msg)


def test_email_preference_off_sends_nothing_but_keeps_the_in_app_note(app_with, smtp):
    app = mail_app(app_with, smtp)
    quiet, kind_off, other = (make_user(app, n) for n in ("Quiet", "KindOff", "Other"))
    with write_transaction():
        db.session.add(NotificationPreference(user_id=quiet.id, kind="*", in_app=True, email=False))
        db.session.add(NotificationPreference(user_id=kind_off.id, kind="webhook_disabled", in_app=True, email=False))
    with write_transaction():
        made = notify([quiet.id, kind_off.id, other.id], "webhook_disabled", "Off", "b")
    assert len(made) == 3
    assert [m["X-Envelope-To"] for m in smtp.messages] == [other.email]
    assert len(email_jobs()) == 1


def test_no_smtp_host_means_no_email_job(app_with):
    app = app_with(FORMLOOM_JOBS_EAGER=True)
    user = make_user(app, "Nomail")
    note_id = tell(user)
    assert email_jobs() == [] and db.session.get(Notification, note_id).emailed_at is None


def test_a_server_that_is_down_is_retried_and_the_email_arrives_once_it_is_up(app_with, smtp_down, any_db):
    app = mail_app(app_with, smtp_down)
    user = make_user(app, "Patient")
    note_id = tell(user)

    [job] = email_jobs()
    assert job.status == "queued" and job.attempts == 1 and job.run_at > utcnow()
    assert f"127.0.0.1:{smtp_down.port} cannot be reached" in job.error
    assert run_again(job.id) == "retry" and email_jobs()[0].attempts == 2

    smtp_down.start()
    assert run_again(job.id) == "done"
    assert [m["X-Envelope-To"] for m in smtp_down.messages] == [user.email]
    db.session.expire_all()
    assert db.session.get(Notification, note_id).emailed_at is not None
    assert run_again(job.id) == "skipped" and len(smtp_down.messages) == 1


def test_a_user_who_turns_email_off_before_the_retry_gets_nothing(app_with, smtp_down):
    app = mail_app(app_with, smtp_down)
    user = make_user(app, "Changed Mind")
    tell(user)
    [job] = email_jobs()
    with write_transaction():
        db.session.add(NotificationPreference(user_id=user.id, kind="*", in_app=True, email=False))
    smtp_down.start()
    assert run_again(job.id) == "done"
    assert smtp_down.messages == [] and email_jobs()[0].result["reason"] == "user turned email off"


def test_a_refused_recipient_fails_the_job_at_once_with_the_servers_words(app_with, smtp):
    app = mail_app(app_with, smtp)
    user = make_user(app, "Nobody", email="nobody@example.com")
    note_id = tell(user)

    [job] = email_jobs()
    assert job.status == "failed" and job.attempts == 1 and job.finished_at is not None
    assert "refused the recipient nobody@example.com: 550" in job.error and "No such user here" in job.error
    assert smtp.messages == [] and db.session.get(Notification, note_id).emailed_at is None


def test_an_emailed_notification_is_not_sent_twice(app_with, smtp):
    app = mail_app(app_with, smtp)
    user = make_user(app, "Once")
    note_id = tell(user)
    assert len(smtp.messages) == 1
    with write_transaction():
        again = jobs.enqueue("email.send", {"notification_id": note_id, "base_url": None}, queue="email")
    assert len(smtp.messages) == 1
    assert db.session.get(Job, again).result == {"status": "skipped", "reason": "emailed already"}


def test_inactive_users_get_no_email(app_with, smtp_down):
    app = mail_app(app_with, smtp_down)
    user = make_user(app, "Leaving")
    tell(user)
    with write_transaction():
        db.session.get(User, user.id).active = False
    smtp_down.start()
    [job] = email_jobs()
    assert run_again(job.id) == "done" and smtp_down.messages == []


# --- invitations -----------------------------------------------------------------------------

def english_client(app):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def invite_link(html: str) -> str:
    return re.search(r'id="invite-link" type="text" value="([^"]+)"', html).group(1)


def test_an_invitation_is_emailed_and_the_link_still_shown(app_with, smtp):
    app = mail_app(app_with, smtp, FORMLOOM_BASE_URL=BASE)
    admin = make_user(app, "Admin", admin=True)
    client = english_client(app)
    AuthActions(client).login(admin.email)

    page = client.post("/org/users/new", data={"name": "Neu", "email": "neu@example.com"}).get_data(as_text=True)
    assert "We are emailing this link to neu@example.com" in page and "shown only now" in page
    link = invite_link(page)
    assert link.startswith("http://localhost/invite/")  # the page links where the admin is

    [msg] = smtp.messages
    token = link.rsplit("/", 1)[1]
    assert msg["X-Envelope-To"] == "neu@example.com"
    assert msg["Subject"] in ("Your invitation to Formloom", "您的 Formloom 邀请")  # the default language, zh_CN
    assert f"{BASE}/invite/{token}" in text_of(msg) and f"{BASE}/invite/{token}" in html_of(msg)
    [job] = email_jobs()
    assert job.status == "done" and token not in str(job.payload)  # the credential does not stay in the table

    user_id = db.session.execute(sa.select(User.id).where(User.email == "neu@example.com")).scalar()
    again = client.post(f"/org/users/{user_id}/invite")
    new_token = invite_link(again.get_data(as_text=True)).rsplit("/", 1)[1]
    assert len(smtp.messages) == 2 and new_token in text_of(smtp.messages[1])


def test_a_replaced_invitation_link_is_not_emailed(app_with, smtp_down):
    app = mail_app(app_with, smtp_down, FORMLOOM_BASE_URL=BASE)
    admin = make_user(app, "Admin", admin=True)
    client = english_client(app)
    AuthActions(client).login(admin.email)
    first = invite_link(client.post("/org/users/new", data={"name": "Max", "email": "max@example.com"})
                        .get_data(as_text=True))
    user_id = db.session.execute(sa.select(User.id).where(User.email == "max@example.com")).scalar()
    second = invite_link(client.post(f"/org/users/{user_id}/invite").get_data(as_text=True))
    smtp_down.start()
    for job in email_jobs():
        assert run_again(job.id) == "done"
    [msg] = smtp_down.messages
    assert second.rsplit("/", 1)[1] in text_of(msg) and first.rsplit("/", 1)[1] not in msg.as_string()


def test_without_mail_the_invitation_page_does_not_claim_an_email(app_with):
    app = app_with()
    admin = make_user(app, "Admin", admin=True)
    client = english_client(app)
    AuthActions(client).login(admin.email)
    page = client.post("/org/users/new", data={"name": "Solo", "email": "solo@example.com"}).get_data(as_text=True)
    assert "shown only now" in page and "emailing" not in page and email_jobs() == []
