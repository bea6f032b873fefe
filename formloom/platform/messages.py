"""Domain messages by stable code: the one translation strategy for errors.

A service raises an error with a `Message` and its parameters
(`raise Conflict.of(EMAIL_TAKEN, email=email)`): the error carries the message's `code`
("org.email_taken"), its `params`, and its English text (`exc.message`, for logs and the audit
trail). The edge renders it: the API answers problem+json with `code`, `params` and the English
`detail`; pages and emails show `exc.localized()`, the catalogue's text in the reader's
language. Nothing translates a message back from its English words.

A `Message` is declared once, at module level, with `message(code, N_("English %(param)s"))`
(`N_` marks it for scripts/i18n.sh); codes are unique (`catalogue()` lists them all). An
error raised without one gets its class's code (`not_found`, `invalid_record`, ...).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext

_CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
_catalogue: dict[str, Message] = {}


@dataclass(frozen=True)
class Message:
    code: str  # stable: API clients may switch on it; never reworded
    text: str  # English with %(name)s parameters; also the catalogue's msgid

    def english(self, **params) -> str:
        return self.text % params if params else self.text

    def localized(self, **params) -> str:
        """In the current locale (Flask-Babel's: the reader's, or a `force_locale`)."""
        text = gettext(self.text)
        return text % params if params else text


def message(code: str, text: str) -> Message:
    """Declare a message; its code must be new."""
    if not _CODE.match(code):
        raise ValueError(f"message code {code!r} is not dotted lower-case words")
    if code in _catalogue and _catalogue[code].text != text:
        raise ValueError(f"message code {code!r} is declared twice")
    _catalogue[code] = Message(code, text)
    return _catalogue[code]


def get(code: str | None) -> Message | None:
    return _catalogue.get(code) if code else None


def catalogue() -> dict[str, Message]:
    """Every declared message by code (those of modules imported so far)."""
    return dict(_catalogue)
