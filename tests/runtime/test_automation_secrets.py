"""Masking automations' webhook URLs, and finding the stored URL a masked one stands for."""
from __future__ import annotations

import pytest

from formloom.runtime.automations.secrets import (
    is_masked,
    keep_secrets,
    mask_url,
    masked,
    masked_errors,
)


@pytest.mark.parametrize(("url", "expected"), [
    ("https://hooks.example.com/services/T0/B0/TOKEN", "https://hooks.example.com/…"),
    ("https://hooks.example.com", "https://hooks.example.com/…"),
    ("http://example.com:8080/x?key=secret#frag", "http://example.com:8080/…"),
    ("https://user:password@example.com/x", "https://example.com/…"),  # credentials are secrets too
    ("http://[2001:db8::1]:81/x", "http://[2001:db8::1]:81/…"),
    ("not a url", "…"),
    ("http://example.com:99999/x", "…"),
])
def test_mask_url_keeps_scheme_host_and_port_only(url, expected):
    assert mask_url(url) == expected
    assert is_masked(mask_url(url)) and mask_url(mask_url(url)) == mask_url(url)


def _defn(*urls, key="a") -> dict:
    return {"automations": [{"key": key, "actions": [{"type": "webhook", "url": u} for u in urls]}]}


def test_masked_urls_come_back_as_stored_by_place_then_by_a_unique_mask():
    stored = _defn("https://h.example/one", "https://h.example/two", "https://other.example/x")
    assert masked(stored)["automations"][0]["actions"][0]["url"] == "https://h.example/…"
    assert stored["automations"][0]["actions"][0]["url"] == "https://h.example/one"  # a copy was masked
    assert keep_secrets(masked(stored), stored) == stored
    # Elsewhere: only a mask that one stored URL has is found; two candidates are not guessed between.
    moved = _defn("https://other.example/…", "https://h.example/…", key="b")
    kept = keep_secrets(moved, stored)
    assert [a["url"] for a in kept["automations"][0]["actions"]] == ["https://other.example/x", "https://h.example/…"]
    assert masked_errors(kept) == [{"pointer": "/automations/0/actions/1/url",
                                    "message": masked_errors(kept)[0]["message"]}]
    assert keep_secrets(None, stored) is None and keep_secrets(moved) == moved
