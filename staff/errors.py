"""A user-facing error raised by staff services and shown by views in the staff's language."""

from __future__ import annotations

from flask_babel import gettext
from werkzeug.exceptions import BadRequest


def N_(message: str) -> str:
    """Mark a message for translation without translating it yet (it is shown later)."""
    return message


class StaffError(ValueError):
    """Bad input a service refuses; `msgid` is an English catalogue message, `params` fill it."""

    def __init__(self, msgid: str, **params: object) -> None:
        super().__init__(msgid % params if params else msgid)
        self.msgid = msgid
        self.params = params

    def translated(self) -> str:
        """Return the message in the current request's language."""
        return gettext(self.msgid, **self.params)


class BadArgument(BadRequest):
    """A query argument or path part that is malformed or out of range: answered with 400."""

    msgid = N_("The value of “%(name)s” is not valid.")

    def __init__(self, name: str) -> None:
        super().__init__(f"bad value for {name!r}")
        self.argument = name

    def translated(self) -> str:
        """Return the message in the current request's language."""
        return gettext(self.msgid, name=self.argument)
