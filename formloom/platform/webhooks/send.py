"""POSTing one webhook body to the address that was checked, and nothing else.

The connection is opened to an address from `safety.check_url` (never to the name again,
which could resolve elsewhere by now); the Host header and the TLS name check use the name
the admin wrote. Redirects are not followed (a 3xx is a failure): following one would go to
a place nobody checked. The response body is read (at most 64 KiB, so the connection ends
cleanly) and thrown away: it is never stored or shown, so a webhook cannot be used to read
internal pages.
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from formloom.platform.webhooks.safety import Target

TIMEOUT = 10  # seconds, for connecting and for each read
MAX_READ = 64 * 1024


@dataclass(frozen=True)
class Outcome:
    ok: bool
    http_status: int | None
    error: str | None
    duration_ms: int


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Formloom-Signature value: HMAC-SHA256 of "<timestamp>.<body>" with the secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def headers(secret: str, event_type: str, event_id: int | str, body: bytes, now: float | None = None,
            delivery_id: str | None = None) -> dict:
    """The headers of a webhook POST. `X-Formloom-Delivery` is the same for every attempt of one
    delivery and different for any other (the job's id): receivers deduplicate by it, since a
    delivery may arrive more than once. `X-Formloom-Event-Id` names the event behind it."""
    timestamp = str(int(now if now is not None else time.time()))
    return {"Content-Type": "application/json", "User-Agent": "Formloom-Webhook",
            "X-Formloom-Event": event_type, "X-Formloom-Event-Id": str(event_id),
            "X-Formloom-Delivery": delivery_id or str(event_id),
            "X-Formloom-Timestamp": timestamp, "X-Formloom-Signature": sign(secret, timestamp, body)}


def post(target: Target, body: bytes, head: dict, timeout: float = TIMEOUT) -> Outcome:
    """POST `body` to the target's checked addresses; what happened (never the response body)."""
    started = time.monotonic()
    try:
        status = _exchange(target, body, head, timeout)
    except TimeoutError:
        return _outcome(started, None, f"timed out after {timeout:g} s")
    except ssl.SSLCertVerificationError as exc:
        return _outcome(started, None, f"TLS certificate not accepted: {exc.verify_message}"[:200])
    except (OSError, http.client.HTTPException) as exc:
        return _outcome(started, None, f"connection failed: {type(exc).__name__}: {exc}"[:200])
    if 200 <= status < 300:
        return _outcome(started, status, None)
    if 300 <= status < 400:
        return _outcome(started, status, f"redirect not followed (HTTP {status})")
    return _outcome(started, status, f"HTTP {status}")


def _outcome(started: float, status: int | None, error: str | None) -> Outcome:
    return Outcome(error is None, status, error, int((time.monotonic() - started) * 1000))


def _exchange(target: Target, body: bytes, head: dict, timeout: float) -> int:
    sock = _connect(target, timeout)
    conn = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    conn.sock = sock  # already connected to the checked address: http.client will not connect again
    try:
        conn.request("POST", target.path_qs, body=body, headers=head)
        response = conn.getresponse()
        response.read(MAX_READ)
        return response.status
    finally:
        conn.close()


def _connect(target: Target, timeout: float) -> socket.socket:
    error: OSError | None = None
    for address in target.addresses:
        try:
            sock = socket.create_connection((address, target.port), timeout=timeout)
        except OSError as exc:
            error = exc
            continue
        if target.scheme == "https":
            context = ssl.create_default_context()
            try:
                return context.wrap_socket(sock, server_hostname=target.host)
            except BaseException:
                sock.close()
                raise
        return sock
    raise error or OSError("no address to connect to")
