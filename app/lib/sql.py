"""Small SQL helpers shared by services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

from sqlalchemy import ARRAY, BigInteger, Result, Row, Select, Table, any_, bindparam
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

# SQLAlchemy 2.1 types a select and its rows by their columns (``Select[int, str]``), so
# ``Select[Any]`` means ONE column of any type. These are the "any number of columns" forms.
AnySelect: TypeAlias = Select[*tuple[Any, ...]]
AnyRow: TypeAlias = Row[*tuple[Any, ...]]


def any_of(session: AsyncSession, column: Any, ids: Sequence[int]) -> Any:
    """``column IN ids``. On PostgreSQL one array parameter (``= ANY($1)``): the statement text and
    its prepared plan stay the same whatever the count, where an expanding IN renders, binds and
    plans a new statement with one parameter per id (the cost of a 1,000-execution stop cascade)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(BigInteger())))
    return column.in_(list(ids))


def table_of(model: type[DeclarativeBase]) -> Table:
    """A mapped class's ``Table``, for Core statements (an executemany UPDATE...): SQLAlchemy types
    ``__table__`` as any ``FromClause``, which ``update()`` does not accept."""
    table = model.__table__
    if not isinstance(table, Table):  # a class mapped to a join or a select has no single table
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


def affected_rows(result: Result[*tuple[Any, ...]]) -> int:
    """The rows an UPDATE or DELETE matched. ``Session.execute`` is typed as returning any ``Result``;
    for these statements it is a ``CursorResult``, the one that counts."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} is not the result of an UPDATE or DELETE")
    return result.rowcount
