"""Background work at scale: no error after a commit, one hand-over per job, a bounded runner."""
from __future__ import annotations

import logging
import socket

import sqlalchemy as sa

from formloom.platform import jobs
from formloom.platform.extensions import db
from formloom.platform.models import Job, User

from support_formloom import Api, Factory


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


def test_a_request_answers_what_it_committed_when_redis_is_down(app_with, caplog):
    jobs._outage["since"] = None
    app = app_with(REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0", FORMLOOM_SMTP_HOST="127.0.0.1",
                   FORMLOOM_BASE_URL="http://forms.example.com")
    make = Factory(app)
    api = Api(app.test_client(), make.token(make.user("Admin", admin=True, password=None)))
    with caplog.at_level(logging.WARNING, logger="formloom.platform.jobs"):
        answers = [api.post("/api/v1/users", json={"email": f"u{n}@example.com", "name": f"U{n}"})
                   for n in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 201]
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count()).select_from(User).where(
        User.email.like("u%@example.com"))).scalar() == 3
    waiting = db.session.execute(sa.select(Job.status).where(Job.kind == "email.invite")).scalars().all()
    assert waiting == ["queued"] * 3  # the reconciler hands them over once Redis is back
    said = [r for r in caplog.records if "could not hand" in r.getMessage()]
    assert len(said) == 1  # logged once for the outage, not once per request
