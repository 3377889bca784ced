"""A fork server for the app servers the tests start (``python -m tests.forkserver``).

Importing the app (Litestar, SQLAlchemy, advanced-alchemy, Alembic...) is ~90% of an app server's
start-up CPU: ~1.4 s of the ~1.6 s it takes to start and stop one on an idle machine, and the suite
starts about a hundred per pass. This process imports all of that once, then forks one child per
server, which runs ``uvicorn app.asgi:create_app --factory ...`` exactly as ``python -m uvicorn``
would: uvicorn's own command line, the server's own environment, its own log file, its own app built
by the factory in the child. Only the imports (and their import-time state) are shared.

Protocol, one JSON line each way on stdin/stdout: ``{"args": [...], "env": {...}, "log": path, "cwd": dir}`` ->
``{"pid": n}``. The child is this process's, not the test's: ``tests.servers.ForkedProcess`` signals
and waits for it through a pidfd. Finished children are reaped only when the next request arrives,
so a pid the test has not yet opened a pidfd on cannot be reused meanwhile.

It must stay single-threaded and never start an event loop: a fork copies only the calling thread.
Do not import modules here that read the environment at import time (``app.ops.http_guard``
does, and ``app.asgi`` does not import it): the children would see this process's values.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import sys
import tempfile
import threading
from logging.handlers import QueueListener


def _warm_up() -> None:
    """Import what a server imports up to its first requests, by doing what uvicorn does to load it."""
    import asyncpg  # noqa: F401  (PostgreSQL runs' driver: imported on the first connection)
    import sqlalchemy.dialects.postgresql.asyncpg  # noqa: F401
    import uvicorn.main
    from uvicorn.config import Config

    saved_env, saved_logging = dict(os.environ), _logging_state()
    with tempfile.TemporaryDirectory() as scratch:
        os.environ.update(DATABASE_URL=f"sqlite+aiosqlite:///{scratch}/warm-up.db", SECRET_KEY="warm-up")
        os.environ.pop("REDIS_URL", None)
        # Builds one throwaway app (its first build imports ~120 more modules: OpenAPI examples,
        # middleware...) and imports the HTTP and WebSocket protocol classes; no socket, no event loop,
        # no database connection.
        Config("app.asgi:create_app", factory=True, ws_per_message_deflate=False, log_config=None).load()
    os.environ.clear()
    os.environ.update(saved_env)
    _undo_logging(saved_logging)
    assert threading.active_count() == 1, "the warm-up left a thread running"
    assert uvicorn.main
    assert "app.ops.http_guard" not in sys.modules, "it reads HTTP_* variables at import: children would share them"


LoggerState = tuple[list[logging.Handler], int, bool, bool]


def _logging_state() -> dict[str, LoggerState]:
    loggers = {"": logging.root, **logging.Logger.manager.loggerDict}
    return {
        name: (list(lg.handlers), lg.level, lg.propagate, lg.disabled)
        for name, lg in loggers.items()
        if isinstance(lg, logging.Logger)
    }


def _undo_logging(before: dict[str, LoggerState]) -> None:
    """Litestar's default logging (no LOG_FORMAT) gives the root and ``litestar`` loggers a queue
    handler whose listener thread it starts, and registers the listener's stop at exit: stop it, and
    put those loggers back as they were, so a child configures its logging from the state a fresh
    process would have. (Loggers that modules set up as they were imported stay as they are.)"""
    touched = []
    for name, lg in {"": logging.root, **logging.Logger.manager.loggerDict}.items():
        if not isinstance(lg, logging.Logger):
            continue
        for handler in lg.handlers:
            listener = getattr(handler, "listener", None)
            if isinstance(listener, QueueListener):
                touched.append((name, lg))
                if listener._thread is not None:  # type: ignore[attr-defined]
                    listener.stop()
                    atexit.unregister(listener.stop)
    for name, lg in touched:
        lg.handlers[:], lg.level, lg.propagate, lg.disabled = before.get(name, ([], logging.NOTSET, True, False))
    assert touched, "Litestar's logging set-up changed: check what the warm-up leaves behind"


def _child(request: dict[str, object]) -> None:
    """In the forked child: become ``python -m uvicorn ARGS`` with the request's environment and log."""
    import uvicorn.main

    log = os.open(str(request["log"]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.close(null)
    os.chdir(str(request["cwd"]))
    env = request["env"]
    assert isinstance(env, dict)
    os.environ.clear()
    os.environ.update(env)
    args = request["args"]
    assert isinstance(args, list)
    sys.argv = ["uvicorn", *args]
    # Raises SystemExit, which unwinds through main() like any exiting Python process (atexit runs).
    uvicorn.main.main(args=args, prog_name="uvicorn")


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main() -> None:
    _warm_up()
    requests, replies = sys.stdin.buffer, sys.stdout.fileno()
    os.write(replies, b'{"ready": true}\n')
    for line in requests:
        request = json.loads(line)
        _reap()
        assert threading.active_count() == 1, "a fork copies only the calling thread"
        pid = os.fork()
        if pid == 0:
            _child(request)  # never returns
        os.write(replies, json.dumps({"pid": pid}).encode() + b"\n")
    _reap()  # the test process has ended: what has ended is counted in our CPU time (and its)


if __name__ == "__main__":
    main()
