"""Finding executions by the id a person sees: a whole uuid, or a fragment of 6+ hex characters.

Lists show an execution's id as its **short id**, the last 8 hex characters of its uuid (ids are
uuid v7: the first characters are a timestamp shared by every execution of the same minute, the last
ones random). A fragment matches an execution when it is

- the start of its short id (6 to 8 characters, what someone types after reading the list),
- the end of its uuid (8+ characters: the short id itself, or the last group copied from a log), or
- the start of its uuid (6+ characters, with or without the hyphens).

Every arm is a range on an index, on both databases: the start of the uuid on the unique index of
``uuid`` (``uuid BETWEEN <hex>000… AND <hex>fff…``: both databases order uuids by their bytes), the
short id on ``ix_wfe_short_id`` (migration 0017; an expression index: ``right(uuid::text, 8)``
on PostgreSQL, ``substr(hex(uuid), 25)`` on SQLite). The end of the uuid is the short id's equality
plus a check of the rest on the rows it finds.
"""

from __future__ import annotations

import re
import uuid as uuid_lib
from dataclasses import dataclass

from sqlalchemy import ColumnClause, ColumnElement, and_, false, literal_column, or_

from app.db.models import WorkflowExecution

E = WorkflowExecution
MIN_FRAGMENT = 6
SHORT_ID = 8
_HEX = re.compile(r"[0-9a-f]+")
# The index expressions of migration 0017, written exactly as indexed (SQLite matches an expression
# index only against the same expression, with its literals, not bound parameters).
PG_SHORT_ID: ColumnClause[str] = literal_column('right(workflow_executions.uuid::text, 8) COLLATE "C"')
SQLITE_SHORT_ID: ColumnClause[str] = literal_column("substr(hex(workflow_executions.uuid), 25)")
PG_HEX: ColumnClause[str] = literal_column("replace(workflow_executions.uuid::text, '-', '')")
SQLITE_HEX: ColumnClause[str] = literal_column("lower(hex(workflow_executions.uuid))")


def _hyphenated(hex_digits: str, *, from_end: bool) -> str:
    """``hex_digits`` as they appear in the canonical text form, read from its start or its end."""
    canonical = "00000000-0000-0000-0000-000000000000"
    positions = [i for i, c in enumerate(canonical) if c != "-"]
    if from_end:
        chosen = positions[len(positions) - len(hex_digits) :]
        first = chosen[0]
        text = list(canonical[first:])
        for pos, digit in zip(chosen, hex_digits, strict=True):
            text[pos - first] = digit
        return "".join(text)
    chosen = positions[: len(hex_digits)]
    text = list(canonical[: chosen[-1] + 1])
    for pos, digit in zip(chosen, hex_digits, strict=True):
        text[pos] = digit
    return "".join(text)


@dataclass(frozen=True)
class IdRef:
    """What a typed id means: ``whole`` (a complete uuid) or ``fragment`` (its hex digits)."""

    whole: uuid_lib.UUID | None = None
    fragment: str | None = None

    @property
    def canonical(self) -> str | None:
        return str(self.whole) if self.whole is not None else None


def parse_id_ref(term: str) -> IdRef | None:
    """A whole uuid (any spelling ``uuid.UUID`` reads), a fragment of 6 to 31 hex characters (with
    hyphens only where the canonical form has them, read from its start or its end), or None."""
    term = term.strip().lower()
    try:  # every spelling the search accepted before: hyphens or not, braces, urn:uuid:
        return IdRef(whole=uuid_lib.UUID(term))
    except ValueError:
        pass
    term = term.strip("-")
    digits = term.replace("-", "")
    if not _HEX.fullmatch(digits) or not MIN_FRAGMENT <= len(digits) < 32:
        return None
    if "-" in term and term not in (_hyphenated(digits, from_end=False), _hyphenated(digits, from_end=True)):
        return None
    return IdRef(fragment=digits)


def names(ref: IdRef, execution_uuid: str) -> bool:
    """``id_match`` in Python, for the live pages' match predicate."""
    if ref.whole is not None:
        return execution_uuid == str(ref.whole)
    digits, own = ref.fragment or "", execution_uuid.replace("-", "").lower()
    if own.startswith(digits):
        return True
    if len(digits) <= SHORT_ID:
        return own[-SHORT_ID:].startswith(digits)
    return own.endswith(digits)


def id_match(ref: IdRef, dialect: str) -> ColumnElement[bool]:
    """The condition "this execution is the one ``ref`` names" (see the module docstring)."""
    if ref.whole is not None:
        return E.uuid == ref.whole
    digits = ref.fragment or ""
    if not digits:
        return false()
    pg = dialect == "postgresql"
    short_id, full_hex = (PG_SHORT_ID, PG_HEX) if pg else (SQLITE_SHORT_ID, SQLITE_HEX)
    fold = str.lower if pg else str.upper  # right(uuid::text) is lowercase, hex() uppercase
    arms: list[ColumnElement[bool]] = [
        E.uuid.between(uuid_lib.UUID(digits.ljust(32, "0")), uuid_lib.UUID(digits.ljust(32, "f"))),
    ]
    if len(digits) <= SHORT_ID:
        low, high = fold(digits.ljust(SHORT_ID, "0")), fold(digits.ljust(SHORT_ID, "f"))
        arms.append(short_id.between(low, high))
    else:
        arms.append(and_(short_id == fold(digits[-SHORT_ID:]), full_hex.like(f"%{digits}")))
    return or_(*arms)
