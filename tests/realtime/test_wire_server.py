"""The fast path's fallback is observable: under uvicorn's sans-io protocol (the default of the
uvicorn range pyproject.toml allows) sockets take the direct write and nothing is counted; under
another protocol each socket counts in /metrics and the server logs why. Outside the tested uvicorn
range, start-up says so."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families

from app.realtime import wire
from tests.conftest import World
from tests.servers import AppServer

METRICS_TOKEN = "wire-metrics-token"
FALLBACK = "athena_ws_fast_path_fallbacks_total"


class WsServer(AppServer):
    """An ``AppServer`` on the WebSocket implementation the test names (``--ws``)."""

    def __init__(self, ws: str, *args: object, **env: str) -> None:
        super().__init__(*args, **env)  # type: ignore[arg-type]
        self.ws = ws

    def launch(self) -> None:
        cmd = [
            sys.executable, "-m", "uvicorn", "app.asgi:create_app", "--factory", "--ws", self.ws,
            "--host", "127.0.0.1", "--port", str(self.port), "--ws-per-message-deflate", "false",
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)


@pytest.fixture(params=["websockets-sansio", "websockets"])
def server(request: pytest.FixtureRequest, database_url: str, tmp_path: Path, world: World) -> Iterator[WsServer]:
    app_server = WsServer(request.param, database_url, None, tmp_path, METRICS_TOKEN=METRICS_TOKEN, LOG_FORMAT="text")
    try:
        app_server.start()
        yield app_server
    finally:
        app_server.stop()


def fallbacks(server: AppServer) -> dict[str, float]:
    answer = httpx.get(server.base_url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=5)
    assert answer.status_code == 200, answer.text
    return {
        s.labels["reason"]: s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
        if s.name == FALLBACK
    }


async def test_fallback_is_counted_and_logged(server: WsServer, world: World) -> None:
    assert fallbacks(server) == {"protocol": 0, "deflate": 0}  # the series exist before any socket
    url = f"{server.ws_url}/api/v1/ws?workspace_uuid={world.ws['A']}"
    sockets = [await websockets.connect(url, additional_headers=world.viewer_a.headers) for _ in range(2)]
    try:
        for sock in sockets:
            await sock.ping()  # the handshake is done and the handler has looked for its wire
        counted = fallbacks(server)
    finally:
        for sock in sockets:
            await sock.close()
    log = server.log.read_text()
    assert "WebSocket fast path:" not in log  # the installed uvicorn is the tested one, sans-io by default
    if server.ws == "websockets-sansio":
        assert counted == {"protocol": 0, "deflate": 0}
        assert "go through ASGI send" not in log
    else:  # uvicorn's legacy websockets protocol: frames through ASGI send, each socket counted, one warning
        assert counted == {"protocol": 2, "deflate": 0}
        assert len(re.findall(r"go through ASGI send, not the direct write \(protocol: WebSocketProtocol\)", log)) == 1


def test_start_up_warns_outside_the_tested_uvicorn(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert wire.warn_if_unexpected_server() is None  # the locked uvicorn is inside the range
    monkeypatch.setattr(wire, "TESTED_UVICORN", ((0, 1), (0, 2)))
    with caplog.at_level(logging.WARNING, logger="athena.realtime.wire"):
        problem = wire.warn_if_unexpected_server()
    assert problem is not None and "outside the tested 0.1 to <0.2" in problem
    assert [r.getMessage() for r in caplog.records] == [f"WebSocket fast path: {problem}"]


def test_dependency_bound_is_the_tested_range() -> None:
    """pyproject.toml's uvicorn bound and ``TESTED_UVICORN`` move together."""
    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    spec = next(d for d in pyproject["project"]["dependencies"] if d.startswith("uvicorn"))
    (low_major, low_minor), (high_major, high_minor) = wire.TESTED_UVICORN
    assert spec == f"uvicorn[standard]>={low_major}.{low_minor},<{high_major}.{high_minor}"
