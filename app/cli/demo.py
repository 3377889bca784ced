"""``athena demo`` (seed, then serve with the simulator inside) and ``athena simulate`` (drive a
deployment through its REST API, with httpx)."""

from __future__ import annotations

import asyncio
import copy
import logging
import os
from pathlib import Path
from typing import Any

import click


@click.command(name="demo", help="Seed a demo organization and serve it with a live workflow simulator.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--rate", default=2.0, show_default=True, type=float, help="New executions per second.")
@click.option("--reset", is_flag=True, help="Delete the SQLite database first and seed afresh.")
def demo(host: str, port: int, rate: float, reset: bool) -> None:
    import uvicorn

    from app.config import get_settings
    from app.db.migrate import upgrade_to_head
    from app.demo.app import RATE_ENV

    if rate <= 0:
        raise click.BadParameter("must be positive", param_hint="--rate")
    settings = get_settings()
    if reset:
        _delete_sqlite(settings.database_url)
    upgrade_to_head()
    asyncio.run(_seed())
    _print_users()
    os.environ[RATE_ENV] = str(rate)
    os.environ.setdefault("ALLOWED_ORIGINS", f"http://{host}:{port},http://localhost:{port},http://127.0.0.1:{port}")
    click.echo(f"Athena Monitor demo on http://{host}:{port}  (API docs: /schema, {rate:g} executions/s)")
    uvicorn.run(
        "app.demo.app:create_demo_app",
        factory=True,
        host=host,
        port=port,
        workers=1,  # as `athena serve`: one process whatever WEB_CONCURRENCY says (the simulator is in it)
        ws_per_message_deflate=False,  # as `athena serve`: no per-socket compression buffers
        ws_max_size=64 * 1024,
        log_level="info",
        log_config=_log_config(),
    )


def _log_config() -> dict[str, Any]:
    """uvicorn's logging plus our ``athena`` loggers, so the simulator's progress lines show."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["athena"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def _delete_sqlite(url: str) -> None:
    if not url.startswith("sqlite"):
        raise click.UsageError("--reset only deletes an embedded SQLite database; DATABASE_URL is not SQLite.")
    path = Path(url.split(":///", 1)[1])
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    click.echo(f"deleted {path}")


async def _seed() -> None:
    from app.config import get_settings
    from app.demo.seed import seed_demo
    from app.services import Services

    services = Services.build(get_settings())  # the seed goes through the services, as the API would
    try:
        report = await seed_demo(services)
    finally:
        await services.close()
    if not report.created:
        click.echo("demo organization 'demo-org' already seeded (use --reset to start over)")
        return
    statuses = ", ".join(f"{n} {s}" for s, n in report.by_status.most_common())
    click.echo(
        f"seeded in {report.seconds:.1f} s: {report.workspaces} workspaces, {report.workflows} workflows, "
        f"{report.executions} executions ({statuses}; {report.children} children, {report.retries} retries), "
        f"{report.pending_approvals} pending approvals, {report.command_room_tasks} command-room tasks, "
        f"{report.deletions} executions in the trash"
    )


def _print_users() -> None:
    from app.demo.seed import DEMO_USERS, PASSWORD

    click.echo("demo users (password for all: " + click.style(PASSWORD, bold=True) + "):")
    for email, _, role, workspaces in DEMO_USERS:
        click.echo(f"  {email:<22} {role.value:<9} in {', '.join(workspaces)}")


@click.command(name="simulate", help="Run the workflow simulator against a deployment through its REST API.")
@click.option("--url", required=True, help="Base URL, e.g. https://athena.example.com")
@click.option("--token", required=True, envvar="ATHENA_TOKEN", help="API token of an operator (or $ATHENA_TOKEN).")
@click.option("--rate", default=2.0, show_default=True, type=float, help="New executions per second.")
@click.option("--workspace", default=None, help="Only this workspace uuid (default: all you operate).")
@click.option("--max-active", default=40, show_default=True, type=int)
def simulate(url: str, token: str, rate: float, workspace: str | None, max_active: int) -> None:
    if rate <= 0:
        raise click.BadParameter("must be positive", param_hint="--rate")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns the progress lines
    try:
        asyncio.run(_simulate(url, token, rate, workspace, max_active))
    except KeyboardInterrupt:
        click.echo("stopped")


async def _simulate(url: str, token: str, rate: float, workspace: str | None, max_active: int) -> None:
    from app.demo.remote import RestBackend
    from app.demo.simulator import SimConfig, Simulator

    backend = RestBackend.connect(url, token, workspace)
    simulator = Simulator(backend, SimConfig(rate=rate, max_active=max_active))
    try:
        await simulator.run()
    finally:
        await simulator.stop()
        await backend.close()
