"""Real processes for real-time tests: our app under uvicorn, and a private redis-server we may kill."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import pwd
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.1) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:
            pass
        time.sleep(interval)
    return False


class RedisServer:
    def __init__(self, workdir: Path) -> None:
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.binary
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_until(self._accepting, 10), "redis-server did not start"

    def _accepting(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
            return True

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)


# TEST_SERVER_FORK=0 starts every app server as its own `python -m uvicorn` process, as before the fork
# server (tests/forkserver.py): for comparing the two, or to rule the fork server out.
FORK = os.environ.get("TEST_SERVER_FORK", "1") != "0"


class ForkedProcess:
    """What a test needs of a ``Popen`` for a process the fork server started. It is the fork server's
    child, not ours: signals and the wait for its end go through a pidfd, which cannot name another
    process even if the pid is reused."""

    def __init__(self, pid: int, args: list[str]) -> None:
        self.pid = pid
        self.args = args
        self._pidfd = os.pidfd_open(pid)
        self.returncode: int | None = None  # unknown (the fork server reaps it); set to -1 once it has ended

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._pidfd], [], [], 0)[0]:
            self._ended()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not select.select([self._pidfd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            self._ended()
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            signal.pidfd_send_signal(self._pidfd, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def _ended(self) -> None:
        self.returncode = -1
        os.close(self._pidfd)

    def __del__(self) -> None:
        if self.returncode is None:
            with contextlib.suppress(OSError):
                os.close(self._pidfd)


class ForkServer:
    """This test process's fork server (tests/forkserver.py), started on first use; it exits when we
    do (its stdin closes)."""

    _proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def spawn(cls, args: list[str], env: dict[str, str], log: Path) -> ForkedProcess:
        proc = cls._proc
        if proc is None or proc.poll() is not None:
            proc = cls._proc = subprocess.Popen(
                [sys.executable, "-m", "tests.forkserver"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )
            assert proc.stdout is not None
            assert json.loads(proc.stdout.readline() or b"{}").get("ready"), "the fork server did not start"
            atexit.register(cls._close, proc)
        assert proc.stdin is not None and proc.stdout is not None
        request: dict[str, Any] = {"args": args, "env": env, "log": str(log), "cwd": os.getcwd()}
        try:
            proc.stdin.write(json.dumps(request).encode() + b"\n")
            proc.stdin.flush()
            reply = json.loads(proc.stdout.readline() or b"{}")
            assert "pid" in reply, "the fork server did not answer"
            return ForkedProcess(reply["pid"], args)
        except BaseException:  # a timeout between request and reply: the next reply would be this one's
            proc.kill()
            cls._proc = None
            raise

    @staticmethod
    def _close(proc: subprocess.Popen[bytes]) -> None:
        """At exit: the fork server's stdin closes, it reaps its ended children and exits; wait for it."""
        with contextlib.suppress(Exception):
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(10)


class AppServer:
    """``uvicorn app.asgi:create_app`` in its own process, like one instance behind a load balancer."""

    def __init__(self, database_url: str, redis_url: str | None, workdir: Path, **env: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.log = workdir / f"server-{self.port}.log"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "ALLOWED_ORIGINS": self.base_url,
            "SESSION_COOKIE_SECURE": "0",
            **env,
        }
        if redis_url:
            self.env["REDIS_URL"] = redis_url
        else:
            self.env.pop("REDIS_URL", None)
        self.proc: subprocess.Popen[bytes] | ForkedProcess | None = None

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        args = [
            "app.asgi:create_app", "--factory", "--host", "127.0.0.1", "--port", str(self.port),
            "--ws-per-message-deflate", "false", "--log-level", "warning",
        ]  # fmt: skip
        if FORK:  # the same command, forked from a process that has imported the app already
            self.proc = ForkServer.spawn(args, self.env, self.log)
            return
        cmd = [sys.executable, "-m", "uvicorn", *args]
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)

    def wait_ready(self, within: float = 120) -> None:
        # Generous: on a loaded machine importing the app alone has taken over 30 s.
        ok = wait_until(lambda: httpx.get(self.base_url + "/health", timeout=1).status_code == 200, within)
        assert ok, f"server did not start: {self.log.read_text()[-2000:]}"

    def ready_status(self) -> int:
        return httpx.get(self.base_url + "/ready", timeout=5).status_code

    def kill(self) -> None:
        """SIGKILL: a crash, no shutdown hook runs and open transactions die with their connections."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None


class PostgresServer:
    """A private PostgreSQL cluster on a free port, which a test may stop and restart at will.

    PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres`` user and
    its commands run through ``runuser``. The directory is a fresh ``mkdtemp`` (pytest's own temp
    directories are private to root)."""

    BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="athena-pg-"))
        self.data = self.dir / "data"
        self.as_root = os.geteuid() == 0

    @classmethod
    def available(cls) -> str | None:
        """None when a cluster can be started here, else why not."""
        if not (cls.BIN / "initdb").exists():
            return f"no initdb in {cls.BIN}"
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                return "running as root and there is no postgres user"
        return None

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        cmd = [str(self.BIN / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    def init(self) -> None:
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        if not self.data.exists():
            self.init()
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast`` rolls back and closes every session; ``immediate`` is a crash (recovery on start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, down_for: float = 0.0, mode: str = "fast") -> None:
        self.stop(mode)
        time.sleep(down_for)
        self.start()

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
