"""How long the ``athena`` command line and the server take to start (issue 22, item 5).

Prints, as medians of ``--runs`` runs in fresh processes (the load average beside them):
- ``python -c "import sqlalchemy.ext.asyncio"``: the yardstick, measured in the same run;
- ``athena --help``, and its ratio to the yardstick (goal: <= 2x);
- ``athena users create`` and ``athena tokens create`` against a migrated SQLite database
  (goal: <= 1.5 s each on an idle 2-core machine; ``users create`` includes one argon2 hash);
- ``athena serve`` until ``/ready`` answers 200, on a fresh SQLite database (migrations included)
  and on an already migrated one (a restart).

Usage: ``uv run python -m bench.cli_startup [--runs 5]``. It imports nothing from the app itself:
every figure is a new process, as an operator's shell would start it.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

BIN = Path(sys.executable).parent
ATHENA = str(BIN / "athena")


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr}")
    return elapsed


def median_of(runs: int, once: Callable[[int], float]) -> tuple[float, list[float]]:
    values = [once(i) for i in range(runs)]
    return statistics.median(values), values


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_until_ready(env: dict[str, str]) -> float:
    port = free_port()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [ATHENA, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = start + 120
        while time.perf_counter() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as answer:
                    if answer.status == 200:
                        return time.perf_counter() - start
            except OSError:
                pass
            if proc.poll() is not None:
                raise SystemExit(f"athena serve exited with {proc.returncode}")
            time.sleep(0.02)
        raise SystemExit("athena serve was not ready within 120 s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median printed)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="athena-cli-bench-"))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'cli.db'}",
        "REDIS_URL": "",
        "SECRET_KEY": "bench-cli-startup",
        "LOG_LEVEL": "warning",
    }
    print(f"load before: {load()}  (cpus: {os.cpu_count()})")
    # A first command migrates the database and warms the OS file cache; not counted.
    timed([ATHENA, "workspaces", "create", "Bench", "--organization", "org-bench"], env)

    base, base_runs = median_of(
        args.runs, lambda _: timed([sys.executable, "-c", "import sqlalchemy.ext.asyncio"], env)
    )
    helped, help_runs = median_of(args.runs, lambda _: timed([ATHENA, "--help"], env))
    users, users_runs = median_of(
        args.runs,
        lambda i: timed(
            [ATHENA, "users", "create", f"u{i}@bench.test", "--password", "bench pass", "--workspace", "Bench"], env
        ),
    )
    tokens, tokens_runs = median_of(args.runs, lambda i: timed([ATHENA, "tokens", "create", f"u{i}@bench.test"], env))
    print(f"python -c 'import sqlalchemy.ext.asyncio': {base:.2f} s   [{fmt(base_runs)}]")
    print(f"athena --help:                            {helped:.2f} s   [{fmt(help_runs)}]  = {helped / base:.2f}x")
    print(f"athena users create:                      {users:.2f} s   [{fmt(users_runs)}]")
    print(f"athena tokens create:                     {tokens:.2f} s   [{fmt(tokens_runs)}]")

    fresh_env = {**env, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'serve.db'}"}
    first = serve_until_ready(fresh_env)
    again, again_runs = median_of(args.runs, lambda _: serve_until_ready(fresh_env))
    print(f"athena serve -> /ready, fresh database:   {first:.2f} s")
    print(f"athena serve -> /ready, migrated:         {again:.2f} s   [{fmt(again_runs)}]")
    print(f"load after: {load()}")


if __name__ == "__main__":
    main()
