"""A gallery view's page: a card per record with its cover image, title and card fields,
a page at a time; a record without an image gets a placeholder."""
from __future__ import annotations

import io

from formloom.app_templates import load_definition
from formloom.runtime.records import service
from formloom.runtime.web import gallerypage

APP = "/a/sales_mini"


def test_cards_with_covers_and_pages(client, auth, make, owner, html, monkeypatch):
    d = load_definition("sales_mini")
    company = next(f for f in d["forms"] if f["key"] == "company")
    company["fields"].append({"key": "logo", "type": "image", "label": "Logo"})
    d["views"].append({"key": "logos", "form": "company", "type": "gallery", "name": "Logos", "sort": ["name"],
                       "options": {"cover": "logo", "card_fields": ["tier", "revenue"]}})
    rt = make.install(d, owner=owner)
    auth.login(owner.email)
    token = client.get(f"{APP}/f/company/new").get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    resp = client.post(f"{APP}/f/company/new", content_type="multipart/form-data", data={
        "csrf_token": token, "name": "Acme", "revenue": "1200",
        "logo": (io.BytesIO(b"\x89PNG fake"), "acme.png", "image/png")})
    assert resp.status_code == 302
    for name in ("Beta", "Gamma"):
        service.create(make.actor(owner), rt, "company", {"name": name})
    monkeypatch.setattr(gallerypage, "PAGE_SIZE", 2)
    page = html(client.get(f"{APP}/v/logos"))
    cards = page.select("article", **{"data-card": ""})
    assert [c.one("a", cls="fl-kcard-title").text for c in cards] == ["Acme", "Beta"]
    img = cards[0].one("img")
    shown = client.get(img.attrs["src"])
    assert img.attrs["src"].endswith("?inline=1") and shown.status_code == 200
    shown.close()
    assert cards[1].select("img") == [] and cards[1].select("i", cls="bi-image")
    assert "Annual revenue ¥1,200.00" in cards[0].text
    nxt = page.one("a", rel="next").attrs["href"]
    assert [c.one("a", cls="fl-kcard-title").text for c in html(client.get(nxt)).select("article", **{"data-card": ""})] == ["Gamma"]
