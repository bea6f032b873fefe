"""One date and time format on every page, in both languages: "2026-12-07 14:05" in the
instance's time zone (the users page showed "12/7/26, 12:43 PM" beside ISO dates elsewhere)."""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from formloom.platform.extensions import db, write_transaction
from formloom.platform.i18n import format_moment
from formloom.platform.models import User

PACKAGE = Path(__file__).resolve().parents[2] / "formloom"


def test_a_moment_reads_the_same_in_every_language_in_the_instances_time_zone(app):
    moment = datetime(2026, 12, 7, 4, 43, 9)  # naive UTC, as stored
    assert format_moment(moment) == "2026-12-07 12:43"  # the tests' instance runs on Asia/Shanghai
    assert format_moment(moment, "UTC", seconds=True) == "2026-12-07 04:43:09"
    assert format_moment(None) == ""


def test_the_users_pages_show_moments_like_every_other_page(client, auth, make):
    admin = make.user("Ada Admin", admin=True)
    other = make.user("Bo")
    with write_transaction():
        db.session.get(User, other.id).last_login_at = datetime(2026, 12, 7, 4, 43)
    auth.login(admin.email)
    for language in ("en", "zh-CN"):
        users = client.get("/org/users", headers={"Accept-Language": language}).get_data(as_text=True)
        detail = client.get(f"/org/users/{other.id}", headers={"Accept-Language": language}).get_data(as_text=True)
        for html in (users, detail):
            assert "2026-12-07 12:43" in html
            assert not re.search(r"\d{1,2}/\d{1,2}/\d{2}|[AP]M\b|上午|下午", html)


def test_no_page_formats_a_moment_its_own_way():
    """Templates use the `moment` filter and code calls format_moment; nothing else formats a moment."""
    own = re.compile(r"datetimeformat\(|strftime\(\"%Y-%m-%d %H:%M")
    offenders = sorted(str(p.relative_to(PACKAGE)) for p in [*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.html"),
                                                                *PACKAGE.rglob("*.txt")]
                       if p.name != "i18n.py" and own.search(p.read_text("utf-8")))
    assert offenders == []
