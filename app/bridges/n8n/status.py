"""What the server tells about the bridges beside it: ``/ready``'s ``bridges`` check and the
``athena_bridge_*`` metrics, read from the bridges' rows (a bridge is another process; its row's
``heartbeat_at`` is written every poll, so a dead bridge shows as a stale heartbeat)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.bridges.n8n.tables import bridges
from app.db.engine import Database
from app.db.models.base import utcnow

STALE_AFTER = 15.0  # seconds of silence beyond the bridge's own poll + backoff


async def bridge_states(db: Database) -> list[dict[str, Any]]:
    """One entry per bridge that ran (stopped ones included, so a stop is visible). No URL and no
    error text: /ready answers without a token (the bridge's log has both)."""
    now = utcnow()
    async with db.read() as session:
        rows = (await session.execute(select(bridges).order_by(bridges.c.id))).all()
    states = []
    for row in rows:
        age = (now - row.heartbeat_at).total_seconds() if row.heartbeat_at else None
        stale = age is None or age > STALE_AFTER + row.poll_seconds + row.backoff_seconds
        state = "stale" if stale and row.state != "stopped" else row.state
        states.append(
            {
                "kind": "n8n",
                "id": int(row.id),
                "ok": state in ("ok", "slow", "starting", "stopped"),
                "state": state,
                "cursor": int(row.cursor_id),
                "heartbeat_age_seconds": round(age, 1) if age is not None else None,
                "backoff_seconds": row.backoff_seconds,
                "consecutive_failures": row.consecutive_failures,
                "last_poll_seconds": row.last_poll_seconds,
                "polls": int(row.polls),
                "failures": int(row.failures),
                "mirrored": int(row.mirrored),
                "resumes": int(row.resumes),
                "stops_refused": int(row.stops_refused),
            }
        )
    return states
