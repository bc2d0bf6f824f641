"""What a handler gets: the event, a session in the event's transaction, and a reply buffer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityhall.city import City, current_city
from cityhall.db import dialect_insert
from cityhall.i18n import spoken, translate
from cityhall.languages import DEFAULT_LANGUAGE
from models import Resident


@dataclass
class EventContext:
    session: Session
    event: Any  # a linebot.v3.webhooks event model
    raw: dict[str, Any]
    now: datetime
    replies: list[dict[str, Any]] = field(default_factory=list)
    # LINE calls that must not run before the change is committed (a rich-menu link).
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    _resident: Resident | None = None

    @property
    def user_id(self) -> str | None:
        source = self.raw.get("source") or {}
        return source.get("userId")

    @property
    def reply_token(self) -> str | None:
        return self.raw.get("replyToken")

    def find_resident(self) -> Resident | None:
        """Return the resident who sent the event, if known."""
        if self._resident is None and self.user_id:
            self._resident = self.session.scalars(
                select(Resident).where(Resident.line_user_id == self.user_id)
            ).first()
        return self._resident

    def resident(self) -> Resident:
        """Return the sender, creating the record for a user who followed before we existed.

        An upsert: two first events of one user at once (PostgreSQL) both insert; the second
        waits for the first to commit, inserts nothing, and reads the committed row.
        """
        found = self.find_resident()
        if found is None:
            if not self.user_id:
                raise LookupError("event has no user")
            self.session.execute(
                dialect_insert(self.session)(Resident)
                .values(line_user_id=self.user_id, followed_at=self.now)
                .on_conflict_do_nothing(index_elements=["line_user_id"]))
            found = self.find_resident()
            if found is None:
                raise LookupError(f"resident {self.user_id} neither inserted nor found")
        return found

    @cached_property
    def city(self) -> City:
        """Return the city's settings (time zone, form expiry) that services take."""
        return current_city()

    @property
    def language(self) -> str:
        resident = self.find_resident()
        return spoken(resident.language) if resident else DEFAULT_LANGUAGE

    def t(self, message: str, **variables: object) -> str:
        """Translate into the sender's language."""
        return translate(self.language, message, **variables)

    def reply(self, *messages: dict[str, Any]) -> None:
        """Queue messages for the reply, sent once the event's transaction commits."""
        self.replies.extend(messages)
