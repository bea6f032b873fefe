"""The jobs page names each kind of job in words, in the reader's language (the code beside it)."""
from __future__ import annotations

from formloom.platform import jobs
from formloom.platform.extensions import write_transaction


def test_job_kinds_read_as_words_in_both_languages(client, auth, make):
    admin = make.user("Ada Admin", admin=True)
    with write_transaction():
        jobs.enqueue("files.sweep", {})
    auth.login(admin.email)
    en = client.get("/admin/jobs", headers={"Accept-Language": "en"}).get_data(as_text=True)
    zh = client.get("/admin/jobs", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "Clear unused uploads" in en and "<code>files.sweep</code>" in en
    assert "清理未使用的上传文件" in zh
