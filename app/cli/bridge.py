"""``athena bridge n8n``: mirror an n8n instance into a workspace (app/bridges/n8n, docs/bridges.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import click


@click.group(name="bridge", help="Mirror another workflow engine into a workspace (runs beside the server).")
def bridge() -> None: ...


@bridge.command(name="n8n")
@click.option("--url", required=True, envvar="N8N_URL", help="n8n's base URL, e.g. http://n8n:5678 (or $N8N_URL).")
@click.option("--api-key", required=True, envvar="N8N_API_KEY", help="An n8n public API key (or $N8N_API_KEY).")
@click.option("--workspace", required=True, envvar="ATHENA_BRIDGE_WORKSPACE", help="Workspace uuid or name.")
@click.option(
    "--user",
    "user_email",
    default=None,
    envvar="ATHENA_BRIDGE_USER",
    help="Act as this operator (default: a service user n8n-bridge+...@athena.local, made operator).",
)
@click.option("--poll", default=1.0, show_default=True, type=float, help="Seconds between polls of n8n.")
@click.option("--max-backoff", default=30.0, show_default=True, type=float, help="Longest wait while n8n is down.")
@click.option("--backfill", default=100, show_default=True, type=int, help="Past executions mirrored on first start.")
@click.option(
    "--timeout", default=5.0, show_default=True, type=float, help="Seconds before an n8n call counts as failed."
)
def n8n(
    url: str,
    api_key: str,
    workspace: str,
    user_email: str | None,
    poll: float,
    max_backoff: float,
    backfill: int,
    timeout: float,
) -> None:
    """Mirror n8n's workflows and executions, live; Athena decisions resume n8n's Wait nodes."""
    if poll <= 0 or max_backoff < poll or backfill < 0 or timeout <= 0:
        raise click.UsageError("--poll and --timeout must be positive, --max-backoff >= --poll, --backfill >= 0.")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per poll drowns the rest
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(url, api_key, workspace, user_email, (poll, max_backoff, backfill, timeout)))


async def _run(
    url: str,
    api_key: str,
    workspace: str,
    user_email: str | None,
    figures: tuple[float, float, int, float],
) -> None:
    from app.bridges.n8n.client import N8nClient
    from app.bridges.n8n.process import BridgeTarget, run_bridge
    from app.bridges.n8n.runner import BridgeOptions
    from app.config import get_settings
    from app.db.migrate import ensure_at_head
    from app.lib.errors import AppError
    from app.services import Services

    services = Services.build(get_settings())
    poll, max_backoff, backfill, timeout = figures
    client = N8nClient(url, api_key, timeout=timeout)
    try:
        await ensure_at_head(services.db)
        options = BridgeOptions(poll_seconds=poll, max_backoff=max_backoff, backfill=backfill)
        await run_bridge(services, client, BridgeTarget(workspace, user_email), options)
    except AppError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        await client.close()
        await services.close()
