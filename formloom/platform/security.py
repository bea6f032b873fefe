"""Security headers on every response; cookies marked Secure whenever the request came over HTTPS.

One `after_request` hook sets the headers on everything Flask answers: pages, error pages,
the API (problem+json too), static files and downloads. Our pages run only the scripts and
styles of our own static folders: no inline code, no eval, nothing from another site. Any
other response (JSON, files, exports) gets a policy under which a browser that opens it as a
document runs nothing and treats it as a foreign origin, so an uploaded HTML or SVG file can
never act as one of our pages.
"""
from __future__ import annotations

from flask import Flask, Response, has_request_context, request
from werkzeug.middleware.proxy_fix import ProxyFix

# Bootstrap's CSS draws a few icons (select arrows, close buttons) as data: images.
PAGE_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Full addresses stay on the site; other sites learn nothing of the page a link was on.
    "Referrer-Policy": "same-origin",
}


def is_page(response: Response) -> bool:
    """An HTML document of ours (not an HTML file handed out as a download)."""
    disposition = response.headers.get("Content-Disposition", "").lower()
    return response.mimetype == "text/html" and not disposition.startswith("attachment")


def set_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = PAGE_POLICY if is_page(response) else OTHER_POLICY
    response.headers.update(HEADERS)
    return response


class HttpsAwareResponse(Response):
    """Every cookie the app sets (session, remember-me) is Secure when the request was HTTPS.

    Flask's session and Flask-Login both read a fixed setting; this makes HTTPS requests
    Secure whatever it says (`FORMLOOM_SECURE_COOKIES=1` still forces it for all).
    """

    def set_cookie(self, key, value="", max_age=None, expires=None, path="/", domain=None, secure=False,
                   *args, **kwargs):
        secure = secure or (has_request_context() and request.is_secure)
        super().set_cookie(key, value, max_age, expires, path, domain, secure, *args, **kwargs)


def init_app(app: Flask) -> None:
    app.response_class = HttpsAwareResponse
    app.after_request(set_headers)
    hops = app.config.get("FORMLOOM_PROXY_FIX") or 0
    if hops:
        # Behind `hops` proxies: their X-Forwarded-Proto says whether the visitor used HTTPS
        # and X-Forwarded-For who the visitor is (sign-in limits, audit lines).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
