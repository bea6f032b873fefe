"""Is a webhook URL safe to call? SSRF defence, checked at save and again at every send.

A webhook makes the server send requests where an app admin says; without care that is a
way into the internal network (the cloud metadata service at 169.254.169.254, a database
on localhost). So: http(s) only, no user:password, the host parsed strictly (no decimal,
octal, hex or shortened IPv4 forms, which resolvers read differently), every address the
name resolves to checked, and the caller connects to exactly the addresses checked here,
so a DNS answer that changes between check and connect cannot slip through.
"""
from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext

from formloom.platform.i18n import N_

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeURL(Exception):
    """The URL may not be called; `message % params` says why (English, translatable)."""

    def __init__(self, message: str, **params):
        self.message = message
        self.params = params
        super().__init__(message % params if params else message)


def explain(exc: UnsafeURL) -> str:
    """Why the URL was refused, in the reader's language."""

    params = {k: gettext(v) if k == "reason" else v for k, v in exc.params.items()}
    return gettext(exc.message, **params)


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # the name (or literal) as written: the Host header and the TLS name
    port: int
    path_qs: str
    addresses: tuple[str, ...]  # the checked addresses to connect to


def allowed_hosts() -> list[str]:
    """Host names the instance's admin lets webhooks reach although they are internal."""

    value = current_app.config.get("FORMLOOM_WEBHOOK_ALLOWED_HOSTS") or ""
    items = value.split(",") if isinstance(value, str) else list(value)
    return [h.strip().lower() for h in items if h and h.strip()]


def refusal(url) -> str | None:
    """Why a webhook may not be saved with `url`, in the reader's language, or None.

    The one check at save: webhook subscriptions, and automations' webhook actions when a
    draft is validated or published. Sending checks again (`check_url`): DNS may change.
    """
    try:
        check_url(url.strip() if isinstance(url, str) else url, allowed_hosts())
    except UnsafeURL as exc:
        return explain(exc)
    return None


def check_url(url: str, allowed_hosts=()) -> Target:
    """The target of `url` with its checked addresses. Raises UnsafeURL."""
    parts = _split(url)
    host, literal = _host(parts)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path_qs = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    allowed = host in {h.strip().lower().strip("[]") for h in allowed_hosts if h and h.strip()}
    addresses = (literal,) if literal else _resolve(host, port)
    if not allowed:
        for address in addresses:
            reason = forbidden(address)
            if reason:
                if address == host:
                    raise UnsafeURL(N_("%(address)s is %(reason)s"), address=address, reason=reason)
                raise UnsafeURL(N_("%(host)s resolves to %(address)s, %(reason)s"), host=host, address=address,
                                reason=reason)
    return Target(parts.scheme, host, port, path_qs, tuple(addresses))


def _split(url: str):
    if not isinstance(url, str) or not url.strip():
        raise UnsafeURL(N_("the URL is empty"))
    if any(ch in url for ch in "\r\n\t ") or len(url) > 2000:
        raise UnsafeURL(N_("the URL has spaces or is longer than 2000 characters"))
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL(N_("only http:// and https:// URLs are allowed"))
    if "@" in parts.netloc:
        raise UnsafeURL(N_("a user name or password in the URL is not allowed"))
    try:
        parts.port  # noqa: B018 - raises ValueError when the port is not a number 0-65535
    except ValueError:
        raise UnsafeURL(N_("the port is not valid")) from None
    if parts.port == 0:
        raise UnsafeURL(N_("the port is not valid"))
    return parts


def _host(parts) -> tuple[str, str | None]:
    """(host, the IP literal or None); a name is returned in lower-case ASCII (IDNA)."""
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeURL(N_("the URL has no host"))
    if parts.netloc.split(":")[0].startswith("[") or ":" in host:
        try:
            return host, str(ipaddress.IPv6Address(host.split("%")[0]))
        except ValueError:
            raise UnsafeURL(N_("the IPv6 address is not valid")) from None
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UnsafeURL(N_("the host name is not valid")) from None
    labels = host.split(".")
    if _NUMERIC_LABEL.match(labels[-1]):
        # Only the plain dotted quad: 2130706433, 0177.0.0.1, 0x7f.1 and 127.1 all mean 127.0.0.1
        # to some resolvers and something else (or nothing) to others.
        try:
            return host, str(ipaddress.IPv4Address(host))
        except ValueError:
            raise UnsafeURL(N_("only a plain dotted IPv4 address (like 203.0.113.5) is allowed as a numeric host")) from None
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise UnsafeURL(N_("the host name is not valid"))
    return host, None


def _resolve(host: str, port: int) -> tuple[str, ...]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise UnsafeURL(N_("the host %(host)s does not resolve"), host=host) from None
    addresses = tuple(dict.fromkeys(info[4][0].split("%")[0] for info in infos))
    if not addresses:
        raise UnsafeURL(N_("the host %(host)s does not resolve"), host=host)
    return addresses


def forbidden(address: str) -> str | None:
    """Why the server may not call `address`, or None when it is a public address."""
    ip = ipaddress.ip_address(address)
    if ip.version == 6:
        if ip.ipv4_mapped is not None or (int(ip) >> 32 == 0 and int(ip) > 1):
            return N_("an IPv4-mapped or IPv4-compatible IPv6 address")
        embedded = ip.sixtofour or (ip.teredo[1] if ip.teredo else None) or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None)
        if embedded is not None and forbidden(str(embedded)):
            return N_("an IPv6 address embedding a non-public IPv4 address")
    for test, reason in (("is_loopback", N_("a loopback address")), ("is_unspecified", N_("an unspecified address")),
                         ("is_link_local", N_("a link-local address")), ("is_multicast", N_("a multicast address")),
                         ("is_private", N_("a private address")), ("is_reserved", N_("a reserved address"))):
        if getattr(ip, test):
            return reason
    if ip.version == 4 and ip in _CGNAT:
        return N_("a shared (CGNAT) address")
    if ip.version == 6 and (ip in ipaddress.ip_network("fc00::/7") or ip.is_site_local):
        return N_("a unique-local address")
    if not ip.is_global:
        return N_("not a public address")
    return None
