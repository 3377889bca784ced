"""Building and running one bridge: the workspace and the user it acts as, its row, its loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import uuid as uuid_lib
from dataclasses import dataclass

from sqlalchemy import select

from app.bridges.n8n.actions import Actions
from app.bridges.n8n.client import N8nClient
from app.bridges.n8n.mirror import Mirror
from app.bridges.n8n.runner import BridgeOptions, BridgeRunner
from app.bridges.n8n.store import BridgeStore
from app.db.models import Role, Workspace
from app.lib.errors import NotFoundError
from app.lib.identity import OPERATE_ROLES, CurrentUser
from app.services import Services

logger = logging.getLogger("athena.bridge.n8n")


@dataclass(frozen=True)
class BridgeTarget:
    """Where to mirror: a workspace (uuid or name) and the user the bridge acts as (an operator or
    admin of it). Without ``user_email`` a service user ``n8n-bridge+<workspace>@athena.local`` is
    made an operator of the workspace (no password anyone knows: it never signs in)."""

    workspace: str
    user_email: str | None = None


async def workspace_id_of(services: Services, ref: str) -> tuple[int, str]:
    try:
        condition = Workspace.uuid == uuid_lib.UUID(ref)
    except ValueError:
        condition = Workspace.name == ref
    async with services.db.read() as session:
        rows = (await session.execute(select(Workspace.id, Workspace.uuid).where(condition))).all()
    if len(rows) != 1:
        raise NotFoundError(f"Workspace {ref!r}" + (" (several have that name: give its uuid)" if rows else ""))
    return int(rows[0].id), str(rows[0].uuid)


async def bridge_user(services: Services, target: BridgeTarget, workspace_id: int, workspace_uuid: str) -> CurrentUser:
    email = target.user_email or f"n8n-bridge+{workspace_uuid[-12:]}@athena.local"
    if target.user_email is None:
        try:
            await services.accounts.user_id_by_email(email)
        except NotFoundError:
            await services.accounts.create_user(
                email, secrets.token_urlsafe(32), name="n8n bridge", workspace=workspace_uuid, role=Role.OPERATOR
            )
    user = await services.accounts.load_user(await services.accounts.user_id_by_email(email))
    if user is None:
        raise NotFoundError(f"Active user {email}")
    user.require(workspace_id, OPERATE_ROLES, "Workspace")  # 403 unless operator or admin of it
    return user


async def build_runner(
    services: Services, client: N8nClient, target: BridgeTarget, options: BridgeOptions
) -> BridgeRunner:
    workspace_id, workspace_uuid = await workspace_id_of(services, target.workspace)
    user = await bridge_user(services, target, workspace_id, workspace_uuid)
    store = await BridgeStore.register(services.db, workspace_id, client.base_url, user.id, options.poll_seconds)
    mirror = Mirror(services, user, store, workspace_id, client.resume_url)
    runner = BridgeRunner(mirror, Actions(services, user, store, client), store, client, options)
    await runner.start()
    return runner


async def run_bridge(services: Services, client: N8nClient, target: BridgeTarget, options: BridgeOptions) -> None:
    """Run until SIGINT/SIGTERM; the bridge's row says ``stopped`` afterwards."""
    await services.hub.start()  # publishes to Redis when REDIS_URL is set: the servers' pages go live
    runner = await build_runner(services, client, target, options)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, runner.stop)
    logger.info("mirroring %s into workspace %s every %.1f s", client.base_url, target.workspace, options.poll_seconds)
    try:
        await runner.run()
    finally:
        with contextlib.suppress(Exception):
            await runner.store.report(state="stopped")
