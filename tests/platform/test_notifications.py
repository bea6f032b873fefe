"""The notification centre: the bell, the list, opening, preferences and the API, own notes only."""
import re
from datetime import timedelta

import sqlalchemy as sa

from formloom.platform import notifications_web
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import App, Notification, NotificationPreference, utcnow
from formloom.platform.notify import notify

from support_formloom import problem


def tell(user, n=1, url=None, app_id=None, kind="webhook_disabled", title="Note"):
    """Give `user` n notifications (oldest first); their ids."""
    with write_transaction():
        return [i for k in range(n) for i in notify([user.id], kind, f"{title} {k + 1}", body=f"Body {k + 1}",
                                                     url=url, app_id=app_id)]


def row(note_id: int) -> Notification:
    db.session.expire_all()
    return db.session.get(Notification, note_id)


def badge(html: str) -> str | None:
    found = re.search(r'data-fl-unread>([^<]+)<', html)
    return found.group(1) if found else None


def shown_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-note-id="(\d+)"', html)]


# --- the bell ----------------------------------------------------------------------------

def test_bell_shows_the_unread_count_and_nothing_at_zero(client, auth, make):
    user = make.user("Bea")
    auth.login(user.email)
    html = client.get("/notifications").get_data(as_text=True)
    assert "data-fl-bell" in html and 'href="/notifications"' in html and badge(html) is None

    tell(user, 3)
    assert badge(client.get("/notifications").get_data(as_text=True)) == "3"
    tell(user, 97)
    assert badge(client.get("/notifications").get_data(as_text=True)) == "99+"

    client.post("/notifications/read-all")
    assert badge(client.get("/notifications").get_data(as_text=True)) is None


def test_bell_is_absent_for_visitors(client):
    assert "data-fl-bell" not in client.get("/login").get_data(as_text=True)


# --- the list ----------------------------------------------------------------------------

def test_list_is_newest_first_paged_by_id_with_an_unread_tab(client, auth, make):
    owner = make.user("Lena")
    rt = make.install("sales-mini", owner)
    ids = tell(owner, 35, app_id=rt.app_id)
    auth.login(owner.email)

    first = client.get("/notifications").get_data(as_text=True)
    assert shown_ids(first) == ids[::-1][:30]
    app_name = db.session.get(App, rt.app_id).name
    assert "Note 35" in first and "Body 35" in first and app_name in first and "is-unread" in first
    older = re.search(r'href="(/notifications\?before=\d+)"', first).group(1)
    second = client.get(older).get_data(as_text=True)
    assert shown_ids(second) == ids[::-1][30:] and "Newest" in second

    client.post(f"/notifications/{ids[-1]}/open")
    unread = client.get("/notifications?tab=unread").get_data(as_text=True)
    assert ids[-1] not in shown_ids(unread) and ids[-2] in shown_ids(unread)
    assert ids[-1] in shown_ids(client.get("/notifications").get_data(as_text=True))


def test_empty_states(client, auth, make):
    user = make.user("Emma")
    auth.login(user.email)
    assert "No notifications yet" in client.get("/notifications").get_data(as_text=True)
    tell(user)
    client.post("/notifications/read-all")
    assert "You are all caught up" in client.get("/notifications?tab=unread").get_data(as_text=True)


def test_times_are_in_the_instance_time_zone(client, auth, make):
    """The test instance runs on Asia/Shanghai (UTC+8), as the audit page shows it."""
    user = make.user("Tom")
    [note_id] = tell(user)
    with write_transaction():
        db.session.get(Notification, note_id).created_at = utcnow().replace(hour=1, minute=2, second=0)
    auth.login(user.email)
    html = client.get("/notifications").get_data(as_text=True)
    assert "09:02" in html and "Asia/Shanghai" in html


# --- opening and marking read ------------------------------------------------------------

def test_open_marks_read_and_follows_only_local_links(client, auth, make):
    user = make.user("Olga")
    [local] = tell(user, url="/apps/sales/forms/company")
    [remote] = tell(user, url="https://evil.example.com/x")
    [sneaky] = tell(user, url="//evil.example.com/x")
    [plain] = tell(user)
    auth.login(user.email)

    went = client.post(f"/notifications/{local}/open")
    assert went.status_code == 302 and went.headers["Location"] == "/apps/sales/forms/company"
    assert row(local).read_at is not None
    for note_id in (remote, sneaky, plain):
        went = client.post(f"/notifications/{note_id}/open")
        assert went.headers["Location"] == "/notifications" and row(note_id).read_at is not None


def test_mark_all_as_read_touches_only_my_notifications(client, auth, make):
    me, other = make.user("Mia"), make.user("Otto")
    mine, theirs = tell(me, 2), tell(other, 1)
    auth.login(me.email)
    page = client.post("/notifications/read-all", follow_redirects=True).get_data(as_text=True)
    assert "All notifications are marked as read." in page
    assert all(row(i).read_at is not None for i in mine) and row(theirs[0]).read_at is None


def test_nobody_sees_another_users_notifications(client, auth, make, api_as):
    me, other = make.user("Ida"), make.user("Pia")
    [theirs] = tell(other, title="Secret")
    auth.login(me.email)
    assert "Secret" not in client.get("/notifications").get_data(as_text=True)
    assert client.post(f"/notifications/{theirs}/open").status_code == 404
    assert row(theirs).read_at is None

    auth.logout()  # the API call below acts by its token alone
    api = api_as(me)
    assert api.get("/api/v1/notifications").get_json() == {"items": [], "next_cursor": None, "unread": 0}
    marked = api.post("/api/v1/notifications/read", json={"ids": [theirs]})
    assert marked.get_json()["marked"] == 0
    assert row(theirs).read_at is None


def test_pages_need_a_sign_in(client):
    assert client.get("/notifications").status_code in (302, 401)
    assert client.get("/notifications/preferences").status_code in (302, 401)


# --- preferences -------------------------------------------------------------------------

def test_preferences_are_saved_and_honoured_by_notify(client, auth, make):
    user = make.user("Paul")
    auth.login(user.email)
    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert page.count("checked") == 2 * len(notifications_web.KINDS) and "SMTP" in page

    saved = client.post("/notifications/preferences", data={"*:in_app": "y", "*:email": "y", "automation:in_app": "y",
                                                            "webhook_disabled:email": "y"}, follow_redirects=True)
    assert "Your notification preferences are saved." in saved.get_data(as_text=True)
    prefs = {p.kind: (p.in_app, p.email) for p in db.session.execute(sa.select(NotificationPreference)).scalars()}
    assert prefs == {"*": (True, True), "automation": (True, False), "webhook_disabled": (False, True)}
    assert 'name="webhook_disabled:in_app" value="y"' in client.get("/notifications/preferences").get_data(as_text=True)

    assert tell(user, kind="webhook_disabled") == []
    assert len(tell(user, kind="something_else")) == 1

    client.post("/notifications/preferences", data={"*:in_app": "y", "webhook_disabled:in_app": "y"})
    prefs = {p.kind: (p.in_app, p.email) for p in db.session.execute(sa.select(NotificationPreference)).scalars()}
    assert prefs == {"*": (True, False), "automation": (False, False),  # upserted, not added again
                     "webhook_disabled": (True, False)}
    assert len(tell(user, kind="webhook_disabled")) == 1


def test_unchecked_box_is_shown_unchecked(client, auth, make):
    user = make.user("Uma")
    auth.login(user.email)
    client.post("/notifications/preferences", data={"*:email": "y"})
    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert re.search(r'name="\*:in_app" value="y"[^>]*aria-label="[^"]*">', page)
    assert re.search(r'name="\*:email" value="y"[^>]*checked>', page)


# --- the API -----------------------------------------------------------------------------

def test_api_lists_pages_and_filters_unread(make, api_as):
    user = make.user("Ana")
    ids = tell(user, 5, url="/x")
    api = api_as(user)
    first = api.get("/api/v1/notifications?limit=3").get_json()
    assert [n["id"] for n in first["items"]] == ids[::-1][:3] and first["unread"] == 5
    assert first["items"][0]["title"] == "Note 5" and first["items"][0]["url"] == "/x"
    assert first["items"][0]["read_at"] is None and first["items"][0]["created_at"].endswith("Z")
    rest = api.get(f"/api/v1/notifications?limit=3&cursor={first['next_cursor']}").get_json()
    assert [n["id"] for n in rest["items"]] == ids[::-1][3:] and rest["next_cursor"] is None

    api.post("/api/v1/notifications/read", json={"ids": ids[:2]})
    unread = api.get("/api/v1/notifications?unread=1").get_json()
    assert [n["id"] for n in unread["items"]] == ids[::-1][:3] and unread["unread"] == 3


def test_api_marks_all_read(make, api_as):
    user = make.user("Al")
    tell(user, 4)
    api = api_as(user)
    assert api.post("/api/v1/notifications/read", json={"all": True}).get_json() == {"marked": 4, "unread": 0}
    assert all(n["read_at"] for n in api.get("/api/v1/notifications").get_json()["items"])


def test_api_refuses_bad_input(make, api_as):
    api = api_as(make.user("Bo"))
    problem(api.post("/api/v1/notifications/read", json={"ids": "all"}), 422)
    problem(api.post("/api/v1/notifications/read", json={"all": "yes"}), 422)
    problem(api.get("/api/v1/notifications?limit=0"), 422)
    problem(api.get("/api/v1/notifications?cursor=nonsense"), 422)


def test_old_and_new_notes_keep_their_order(make, api_as):
    """Paging is by id, so a note written later with an older time still comes first."""
    user = make.user("Cy")
    [a, b] = tell(user, 2)
    with write_transaction():
        db.session.get(Notification, b).created_at = utcnow() - timedelta(days=3)
    assert [n["id"] for n in api_as(user).get("/api/v1/notifications").get_json()["items"]] == [b, a]
