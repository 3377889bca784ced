"""Issue 21 item 9: clients reaching ``athena serve`` directly cannot hold connections with trickled
or endless request heads (uvicorn alone has no header timeout)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx

from tests.conftest import World
from tests.test_proxy_trust import Served


def held_for(port: int, chunks: list[bytes], pause: float, give_up: float = 8.0) -> float:
    """Send ``chunks`` (then keep trickling header lines) every ``pause`` seconds; the seconds until
    the server closed the connection, or ``give_up`` if it never did."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=pause) as conn:
        queue = list(chunks)
        while time.monotonic() - started < give_up:
            try:
                conn.sendall(queue.pop(0) if queue else b"X-Slow: 1\r\n")
                if conn.recv(65536) == b"":
                    return time.monotonic() - started
            except TimeoutError:
                continue
            except OSError:  # reset or broken pipe: closed
                return time.monotonic() - started
    return give_up


def test_trickled_and_endless_request_heads_are_cut_off(database_url: str, world: World, tmp_path: Path) -> None:
    server = Served(database_url, None, tmp_path, HTTP_HEADER_TIMEOUT_SECONDS="1.5")
    server.start()
    try:
        with httpx.Client(base_url=server.base_url) as http:  # keep-alive: two requests, one connection
            assert [http.get("/health").status_code for _ in range(2)] == [200, 200]
        trickled = held_for(server.port, [b"GET /health HTTP/1.1\r\n", b"Host: x\r\n"], pause=0.3)
        big = b"GET /health HTTP/1.1\r\n" + b"".join(b"X-Big-%d: %s\r\n" % (i, b"a" * 4000) for i in range(6))
        endless = held_for(server.port, [big], pause=0.3)
    finally:
        server.stop()
    assert trickled < 4, f"a trickled head held its connection {trickled:.1f} s"
    assert endless < 1, f"a 24 KiB head was read for {endless:.1f} s"
