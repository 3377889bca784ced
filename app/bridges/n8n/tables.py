"""The bridge's tables (migration 0021), as SQLAlchemy Core tables of their own metadata: the bridge
reads and writes them; the app's ORM models never see them (``status`` reads them for /ready)."""

from __future__ import annotations

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, Boolean, Column, Float, ForeignKey, Integer, MetaData, String, Table, Text

metadata = MetaData()
_BIGINT = BigInteger().with_variant(Integer(), "sqlite")

# Referenced tables, declared by name only so the foreign keys resolve inside this metadata.
for _name in ("workspaces", "users", "workflows", "workflow_executions", "workflow_approvals"):
    Table(_name, metadata, Column("id", _BIGINT, primary_key=True))


def _when(name: str, nullable: bool = True) -> Column:  # type: ignore[type-arg]
    return Column(name, DateTimeUTC(timezone=True), nullable=nullable)


bridges = Table(
    "n8n_bridges",
    metadata,
    Column("id", _BIGINT, primary_key=True, autoincrement=True),
    Column("workspace_id", _BIGINT, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("base_url", String(500), nullable=False),
    Column("user_id", _BIGINT, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("cursor_id", BigInteger, nullable=False, default=0),
    Column("state", String(20), nullable=False, default="starting"),
    Column("poll_seconds", Float, nullable=False, default=1.0),
    Column("backoff_seconds", Float, nullable=False, default=0.0),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Column("last_poll_seconds", Float, nullable=True),
    Column("polls", BigInteger, nullable=False, default=0),
    Column("failures", BigInteger, nullable=False, default=0),
    Column("mirrored", BigInteger, nullable=False, default=0),
    Column("resumes", BigInteger, nullable=False, default=0),
    Column("stops_refused", BigInteger, nullable=False, default=0),
    _when("last_ok_at"),
    _when("heartbeat_at"),
    _when("created_at", nullable=False),
    _when("updated_at", nullable=False),
)

workflow_links = Table(
    "n8n_workflow_links",
    metadata,
    Column("bridge_id", _BIGINT, ForeignKey("n8n_bridges.id", ondelete="CASCADE"), primary_key=True),
    Column("n8n_id", String(64), primary_key=True),
    Column("workflow_id", _BIGINT, ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False),
    Column("n8n_updated_at", String(64), nullable=True),
)

execution_links = Table(
    "n8n_execution_links",
    metadata,
    Column("bridge_id", _BIGINT, ForeignKey("n8n_bridges.id", ondelete="CASCADE"), primary_key=True),
    Column("n8n_id", BigInteger, primary_key=True),
    Column("execution_id", _BIGINT, ForeignKey("workflow_executions.id", ondelete="CASCADE"), nullable=False),
    Column("n8n_status", String(20), nullable=False),
    Column("is_open", Boolean, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("approval_id", _BIGINT, ForeignKey("workflow_approvals.id", ondelete="SET NULL"), nullable=True),
    Column("resume_url", Text, nullable=True),
    Column("resume_method", String(10), nullable=True),
    _when("resumed_at"),
    Column("resume_error", Text, nullable=True),
    _when("stop_seen_at"),
    _when("updated_at", nullable=False),
)
