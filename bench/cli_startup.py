"""How long the ``athena`` command line and the server take to start (issue 22, item 5).

Prints, as medians of ``--runs`` runs in fresh processes (the load average beside them), the wall
time and, in parentheses, the CPU time (user + system) the process used: on a shared machine the
wall time grows with the load, the CPU time much less, so it is the nearer figure for an idle one.
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
import resource
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


CPU: list[float] = []  # CPU seconds of each measured child process, in order


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], env: dict[str, str]) -> float:
    cpu, start = children_cpu(), time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - start
    CPU.append(children_cpu() - cpu)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr}")
    return elapsed


def median_of(runs: int, once: Callable[[int], float]) -> tuple[float, list[float], float]:
    """Median wall time, each run's wall time, median CPU time."""
    del CPU[:]
    values = [once(i) for i in range(runs)]
    return statistics.median(values), values, statistics.median(CPU)


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
        cpu, deadline = children_cpu(), start + 300
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
        raise SystemExit("athena serve was not ready within 300 s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        CPU.append(children_cpu() - cpu)  # up to its exit: start-up, the /ready probes and shutdown


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

    base, base_runs, base_cpu = median_of(
        args.runs, lambda _: timed([sys.executable, "-c", "import sqlalchemy.ext.asyncio"], env)
    )
    helped, help_runs, help_cpu = median_of(args.runs, lambda _: timed([ATHENA, "--help"], env))
    users, users_runs, users_cpu = median_of(
        args.runs,
        lambda i: timed(
            [ATHENA, "users", "create", f"u{i}@bench.test", "--password", "bench pass", "--workspace", "Bench"], env
        ),
    )
    tokens, tokens_runs, tokens_cpu = median_of(
        args.runs, lambda i: timed([ATHENA, "tokens", "create", f"u{i}@bench.test"], env)
    )
    print(f"python -c 'import sqlalchemy.ext.asyncio': {base:.2f} s ({base_cpu:.2f} CPU)  [{fmt(base_runs)}]")
    print(
        f"athena --help:                            {helped:.2f} s ({help_cpu:.2f} CPU)  [{fmt(help_runs)}]"
        f"  = {helped / base:.2f}x wall, {help_cpu / base_cpu:.2f}x CPU"
    )
    print(f"athena users create:                      {users:.2f} s ({users_cpu:.2f} CPU)  [{fmt(users_runs)}]")
    print(f"athena tokens create:                     {tokens:.2f} s ({tokens_cpu:.2f} CPU)  [{fmt(tokens_runs)}]")

    fresh_env = {**env, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'serve.db'}"}
    del CPU[:]
    first = serve_until_ready(fresh_env)
    first_cpu = CPU[0]
    again, again_runs, again_cpu = median_of(args.runs, lambda _: serve_until_ready(fresh_env))
    print(f"athena serve -> /ready, fresh database:   {first:.2f} s ({first_cpu:.2f} CPU incl. shutdown)")
    print(f"athena serve -> /ready, migrated:         {again:.2f} s ({again_cpu:.2f} CPU)  [{fmt(again_runs)}]")
    print(f"load after: {load()}")


if __name__ == "__main__":
    main()
