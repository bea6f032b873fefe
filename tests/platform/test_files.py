"""Uploads no record takes: a per-person quota while they wait, and removal a day later."""
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from formloom.platform import files, jobs
from formloom.platform.exceptions import ValidationFailed
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import Job, StoredFile, utcnow
from formloom.runtime.records import service

from support_formloom import Api, Factory

DOCS = {"key": "docs", "name": "Docs", "forms": [{"key": "doc", "name": "Doc", "title_field": "title", "fields": [
    {"key": "title", "type": "text", "required": True},
    {"key": "attachment", "type": "file", "max_size_mb": 5}]}]}
KB = 1024


@pytest.fixture
def docs(app_with):
    """An app with a file field, a quota of 1 MB, and its owner's API client."""
    flask_app = app_with(FORMLOOM_UPLOAD_QUOTA_MB=1)
    make = Factory(flask_app)
    owner = make.user("Filer")
    rt = make.install(DOCS, owner=owner)
    client = flask_app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return rt, owner, Api(client, make.token(owner)), client, make


def _upload(api, size: int, name: str = "scan.pdf"):
    return api.post("/api/v1/apps/docs/files", content_type="multipart/form-data",
                    data={"file": (io.BytesIO(b"x" * size), name, "application/pdf")})


def _file_count() -> int:
    db.session.rollback()
    return db.session.execute(sa.select(sa.func.count()).select_from(StoredFile)).scalar()


def test_uploads_no_record_holds_are_limited_per_person(docs):
    rt, owner, api, _client, make = docs
    first = _upload(api, 400 * KB)  # (the test client spools bodies over 500 KB to files it never closes)
    assert first.status_code == 201 and _upload(api, 400 * KB).status_code == 201
    refused = _upload(api, 400 * KB, "third.pdf")
    assert refused.status_code == 413 and refused.mimetype == "application/problem+json"
    assert "quota of 1 MB" in refused.json["detail"] and refused.json["quota_mb"] == 1
    assert refused.json["errors"] == [{"field": "file", "message": "exceeds the upload quota of 1 MB"}]
    assert _file_count() == 2  # nothing of the refused upload is kept
    assert sum(1 for p in files.files_dir().rglob("*") if p.is_file()) == 2
    # Once a record holds the first file, it no longer counts.
    made = api.post("/api/v1/apps/docs/forms/doc/records", json={"fields": {"title": "A", "attachment": [
        first.json["id"]]}})
    assert made.status_code == 201
    assert _upload(api, 400 * KB, "third.pdf").status_code == 201
    # The quota is each person's own.
    other = Api(api.client, make.token(make.user("Other", admin=True)))
    assert _upload(other, 400 * KB).status_code == 201


def test_an_upload_over_the_quota_is_refused_at_its_field_on_the_page(docs):
    rt, owner, api, client, _make = docs
    assert _upload(api, 400 * KB).status_code == 201 and _upload(api, 400 * KB).status_code == 201
    client.post("/login", data={"email": owner.email, "password": "secret-pass-1"})
    page = client.post("/a/docs/f/doc/new", content_type="multipart/form-data", data={
        "title": "B", "attachment": [(io.BytesIO(b"x" * 300 * KB), "big.pdf", "application/pdf")]})
    assert page.status_code == 422
    assert "quota of 1 MB" in page.get_data(as_text=True)
    chinese = client.post("/a/docs/f/doc/new", content_type="multipart/form-data", headers={"Accept-Language": "zh-CN"},
                          data={"title": "B", "attachment": [(io.BytesIO(b"x" * 300 * KB), "big.pdf", "application/pdf")]})
    assert "1 MB 配额" in chinese.get_data(as_text=True)
    assert _file_count() == 2


def test_a_save_that_fails_leaves_its_files_unattached(docs):
    rt, owner, api, _client, make = docs
    file_id = _upload(api, 10 * KB).json["id"]
    with pytest.raises(ValidationFailed):
        service.create(make.actor(owner), rt, "doc", {"title": None, "attachment": [file_id]})
    assert db.session.get(StoredFile, file_id).attached_at is None
    service.create(make.actor(owner), rt, "doc", {"title": "C", "attachment": [file_id]})
    db.session.rollback()
    assert db.session.get(StoredFile, file_id).attached_at is not None


def _age(file_id: str, days: float) -> None:
    with write_transaction():
        db.session.execute(sa.update(StoredFile).where(StoredFile.id == file_id)
                           .values(created_at=utcnow() - timedelta(days=days)))


def test_the_daily_sweep_removes_uploads_no_record_took_within_a_day(any_db, docs):
    rt, owner, api, client, make = docs
    held, old, new = (_upload(api, 10 * KB, f"{n}.pdf").json["id"] for n in ("held", "old", "new"))
    record = service.create(make.actor(owner), rt, "doc", {"title": "D", "attachment": [held]})
    for file_id in (held, old):
        _age(file_id, 1.1)
    _age(new, 0.9)
    assert files.sweep({}) == {"removed": 1, "bytes": 10 * KB}
    db.session.rollback()
    assert db.session.get(StoredFile, old) is None and not files.path_of(old).exists()
    assert db.session.get(StoredFile, new) is not None and files.path_of(new).exists()
    with api.get(f"/api/v1/apps/docs/files/{held}") as download:
        assert download.status_code == 200
    assert [f["id"] for f in service.get(make.actor(owner), rt, "doc", record["id"])["fields"]["attachment"]] == [held]
    # A removed upload can no longer be put in a record.
    late = api.post("/api/v1/apps/docs/forms/doc/records", json={"fields": {"title": "E", "attachment": [old]}})
    assert late.status_code == 422


def test_the_sweep_is_asked_for_once_a_day(app):
    today = utcnow()
    first = files.schedule_sweep(today)
    assert first is not None and files.schedule_sweep(today) == first
    assert files.schedule_sweep(today + timedelta(days=1)) != first
    kinds = db.session.execute(sa.select(Job.kind, Job.dedupe_key).order_by(Job.created_at)).all()
    assert [k for k, _key in kinds] == ["files.sweep", "files.sweep"]
    assert "files.sweep" in jobs.HANDLERS
