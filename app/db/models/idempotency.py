"""Stored answers to POST requests sent with an ``Idempotency-Key`` (app/lib/idempotency.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, JsonB


class IdempotencyKey(Base):
    """One key of one token: claimed (``status_code`` NULL, ``owner`` set) while its first request
    runs, then holding that request's answer until ``expires_at``.

    The unique ``(token_id, key)`` is what makes concurrent retries create one row: the claim is
    inserted in its own transaction before the request runs, and only one insert can win."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("token_id", "key", name="uq_idempotency_keys_token_key"),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )

    # A dashboard session is a token too; revoking keeps the row, deleting the token drops its keys.
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(Text)  # path and normalised query, for the 422's message
    request_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of method, path, query, canonical body
    owner: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the claim's holder, while in flight
    locked_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_headers: Mapped[list[Any] | None] = mapped_column(JsonB, nullable=True)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
