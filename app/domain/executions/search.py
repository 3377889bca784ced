"""Substring search over executions (workflow name, error text or content), compiled per database.

- Content (migration 0016): ``workflow_execution_data.content_folded``, the text values of node
  names, node input and output and metadata, bounded and lowercased when written. PostgreSQL:
  ``id = ANY(ARRAY(<the listed workspaces' data rows whose content_folded LIKE lower('%term%')>))``,
  an init-plan over the trigram GIN index (migration 0019: data rows carry their workspace, so
  only the listed workspaces' execution ids come out of it), so the arm is an index condition
  that BitmapOr can join. SQLite: the same ``LIKE`` in an ``IN`` subquery (a scan of the column;
  correct, not indexed).

- PostgreSQL: ``workflow_id = ANY(ARRAY(<matching workflows>)) OR error_folded LIKE lower('%term%')``
  (``error_folded``: the error's first 500 characters, lowercased on write; migration 0013). The
  ``ARRAY(subquery)`` is an init-plan evaluated once, so both arms are index conditions (btree on
  ``workflow_id``, trigram GIN on ``error_folded``) and the planner can BitmapOr them; a plain
  ``workflow_id IN (subquery) OR ...`` cannot use an index for the OR and filters row by row.
- SQLite: the error arm is a lookup in the FTS5 trigram table ``executions_error_fts`` (migration
  0003) for terms of 3+ characters; shorter terms fall back to ``LIKE`` (trigrams need 3).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, ColumnElement, Text, any_, column, func, literal_column, or_, select, table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from app.db.models import Workflow, WorkflowExecution
from app.domain.executions.id_search import IdRef, id_match

E = WorkflowExecution
FTS = table("executions_error_fts", column("rowid"), column("executions_error_fts"))
MIN_TRIGRAM = 3
# PostgreSQL's generated column (migration 0013), not mapped: SQLite has no such column.
ERROR_FOLDED = literal_column("workflow_executions.error_folded", Text)
ERROR_SEARCHED = 500  # characters of the error that search covers on PostgreSQL
# Not mapped on the model: a generated column on PostgreSQL (an ORM insert must not name it).
# ``workspace_id`` is PostgreSQL's only (migration 0019, kept by a trigger).
CONTENT = table(
    "workflow_execution_data",
    column("execution_id"),
    # Typed: an untyped column binds its ids as INTEGER, and btree_gin's int8 key cannot take an
    # int4 operand, so PostgreSQL filtered the workspace on the heap instead of in the index.
    column("workspace_id", BigInteger),
    column("content_folded"),
    column("deleted_at"),
)


def like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def fts_phrase(term: str) -> str:
    """One FTS5 phrase: the term matched as a literal substring (quotes doubled, no operators)."""
    return '"' + term.replace('"', '""') + '"'


def error_match(term: str, dialect: str) -> ColumnElement[bool]:
    """The error arm. PostgreSQL: ``LIKE`` on ``error_folded`` (migration 0013: the first
    ``ERROR_SEARCHED`` characters, lowercased when written; trigram GIN and the covering indexes
    carry it). SQLite: FTS5 for 3+ characters, else ``LIKE``."""
    if dialect == "postgresql":
        return ERROR_FOLDED.like(func.lower(like_pattern(term)), escape="\\")
    # FTS5's query parser ends a string at NUL ("unterminated string"): such terms take the LIKE path.
    if dialect == "sqlite" and len(term) >= MIN_TRIGRAM and "\x00" not in term:
        return E.id.in_(select(FTS.c.rowid).where(FTS.c.executions_error_fts.match(fts_phrase(term))))
    return E.error.ilike(like_pattern(term), escape="\\")


def content_match(term: str, dialect: str, workspace_ids: list[int]) -> ColumnElement[bool]:
    """The content arm: node names, node input/output text and metadata values (migration 0016),
    of the executions in ``workspace_ids`` (PostgreSQL reads only their data rows, migration 0019)."""
    matching = select(CONTENT.c.execution_id).where(
        CONTENT.c.content_folded.like(func.lower(like_pattern(term)), escape="\\"), CONTENT.c.deleted_at.is_(None)
    )
    if dialect == "postgresql":
        matching = matching.where(CONTENT.c.workspace_id.in_(workspace_ids))
        return E.id == any_(func.array(matching.scalar_subquery()))
    return E.id.in_(matching)


def resolved_search(term: str, workflow_ids: list[int], dialect: str, workspace_ids: list[int]) -> ColumnElement[bool]:
    """``SearchMatch`` once its workflow-name arm is resolved to ids, in plain clauses (the term and
    ids are bound parameters, so SQLAlchemy caches the compiled statement)."""
    text_arms = or_(error_match(term, dialect), content_match(term, dialect, workspace_ids))
    return or_(E.workflow_id.in_(workflow_ids), text_arms) if workflow_ids else text_arms


class SearchMatch(ColumnElement[bool]):
    """True where the workflow's name or the execution's error contains ``term`` (case-insensitive)."""

    type = Boolean()
    _is_implicitly_boolean = True  # a predicate: no "= 1" appended on SQLite
    inherit_cache = False  # the term lives outside the cache key; such statements are not cached

    def __init__(
        self, term: str, workspace_ids: list[int], workflow_ids: list[int] | None = None, ref: IdRef | None = None
    ) -> None:
        self.term = term
        self.ref = ref  # the term read as a fragment of an execution id, OR'd in (``id_search``)
        self.workspace_ids = list(workspace_ids)
        # Resolved beforehand (``resolve_search``): the planner then sees real ids, or no workflow arm at
        # all, and estimates the error arm alone; an unresolved subquery looks like ~20k rows to it and
        # makes it walk the whole workspace in order for a term that matches nothing.
        self.workflow_ids = workflow_ids

    def matching_workflows(self) -> Any:
        return select(Workflow.id).where(
            Workflow.workspace_id.in_(self.workspace_ids),
            Workflow.name.ilike(like_pattern(self.term), escape="\\"),
        )


def _text_and_id(element: SearchMatch, dialect: str) -> ColumnElement[bool]:
    """The error and content arms, with the id arm when the term reads as an id fragment."""
    arms = [error_match(element.term, dialect), content_match(element.term, dialect, element.workspace_ids)]
    if element.ref is not None:
        arms.append(id_match(element.ref, dialect))
    return or_(*arms)


@compiles(SearchMatch)
def _compile_default(element: SearchMatch, compiler: SQLCompiler, **kw: Any) -> str:
    error = _text_and_id(element, "sqlite")
    if element.workflow_ids is None:
        return "(" + compiler.process(E.workflow_id.in_(element.matching_workflows()) | error, **kw) + ")"
    if not element.workflow_ids:
        return compiler.process(error, **kw)
    return "(" + compiler.process(E.workflow_id.in_(element.workflow_ids) | error, **kw) + ")"


@compiles(SearchMatch, "postgresql")
def _compile_postgresql(element: SearchMatch, compiler: SQLCompiler, **kw: Any) -> str:
    error = "(" + compiler.process(_text_and_id(element, "postgresql"), **kw) + ")"
    if element.workflow_ids is not None:
        if not element.workflow_ids:
            return error
        return "(" + compiler.process(E.workflow_id.in_(element.workflow_ids), **kw) + f" OR {error})"
    subquery = compiler.process(element.matching_workflows(), asfrom=False, **kw)
    workflow_id = compiler.process(E.workflow_id.expression, **kw)
    return f"({workflow_id} = ANY(ARRAY({subquery})) OR {error})"
