from __future__ import annotations

import datetime as dt
import uuid as uuid_lib

from advanced_alchemy.base import BigIntAuditBase
from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import JSON
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from uuid_utils.compat import uuid7

# JSON on SQLite, JSONB on PostgreSQL. advanced-alchemy's ``JsonB`` adds an Oracle variant whose
# ``_set_table`` breaks on SQLAlchemy 2.1 (``util.portable_instancemethod`` is gone); the app runs
# on SQLite and PostgreSQL only, so the two variants it needs are plain SQLAlchemy.
JsonB = JSON().with_variant(postgresql.JSONB(), "postgresql")


def new_uuid() -> uuid_lib.UUID:
    """A time-ordered v7 id (uuid-utils, a declared dependency): better index locality than v4."""
    return uuid7()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(BigIntAuditBase):
    """Integer primary key (the seed's ``id``) plus audit timestamps."""

    __abstract__ = True


class UUIDColumn:
    """Public identifier: every API path and payload uses ``uuid``, never the integer id."""

    @declared_attr
    def uuid(cls) -> Mapped[uuid_lib.UUID]:
        return mapped_column(GUID, default=new_uuid, unique=True, nullable=False, sort_order=-90)


class SoftDelete:
    @declared_attr
    def deleted_at(cls) -> Mapped[dt.datetime | None]:
        return mapped_column(DateTimeUTC(timezone=True), nullable=True, default=None, sort_order=3004)
