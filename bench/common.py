"""Shared set-up of the real-time benchmarks: a fresh database, a seeded workspace, private Redis,
app instances and the peer server, all on this machine."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from app.config import Settings
from app.db.models import Role
from app.services import Services
from tests.servers import AppServer, RedisServer, free_port, wait_until


def machine_load() -> str:
    """The 1/5/15-minute load averages: the machine is shared, every figure carries them."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def fresh_database(base_url: str) -> str:
    if base_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    name = f"athena_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(base_url.replace("postgresql+asyncpg://", "postgresql://"))
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return base_url.rsplit("/", 1)[0] + f"/{name}"


async def drop_database(url: str) -> None:
    if url.startswith("sqlite"):
        return
    base, name = url.rsplit("/", 1)
    conn = await asyncpg.connect(base.replace("postgresql+asyncpg://", "postgresql://") + "/postgres")
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


@dataclass
class Seeded:
    workspace_uuid: str
    workspace_id: int
    workflow_uuid: str
    token: str


async def seed(database_url: str) -> Seeded:
    from app.db.migrate import upgrade_to_head
    from app.domain.workflows.schemas import WorkflowCreate

    os.environ["DATABASE_URL"] = database_url
    await asyncio.to_thread(upgrade_to_head)
    services = Services.build(Settings(database_url=database_url, redis_url=None))
    ws = await services.accounts.create_workspace("Bench", "bench-org")
    user = await services.accounts.create_user("bench@bench.local", "bench", workspace=str(ws.uuid), role=Role.OPERATOR)
    token = await services.accounts.create_token(user.id)
    current = await services.accounts.authenticate_token(token)
    assert current is not None
    wf = await services.workflows.create_workflow(current, WorkflowCreate(workspace_uuid=ws.uuid, name="bench"))
    await services.close()
    return Seeded(str(ws.uuid), int(ws.id), wf["uuid"], token)


# Benchmarks open hundreds of sockets and send thousands of requests as one user: the abuse limits
# (per-user sockets, API rate, sign-ins) are off for their instances.
LIMITS_OFF = {
    "WS_MAX_CONNECTIONS_PER_USER": "0",
    "API_RATE_LIMIT": "0",
    "SIGN_IN_LIMIT_PER_ACCOUNT": "0",
    "SIGN_IN_LIMIT_PER_ADDRESS": "0",
}


class TunedServer(AppServer):
    """One of our instances with a chosen WebSocket implementation, deflate setting and worker count."""

    def __init__(self, *args: Any, ws: str = "auto", deflate: bool = False, workers: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **{**LIMITS_OFF, **kwargs})
        self.ws, self.deflate, self.workers = ws, deflate, workers

    def launch(self) -> None:
        cmd = [
            sys.executable, "-m", "uvicorn", "app.asgi:create_app", "--factory", "--host", "127.0.0.1",
            "--port", str(self.port), "--ws", self.ws, "--ws-per-message-deflate", str(self.deflate).lower(),
            "--workers", str(self.workers), "--log-level", "warning",
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)

    def wait_ready(self) -> None:
        # A loaded shared machine can take a while to boot two workers.
        ok = wait_until(lambda: httpx.get(self.base_url + "/health", timeout=2).status_code == 200, 120)
        assert ok, f"server did not start: {self.log.read_text()[-2000:]}"


class PeerServer:
    """bench/peers/socketio_app.py under uvicorn, one worker, like one of our instances."""

    def __init__(self, redis_url: str, workdir: Path) -> None:
        self.port = free_port()
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.log = workdir / f"peer-{self.port}.log"
        self.env = {**os.environ, "REDIS_URL": redis_url}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [
            sys.executable, "-m", "uvicorn", "bench.peers.socketio_app:app", "--host", "127.0.0.1",
            "--port", str(self.port), "--ws-per-message-deflate", "false", "--log-level", "warning",
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{self.port}/socket.io/?EIO=4&transport=polling"
        assert wait_until(lambda: httpx.get(url, timeout=1).status_code in (200, 400), 30), self.log.read_text()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


class Stack:
    """Private Redis, a fresh database with one workspace, and instances A and B (and the peer)."""

    def __init__(
        self, database_url: str, *, peer: bool = False, instances: int = 2, b_workers: int = 1, **env: str
    ) -> None:
        self.base_database_url = database_url
        self.want_peer = peer
        self.instances = instances
        self.env = env
        self.b_workers = b_workers
        self.workdir = Path(tempfile.mkdtemp(prefix="athena-bench-"))
        self.redis = RedisServer(self.workdir)
        self.servers: list[AppServer] = []
        self.peer: PeerServer | None = None
        self.database_url = ""
        self.seeded: Seeded | None = None

    async def __aenter__(self) -> Stack:
        self.redis.start()
        self.database_url = await fresh_database(self.base_database_url)
        self.seeded = await seed(self.database_url)
        self.servers = [
            TunedServer(self.database_url, self.redis.url, self.workdir, workers=self.b_workers if i else 1, **self.env)
            for i in range(self.instances)
        ]
        for server in self.servers:
            server.launch()
        for server in self.servers:
            server.wait_ready()
        if self.want_peer:
            self.peer = PeerServer(self.redis.url, self.workdir)
            self.peer.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        for server in self.servers:
            server.stop()
        if self.peer is not None:
            self.peer.stop()
        self.redis.kill()
        await drop_database(self.database_url)

    @property
    def a(self) -> AppServer:
        return self.servers[0]

    @property
    def b(self) -> AppServer:
        return self.servers[1]

    @property
    def headers(self) -> dict[str, str]:
        assert self.seeded is not None
        return {"Authorization": f"Bearer {self.seeded.token}"}


def pid_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """CPU time of ``pid`` and its live children (``uvicorn --workers N``: the workers do the work;
    the supervisor alone read 0 %)."""
    ticks = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(proc.name) == pid or int(fields[1]) == pid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def now() -> float:
    return time.monotonic()
