"""the summary counts carry the execution's user (exact list totals with a user filter at scale)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 12:40:00

A list filtered by ``user_multiplai_id`` counted its rows: 640 ms at 1M executions for a user who
owns a whole workspace (issue 20, docs/benchmarks.md). ``user_id`` becomes the last key column of
``execution_day_counts`` and ``execution_status_counts`` (0 for an execution without a user: a key
column cannot be NULL, and user ids start at 1), so a user filter, alone or with the others, is
answered from the summaries like the workflow and status filters. A list without a user filter
sums the users' rows (one per user who ran the workflow that day in that status).

The triggers of migrations 0011 and 0014 are replaced by the same ones with the user in the key;
an UPDATE that changes an execution's ``user_id`` (``ON DELETE SET NULL`` when a user is deleted,
bulk SQL) moves its count like a status change.

- PostgreSQL: altered in place (the tables keep their storage settings of 0015), with writes to the
  executions held (``SHARE ROW EXCLUSIVE``; reads go on) while both tables are refilled from a
  ``GROUP BY`` of the executions, then analysed. At 1M executions see docs/deployment.md.
- SQLite: both tables are recreated (a primary key cannot be altered) and refilled.

The downgrade restores the tables without the user, refilled the same way.
"""

# ruff: noqa: S608  (the SQL below is built from this module's constants only)
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

DAY_KEY = ["workspace_id", "day", "workflow_id", "status"]
STATUS_KEY = ["workspace_id", "workflow_id", "status"]
PG_DAY = "(created_at AT TIME ZONE 'UTC')::date"
USER = "coalesce(user_id, 0)"
EXECUTION_TRIGGERS = {"insert", "update", "delete"}


def _key(base: list[str], with_user: bool) -> list[str]:
    return [*base, "user_id"] if with_user else base


def _pg_day_function(with_user: bool) -> str:
    """Migration 0011's statement-level function, with or without the user in the key."""
    key = ", ".join(_key(DAY_KEY, with_user))
    user_new = f", {USER}" if with_user else ""
    user_old = f", {USER}" if with_user else ""
    groups = ", ".join(str(i) for i in range(1, len(_key(DAY_KEY, with_user)) + 1))
    upsert = f"ON CONFLICT ({key}) DO UPDATE SET n = c.n + EXCLUDED.n;"
    return f"""
CREATE OR REPLACE FUNCTION execution_day_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO execution_day_counts AS c ({key}, n)
        SELECT workspace_id, {PG_DAY}, workflow_id, status{user_new}, count(*)
        FROM new_rows WHERE deleted_at IS NULL
        GROUP BY {groups} ORDER BY {groups}
        {upsert}
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO execution_day_counts AS c ({key}, n)
        SELECT workspace_id, {PG_DAY}, workflow_id, status{user_old}, -count(*)
        FROM old_rows WHERE deleted_at IS NULL
        GROUP BY {groups} ORDER BY {groups}
        {upsert}
    ELSE
        INSERT INTO execution_day_counts AS c ({key}, n)
        SELECT {key}, sum(delta)
        FROM (
            SELECT workspace_id, {PG_DAY} AS day, workflow_id, status{user_new}{" AS user_id" if with_user else ""},
                1 AS delta
            FROM new_rows WHERE deleted_at IS NULL
            UNION ALL
            SELECT workspace_id, {PG_DAY}, workflow_id, status{user_old}, -1
            FROM old_rows WHERE deleted_at IS NULL
        ) AS changed
        GROUP BY {groups} HAVING sum(delta) <> 0 ORDER BY {groups}
        {upsert}
    END IF;
    RETURN NULL;
END
$$
"""


def _pg_status_function(with_user: bool) -> str:
    """Migration 0014's row-level function on the day table, with or without the user."""
    key = ", ".join(_key(STATUS_KEY, with_user))
    user = ", {row}.user_id" if with_user else ""
    values = "{row}.workspace_id, {row}.workflow_id, {row}.status" + user + ", {sign}{row}.n"
    upsert = f"ON CONFLICT ({key}) DO UPDATE SET n = c.n + EXCLUDED.n;"
    return f"""
CREATE OR REPLACE FUNCTION execution_status_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO execution_status_counts AS c ({key}, n)
        VALUES ({values.format(row="OLD", sign="-")})
        {upsert}
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO execution_status_counts AS c ({key}, n)
        VALUES ({values.format(row="NEW", sign="")})
        {upsert}
    END IF;
    RETURN NULL;
END
$$
"""


def _refill(dialect: str, with_user: bool) -> None:
    """Both tables from the executions (the status table from the day table), written in key
    order: a workspace's range of days then lies on a few heap pages (in hash order, 30 days of
    the busiest workspace at 1M executions were 3,000 rows on 2,000 pages)."""
    day_key, status_key = ", ".join(_key(DAY_KEY, with_user)), ", ".join(_key(STATUS_KEY, with_user))
    day = PG_DAY if dialect == "postgresql" else "date(created_at)"
    user = f", {USER}" if with_user else ""
    groups = ", ".join(str(i) for i in range(1, len(_key(DAY_KEY, with_user)) + 1))
    op.execute(
        f"INSERT INTO execution_day_counts ({day_key}, n) "
        f"SELECT workspace_id, {day}, workflow_id, status{user}, count(*) "
        f"FROM workflow_executions WHERE deleted_at IS NULL GROUP BY {groups} ORDER BY {groups}"
    )
    op.execute(
        f"INSERT INTO execution_status_counts ({status_key}, n) "
        f"SELECT {status_key}, sum(n) FROM execution_day_counts GROUP BY {status_key} ORDER BY {status_key}"
    )


def _postgresql(with_user: bool) -> None:
    op.execute("LOCK TABLE workflow_executions IN SHARE ROW EXCLUSIVE MODE")
    # The day table is refilled below: its row trigger would apply every row to the status table.
    op.execute("DROP TRIGGER day_counts_to_status_counts ON execution_day_counts")
    op.execute("TRUNCATE execution_day_counts, execution_status_counts")
    for table, key in (("execution_day_counts", DAY_KEY), ("execution_status_counts", STATUS_KEY)):
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}")
        if with_user:
            op.execute(f"ALTER TABLE {table} ADD COLUMN user_id bigint NOT NULL")
        else:
            op.execute(f"ALTER TABLE {table} DROP COLUMN user_id")
        columns = ", ".join(_key(key, with_user))
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({columns}) INCLUDE (n)")
    op.execute(_pg_day_function(with_user))
    op.execute(_pg_status_function(with_user))
    _refill("postgresql", with_user)
    op.execute(
        "CREATE TRIGGER day_counts_to_status_counts AFTER INSERT OR UPDATE OR DELETE ON execution_day_counts"
        " FOR EACH ROW EXECUTE FUNCTION execution_status_counts_apply()"
    )
    op.execute("ANALYZE execution_day_counts")
    op.execute("ANALYZE execution_status_counts")


def _sqlite_day_upsert(row: str, delta: str, with_user: bool) -> str:
    key = ", ".join(_key(DAY_KEY, with_user))
    user = f", coalesce({row}.user_id, 0)" if with_user else ""
    return (
        f"INSERT INTO execution_day_counts ({key}, n) "
        f"SELECT {row}.workspace_id, date({row}.created_at), {row}.workflow_id, {row}.status{user}, {delta} "
        f"WHERE {row}.deleted_at IS NULL "
        f"ON CONFLICT ({key}) DO UPDATE SET n = n + excluded.n;"
    )


def _sqlite_execution_triggers(with_user: bool) -> dict[str, tuple[str, str, str]]:
    """Migration 0011's row triggers on the executions, with or without the user."""
    changed = (
        "OLD.status IS NOT NEW.status OR (OLD.deleted_at IS NULL) IS NOT (NEW.deleted_at IS NULL)"
        " OR OLD.workspace_id IS NOT NEW.workspace_id OR OLD.workflow_id IS NOT NEW.workflow_id"
        " OR date(OLD.created_at) IS NOT date(NEW.created_at)"
    )
    columns = "status, deleted_at, workspace_id, workflow_id, created_at"
    if with_user:
        changed += " OR OLD.user_id IS NOT NEW.user_id"
        columns += ", user_id"
    return {
        "insert": ("AFTER INSERT", "NEW.deleted_at IS NULL", _sqlite_day_upsert("NEW", "1", with_user)),
        "update": (
            f"AFTER UPDATE OF {columns}",
            changed,
            _sqlite_day_upsert("OLD", "-1", with_user) + " " + _sqlite_day_upsert("NEW", "1", with_user),
        ),
        "delete": ("AFTER DELETE", "OLD.deleted_at IS NULL", _sqlite_day_upsert("OLD", "-1", with_user)),
    }


def _sqlite_status_triggers(with_user: bool) -> dict[str, str]:
    """Migration 0014's row triggers on the day table, with or without the user."""
    key = ", ".join(_key(STATUS_KEY, with_user))

    def upsert(row: str, sign: str) -> str:
        user = f", {row}.user_id" if with_user else ""
        return (
            f"INSERT INTO execution_status_counts ({key}, n) "
            f"VALUES ({row}.workspace_id, {row}.workflow_id, {row}.status{user}, {sign}{row}.n) "
            f"ON CONFLICT ({key}) DO UPDATE SET n = n + excluded.n;"
        )

    return {
        "AFTER INSERT": upsert("NEW", ""),
        "AFTER UPDATE": upsert("OLD", "-") + " " + upsert("NEW", ""),
        "AFTER DELETE": upsert("OLD", "-"),
    }


def _sqlite(with_user: bool) -> None:
    for name in EXECUTION_TRIGGERS:
        op.execute(f"DROP TRIGGER wfe_day_counts_{name}")
    # The day table's own triggers go with it.
    op.drop_table("execution_status_counts")
    op.drop_table("execution_day_counts")

    def user() -> list[sa.Column[int]]:
        return [sa.Column("user_id", sa.BigInteger(), nullable=False)] if with_user else []

    op.create_table(
        "execution_day_counts",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("workflow_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        *user(),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*_key(DAY_KEY, with_user)),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "execution_status_counts",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("workflow_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        *user(),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*_key(STATUS_KEY, with_user)),
        sqlite_with_rowid=False,
    )
    _refill("sqlite", with_user)
    for name, (event, when, body) in _sqlite_execution_triggers(with_user).items():
        op.execute(f"CREATE TRIGGER wfe_day_counts_{name} {event} ON workflow_executions WHEN {when} BEGIN {body} END")
    for event, body in _sqlite_status_triggers(with_user).items():
        name = event.split()[-1].lower()
        op.execute(
            f"CREATE TRIGGER day_counts_to_status_counts_{name} {event} ON execution_day_counts BEGIN {body} END"
        )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgresql(with_user=True)
    else:
        _sqlite(with_user=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgresql(with_user=False)
    else:
        _sqlite(with_user=False)
