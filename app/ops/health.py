"""``/health`` (liveness) and ``/ready`` (readiness, each check named in the JSON body)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Response, get
from litestar.datastructures import State
from redis.asyncio import Redis
from sqlalchemy import text

from app.db.migrate import alembic_config

CHECK_TIMEOUT = 2.0  # a probe must answer before the load balancer's own timeout


@get("/health", tags=["Operations"], summary="Liveness")
async def health() -> dict[str, str]:
    """The process is alive. No database or Redis access."""
    return {"status": "ok"}


@get("/ready", tags=["Operations"], summary="Readiness")
async def ready(state: State) -> Response[dict[str, Any]]:
    """200 when the database and Redis answer, the event subscription is up and the schema is at
    head; 503 with ``"status": "degraded"`` otherwise. ``checks`` names each check and its state.
    ``bridges`` reports the engine bridges beside the server (``athena bridge n8n``) without
    deciding readiness: an n8n outage must not take the dashboard out of the load balancer."""
    services = state.services
    database, redis, migrations, bridges = await asyncio.gather(
        _timed(_database(services)),
        _timed(_redis(services.settings.redis_url)),
        _timed(_migrations(services)),
        _timed(_bridges(services)),
    )
    subscriber = {"ok": not services.hub.degraded, **services.hub.status()}
    checks = {"database": database, "redis": redis, "subscriber": subscriber, "migrations": migrations}
    healthy = all(check["ok"] for check in checks.values())
    body = {"status": "ok" if healthy else "degraded", "checks": checks, "bridges": bridges}
    return Response(body, status_code=200 if healthy else 503)


async def _timed(check: Any) -> dict[str, Any]:
    try:
        return await asyncio.wait_for(check, CHECK_TIMEOUT)
    except TimeoutError:
        return {"ok": False, "error": f"no answer within {CHECK_TIMEOUT:.0f}s"}
    except Exception as exc:  # the probe reports; it never fails itself
        return {"ok": False, "error": type(exc).__name__}


async def _database(services: Any) -> dict[str, Any]:
    async with services.db.read() as session:
        await session.execute(text("SELECT 1"))
    return {"ok": True}


async def _bridges(services: Any) -> dict[str, Any]:
    from app.bridges.n8n.status import bridge_states

    items = await bridge_states(services.db)
    return {"ok": all(item["ok"] for item in items), "items": items}


async def _redis(url: str | None) -> dict[str, Any]:
    """A PING on a connection of its own: the subscriber's link may lag a restart by seconds."""
    if not url:
        return {"ok": True, "configured": False}
    client = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        await client.ping()
    finally:
        await client.aclose()
    return {"ok": True, "configured": True}


async def _migrations(services: Any) -> dict[str, Any]:
    """At head: ok. Behind: not ready. A revision this code does not know means the database was
    upgraded by a newer release (a rolling upgrade with backward-compatible migrations): ok."""
    async with services.db.read() as session:  # plain SQL: alembic's own reader logs at INFO per call
        current = (await session.execute(text("SELECT version_num FROM alembic_versions"))).scalar()
    heads, known = _script_heads()
    head: str | list[str] = heads[0] if len(heads) == 1 else heads
    if current in heads:
        return {"ok": True, "current": current, "head": head}
    if current is not None and current not in known:
        return {"ok": True, "current": current, "head": head, "note": "database is newer than this release"}
    return {"ok": False, "current": current, "head": head, "error": "not at head"}


_heads_cache: tuple[list[str], set[str]] | None = None


def _script_heads() -> tuple[list[str], set[str]]:
    """The migration scripts' head(s) and every known revision (read once: they ship with the code)."""
    global _heads_cache
    if _heads_cache is None:
        from alembic.script import ScriptDirectory

        scripts = ScriptDirectory.from_config(alembic_config())
        _heads_cache = (list(scripts.get_heads()), {rev.revision for rev in scripts.walk_revisions()})
    return _heads_cache
