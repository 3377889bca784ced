"""Empty the PostgreSQL test database between tests, as ``TRUNCATE ... RESTART IDENTITY CASCADE`` would.

A TRUNCATE of the schema's ~18 tables gives each table and index a new file and rewrites their
catalog rows: 0.3-1.3 s of wall time per test on the 2-core machine under load (a DELETE of the few
rows a test leaves takes a few milliseconds), and with autovacuum off the catalog bloats test after
test. So each test's ``app`` fixture instead, in one transaction:

- takes the same tables TRUNCATE's CASCADE would (the listed ones and every table whose foreign
  keys point into them, transitively);
- with ``session_replication_role = replica``, so that, as with TRUNCATE, no trigger fires (the
  count tables' triggers, the foreign keys' checks): DELETEs every row of every such table, except that
  a table grown past ``TRUNCATE_ABOVE`` bytes (a test that loaded thousands of rows) is still
  TRUNCATEd, so dead rows cannot pile up in the test database (autovacuum is off on this cluster);
- restarts the sequences those tables' columns own (RESTART IDENTITY), at their start values.

Setting ``session_replication_role`` needs a superuser: without one, it TRUNCATEs as before.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

TRUNCATE_ABOVE = 1024 * 1024  # bytes of a table with its indexes and TOAST

CASCADE_CLOSURE = text(
    """
    WITH RECURSIVE closure(oid) AS (
        SELECT c.oid FROM pg_class c
        WHERE c.relname = ANY(:names) AND c.relnamespace = current_schema()::regnamespace
        UNION
        SELECT con.conrelid FROM pg_constraint con JOIN closure ON con.confrelid = closure.oid
        WHERE con.contype = 'f'
    )
    SELECT oid, oid::regclass::text AS name, pg_total_relation_size(oid) AS size FROM closure
    """
)
RESTART_OWNED_SEQUENCES = text(
    """
    SELECT setval(s.seqrelid, s.seqstart, false)
    FROM pg_sequence s
    JOIN pg_depend d ON d.objid = s.seqrelid AND d.classid = 'pg_class'::regclass
        AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
    WHERE d.refobjid = ANY(:oids)
    """
)


async def empty_tables(session: Any, tables: list[str]) -> None:
    """Leave ``tables`` (and what references them) as ``TRUNCATE ... RESTART IDENTITY CASCADE`` would."""
    superuser = (await session.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))).scalar()
    if not superuser:
        await session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        return
    closure = (await session.execute(CASCADE_CLOSURE, {"names": tables})).all()
    await session.execute(text("SET LOCAL session_replication_role = replica"))
    large = [row.name for row in closure if row.size > TRUNCATE_ABOVE]
    if large:
        await session.execute(text(f"TRUNCATE {', '.join(large)} CASCADE"))
    for row in closure:
        if row.name not in large:
            await session.execute(text(f"DELETE FROM {row.name}"))
    await session.execute(RESTART_OWNED_SEQUENCES, {"oids": [row.oid for row in closure]})
