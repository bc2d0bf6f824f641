"""A resident's form in progress: the engine's whole state lives in this row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class Conversation(Base):
    """One form per resident and form id; at most one of a resident's rows is active."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("resident_id", "form_id",
                                       name="uq_conversations_resident_form"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"),
                                             index=True)
    form_id: Mapped[str] = mapped_column(String(64))
    # "active" answers the next message; "paused" waits for the resident to resume it.
    status: Mapped[str] = mapped_column(String(16), default="active")
    step: Mapped[str] = mapped_column(String(128), default="")
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Hidden inputs the form was started with (an invite code, the fields being edited).
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    history: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Selections of a multi-choice question before "done", and the field being edited.
    draft: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Bumped with every prompt sent: a postback carrying an older nonce is stale.
    nonce: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
