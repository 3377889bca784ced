"""Run compose.yaml's shape without Docker and check it: two ``athena serve`` instances sharing one
PostgreSQL database and one Redis, behind a real nginx using deploy/nginx.conf.

    uv run python deploy/check_local.py [--pg postgresql://postgres@127.0.0.1:5432] [--sockets 6]

It creates (and afterwards drops) the database ``athena_ops_check``, starts a private redis-server on a
free port (the pub/sub channel names carry no database identity, so a shared Redis would mix this run's
events with other deployments'), two instances on free ports and nginx on a free port with the
upstreams rewritten to them. Then: WebSockets opened through nginx must land on both instances, and
every socket must receive every event written directly on either instance; /ready through nginx is
200, /metrics through nginx is refused, and the request id nginx forwards shows in the app's log.
Exits non-zero on any failed check. Needs nginx, redis-server and createdb/dropdb on the PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import free_port, wait_until  # noqa: E402

DB = "athena_ops_check"
TOKEN = "check-metrics-token"


def run(*cmd: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout


class Stack:
    def __init__(self, pg: str, workdir: Path) -> None:
        self.workdir = workdir
        self.pg = pg
        self.procs: list[subprocess.Popen[bytes]] = []
        self.redis_port, self.nginx_port = free_port(), free_port()
        self.app_ports = [free_port(), free_port()]
        self.env = {
            **os.environ,
            "DATABASE_URL": f"{pg.replace('postgresql://', 'postgresql+asyncpg://')}/{DB}",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "SECRET_KEY": "check-secret",
            "METRICS_TOKEN": TOKEN,
            "LOG_FORMAT": "json",
            "ALLOWED_ORIGINS": f"http://127.0.0.1:{self.nginx_port}",
        }

    def spawn(self, name: str, cmd: list[str]) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        self.procs.append(subprocess.Popen(cmd, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))

    def start(self) -> None:
        host = self.pg.split("://", 1)[1]
        user, _, hostport = host.rpartition("@")
        h, _, p = hostport.partition(":")
        self.pg_args = ["-h", h, "-p", p or "5432", "-U", user or "postgres"]
        subprocess.run(["dropdb", *self.pg_args, "--if-exists", DB], check=True)
        run("createdb", *self.pg_args, DB)
        self.spawn("redis", ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", ""])
        run(sys.executable, "-m", "app", "database", "upgrade", "--no-prompt", env=self.env)
        for i, port in enumerate(self.app_ports, 1):
            self.spawn(f"app{i}", [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)])
        conf = (ROOT / "deploy" / "nginx.conf").read_text()
        conf = conf.replace("server app1:8000", f"server 127.0.0.1:{self.app_ports[0]}")
        conf = conf.replace("server app2:8000", f"server 127.0.0.1:{self.app_ports[1]}")
        conf = conf.replace("listen 80;", f"listen 127.0.0.1:{self.nginx_port};")
        conf = conf.replace("access_log /dev/stdout", f"access_log {self.workdir}/nginx-access.log")
        conf = conf.replace("error_log /dev/stderr", f"error_log {self.workdir}/nginx-error.log")
        conf = "pid " + str(self.workdir / "nginx.pid") + ";\n" + conf
        (self.workdir / "nginx.conf").write_text(conf)
        nginx = ["nginx", "-p", str(self.workdir), "-c", str(self.workdir / "nginx.conf")]
        print(run(*nginx, "-t") or "nginx -t: syntax ok")
        self.spawn("nginx", [*nginx, "-g", "daemon off;"])
        for port in self.app_ports:
            assert wait_until(lambda p=port: httpx.get(f"http://127.0.0.1:{p}/ready").status_code == 200, 30)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        subprocess.run(["dropdb", *self.pg_args, "--if-exists", DB], check=False)


def scrape(port: int) -> dict[str, float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"^(\S+) (\S+)$", text, re.M)}


async def check(stack: Stack, sockets: int) -> list[str]:
    env = stack.env
    run(sys.executable, "-m", "app", "workspaces", "create", "Ops", "--organization", "org-check", env=env)
    run(sys.executable, "-m", "app", "users", "create", "op@check.local", "--password", "check pass",
        "--workspace", "Ops", "--role", "admin", env=env)  # fmt: skip
    token = run(sys.executable, "-m", "app", "tokens", "create", "op@check.local", env=env).strip().splitlines()[-1]
    auth = {"Authorization": f"Bearer {token}"}
    lb = f"http://127.0.0.1:{stack.nginx_port}"
    failures: list[str] = []

    async with httpx.AsyncClient(headers=auth, timeout=10) as client:
        workspace = (await client.get(f"{lb}/api/v1/user")).json()["data"]["workspaces"][0]["uuid"]
        workflow = await client.post(
            f"{lb}/api/v1/workflows",
            json={"workspace_uuid": workspace, "name": "Check", "nodes": [{"id": "a"}], "edges": []},
        )
        assert workflow.status_code == 201, workflow.text
        workflow_uuid = workflow.json()["data"]["uuid"]
        ready = await client.get(f"{lb}/ready", headers={"X-Request-ID": "check-ready-1"})
        print("GET /ready through nginx:", ready.status_code, ready.json()["status"])
        if ready.status_code != 200:
            failures.append("/ready through nginx")
        metrics = await client.get(f"{lb}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        print("GET /metrics through nginx:", metrics.status_code)
        if metrics.status_code != 404:
            failures.append("/metrics must not be served through nginx")

        url = f"ws://127.0.0.1:{stack.nginx_port}/api/v1/ws?workspace_uuid={workspace}"
        conns = [await websockets.connect(url, additional_headers=auth, open_timeout=10) for _ in range(sockets)]
        per_instance = [scrape(p)['athena_websockets_open{socket="api"}'] for p in stack.app_ports]
        print(f"{sockets} sockets through nginx, open per instance: {per_instance}")
        if min(per_instance) < 1:
            failures.append("sockets did not spread over both instances")

        written: list[str] = []
        started = time.perf_counter()
        for i in range(10):  # alternate the instance that writes, bypassing nginx
            port = stack.app_ports[i % 2]
            r = await client.post(
                f"http://127.0.0.1:{port}/api/v1/workflow-executions",
                json={"workflow_uuid": workflow_uuid, "status": "running"},
            )
            assert r.status_code == 201, r.text
            written.append(r.json()["data"]["uuid"])
        received = []
        for conn in conns:
            got = [json.loads(await asyncio.wait_for(conn.recv(), 10))["execution_uuid"] for _ in written]
            received.append(got == written)
        elapsed = time.perf_counter() - started
        print(f"every socket got all {len(written)} events in order: {all(received)} ({elapsed:.2f} s)")
        if not all(received):
            failures.append("a socket missed or reordered events")
        for conn in conns:
            await conn.close()
    for i, port in enumerate(stack.app_ports, 1):
        m = scrape(port)
        print(f"app{i} metrics: published={m['athena_events_published_total']:.0f} "
              f"delivered={m['athena_events_delivered_total']:.0f} "
              f"pool_checked_out={m.get('athena_db_pool_checked_out', -1):.0f}")  # fmt: skip
    await asyncio.sleep(0.5)
    app_logs = (stack.workdir / "app1.log").read_text() + (stack.workdir / "app2.log").read_text()
    tagged = [json.loads(line) for line in app_logs.splitlines() if "check-ready-1" in line]
    print("app log line with the request id nginx forwarded:", tagged[:1])
    if not tagged:
        failures.append("request id not propagated through nginx")
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--sockets", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="athena-check-") as tmp:
        stack = Stack(args.pg, Path(tmp))
        try:
            stack.start()
            failures = asyncio.run(check(stack, args.sockets))
        finally:
            stack.stop()
    print("OK" if not failures else f"FAILED: {failures}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
