"""Sign-in hardening figures (issue 21, items 1, 2 and 4), measured as a new user would: against
``athena serve`` on a free port with a fresh SQLite file, over HTTP.

    uv run python -m bench.sign_in [--parallel 6] [--pairs 20] [--rotating 60]

1. ``/health`` latency idle, then while ``--parallel`` wrong-password sign-ins run at once.
2. Medians of ``--pairs`` interleaved sign-ins with a known, an unknown and an inactive e-mail
   (limits off), on the API and on the page form. No command deactivates a user, so the bench
   sets ``is_active`` in its SQLite file.
3. ``--rotating`` sign-ins each with a new ``X-Forwarded-For``, the server run with compose.yaml's
   ``FORWARDED_ALLOW_IPS``: how many got 429 (the per-address limit is 50).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import machine_load, pct
from tests.servers import free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent
ATHENA = str(ROOT / ".venv" / "bin" / "athena")
EMAIL, PASSWORD = "owner@bench.local", "a long passphrase"
INACTIVE = "gone@bench.local"


def compose_forwarded_allow_ips() -> str:
    """The value compose.yaml gives the app instances."""
    found = re.search(r'FORWARDED_ALLOW_IPS:\s*"?([^"\s#]+)"?', (ROOT / "compose.yaml").read_text())
    assert found, "compose.yaml sets no FORWARDED_ALLOW_IPS"
    return found.group(1)


class Served:
    """``athena serve`` in a temp directory with its own SQLite file and one user."""

    def __init__(self, **env: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="athena-signin-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{self.dir}/athena.db", "LOG_LEVEL": "warning"}
        self.env.pop("REDIS_URL", None)
        self.env.update(env)
        self.proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> None:
        subprocess.run([ATHENA, *args], env=self.env, cwd=self.dir, check=True, capture_output=True)

    def __enter__(self) -> Served:
        self.cli("workspaces", "create", "Ops", "--organization", "bench")
        self.cli("users", "create", EMAIL, "--password", PASSWORD, "--workspace", "Ops")
        self.cli("users", "create", INACTIVE, "--password", PASSWORD, "--workspace", "Ops")
        with sqlite3.connect(self.dir / "athena.db") as db:  # no command deactivates a user
            db.execute("UPDATE users SET is_active = 0 WHERE email = ?", (INACTIVE,))
        log = (self.dir / "serve.log").open("wb")
        self.proc = subprocess.Popen(
            [ATHENA, "serve", "--port", str(self.port)], env=self.env, cwd=self.dir, stdout=log, stderr=log
        )
        assert wait_until(lambda: httpx.get(self.url + "/health", timeout=1).status_code == 200, 120), "no start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(20)


async def sign_in(client: httpx.AsyncClient, email: str, password: str, **headers: str) -> tuple[int, float]:
    started = time.perf_counter()
    r = await client.post("/api/v1/auth/sign-in", json={"email": email, "password": password}, headers=headers)
    return r.status_code, (time.perf_counter() - started) * 1000


async def health_ms(client: httpx.AsyncClient) -> float:
    started = time.perf_counter()
    (await client.get("/health")).raise_for_status()
    return (time.perf_counter() - started) * 1000


async def freeze(url: str, parallel: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        idle = [await health_ms(client) for _ in range(40)]
        burst = asyncio.gather(*(sign_in(client, EMAIL, "wrong password") for _ in range(parallel)))
        task = asyncio.ensure_future(burst)
        started = time.perf_counter()
        during: list[float] = []
        while not task.done():
            during.append(await health_ms(client))
            await asyncio.sleep(0.01)
        results = await task
        wall = time.perf_counter() - started
    print(f"1. /health idle p50 {pct(idle, 50):.1f} ms p90 {pct(idle, 90):.1f} ms (n={len(idle)})")
    print(
        f"   during {parallel} parallel wrong-password sign-ins: p50 {pct(during, 50):.1f} ms "
        f"p90 {pct(during, 90):.1f} ms max {max(during):.1f} ms (n={len(during)}); burst took {wall:.2f} s, "
        f"statuses {sorted(s for s, _ in results)}"
    )


async def form_sign_in(client: httpx.AsyncClient, csrf: str, email: str) -> tuple[int, float]:
    """The dashboard's sign-in form, as a browser posts it (CSRF cookie and field)."""
    started = time.perf_counter()
    data = {"_csrf_token": csrf, "email": email, "password": "wrong password", "next": ""}
    r = await client.post("/sign-in", data=data, headers={"Cookie": f"athena_csrf={csrf}"})
    return r.status_code, (time.perf_counter() - started) * 1000


async def probing(url: str, pairs: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        csrf = (await client.get("/sign-in")).cookies["athena_csrf"]
        client.cookies.clear()  # sent by hand: the cookie is Secure, httpx keeps it off plain http
        for form in (False, True):
            times: dict[str, list[float]] = {"known": [], "unknown": [], "inactive": []}
            statuses = set()
            for i in range(pairs):
                for kind, email in (("known", EMAIL), ("unknown", f"nobody{i}@bench.local"), ("inactive", INACTIVE)):
                    if form:
                        status, ms = await form_sign_in(client, csrf, email)
                    else:
                        status, ms = await sign_in(client, email, "wrong password")
                    times[kind].append(ms)
                    statuses.add(status)
            m = {kind: statistics.median(values) for kind, values in times.items()}
            print(
                f"2. {'page form' if form else 'API'}, {pairs} interleaved rounds: medians "
                + ", ".join(
                    f"{kind} {v:.0f} ms [{min(times[kind]):.0f}-{max(times[kind]):.0f}]" for kind, v in m.items()
                )
                + f"; known/unknown {m['known'] / m['unknown']:.2f}, known/inactive {m['known'] / m['inactive']:.2f}"
                + f"; statuses {sorted(statuses)}"
            )


async def spoofing(url: str, count: int, trusted: str) -> None:
    statuses = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        for i in range(count):
            spoofed = f"10.{i // 250}.{i % 250}.7"
            statuses.append((await sign_in(client, f"guess{i}@bench.local", "x", **{"X-Forwarded-For": spoofed}))[0])
    refused = sum(s == 429 for s in statuses)
    first = statuses.index(429) + 1 if refused else None
    print(
        f"4. FORWARDED_ALLOW_IPS={trusted!r}: {count} sign-ins with a rotating X-Forwarded-For -> {refused} got 429"
        f" (first at attempt {first})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parallel", type=int, default=6)
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--rotating", type=int, default=60)
    parser.add_argument("--only", choices=["1", "2", "4"], default=None, help="one part only")
    args = parser.parse_args()
    print(f"load {machine_load()}")
    if args.only in (None, "1", "2"):
        limits_off = {
            "SIGN_IN_LIMIT_PER_ACCOUNT": "0",
            "SIGN_IN_LIMIT_PER_ADDRESS": "0",
            "SIGN_IN_MAX_DELAY_SECONDS": "0",
        }
        with Served(**limits_off) as served:
            if args.only in (None, "1"):
                asyncio.run(freeze(served.url, args.parallel))
            if args.only in (None, "2"):
                asyncio.run(probing(served.url, args.pairs))
    if args.only in (None, "4"):
        trusted = compose_forwarded_allow_ips()
        with Served(FORWARDED_ALLOW_IPS=trusted) as served:
            asyncio.run(spoofing(served.url, args.rotating, trusted))
    print(f"load {machine_load()}")


if __name__ == "__main__":
    main()
