"""What ``athena serve`` asks uvicorn for, read back through ``uvicorn.Config`` as uvicorn itself
resolves it (issue 21 items 7 and 9): one process whatever ``WEB_CONCURRENCY`` says (the per-user
socket cap, the hashing pool, in-memory sign-in limits and the in-process bus are per process), the
keep-alive timeout, h11's buffer bound and the request-head guard. In process: uvicorn.run and the
migration are replaced, nothing is served (tests/test_slow_clients.py serves for real)."""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner

import app.db.migrate
import app.ops.logs
from app.cli.serve import serve
from app.ops.http_guard import GuardedH11Protocol, GuardedHttpToolsProtocol


def test_serve_runs_one_guarded_process_whatever_web_concurrency_says(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: asked.update(kwargs, app=app))
    monkeypatch.setattr(app.db.migrate, "upgrade_to_head", lambda: None)
    monkeypatch.setattr(app.ops.logs, "configure_logging", lambda *args: None)  # the suite's logging stays
    monkeypatch.setenv("LOG_FORMAT", "json")  # serve sets it by default: undone after the test
    monkeypatch.setenv("WEB_CONCURRENCY", "4")  # as a PaaS sets it
    result = CliRunner().invoke(serve, ["--port", "8765"])
    assert result.exit_code == 0, result.output
    config = uvicorn.Config(asked.pop("app"), **asked)
    assert config.workers == 1  # uvicorn forked WEB_CONCURRENCY workers before: 2x the socket cap with 2
    assert "WEB_CONCURRENCY is ignored" in result.output
    assert config.timeout_keep_alive == 5
    assert config.h11_max_incomplete_event_size == 16 * 1024
    assert config.http in (GuardedHttpToolsProtocol, GuardedH11Protocol)
    assert config.proxy_headers and config.ws_max_size == 64 * 1024 and config.ws_per_message_deflate is False
