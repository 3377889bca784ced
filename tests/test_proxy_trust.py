"""Issue 21 item 4: the compose deployment trusts only nginx's forwarded address.

``athena serve`` runs with compose.yaml's ``FORWARDED_ALLOW_IPS``; a client that reaches it directly
with a made-up ``X-Forwarded-For`` is still counted at its real address (the per-address sign-in
limit stops it). With the proxy's address trusted (here the test itself is the proxy) the header is
used, as it must be behind nginx. nginx, the edge, sets the header instead of appending to it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import yaml

from tests.conftest import API, World
from tests.servers import AppServer

ROOT = Path(__file__).resolve().parent.parent
ATHENA = str(Path(sys.executable).parent / "athena")


class Served(AppServer):
    """``athena serve``, as the compose image runs it."""

    def launch(self) -> None:
        cmd = [ATHENA, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)


def compose_trust() -> str:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return str(compose["x-app-env"]["FORWARDED_ALLOW_IPS"])


def sign_in_codes(server: AppServer, count: int) -> list[int]:
    codes = []
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        for i in range(count):
            body = {"email": f"guess{i}@example.test", "password": "x"}
            codes.append(
                http.post(f"{API}/auth/sign-in", json=body, headers={"X-Forwarded-For": f"10.9.{i}.7"}).status_code
            )
    return codes


def test_compose_trusts_only_nginx_which_sets_the_header() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    trusted = compose_trust()
    assert "*" not in trusted
    nginx_address = compose["services"]["nginx"]["networks"]["default"]["ipv4_address"]
    assert trusted == nginx_address
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert "$proxy_add_x_forwarded_for" not in conf.replace("($proxy_add_x_forwarded_for)", "")


def test_a_spoofed_forwarded_for_does_not_choose_the_address(database_url: str, world: World, tmp_path: Path) -> None:
    limits = {"SIGN_IN_LIMIT_PER_ADDRESS": "3", "SIGN_IN_LIMIT_PER_ACCOUNT": "0"}
    for trust, expected in ((compose_trust(), [422, 422, 422, 429, 429]), ("127.0.0.1", [422] * 5)):
        server = Served(database_url, None, tmp_path, FORWARDED_ALLOW_IPS=trust, **limits)
        server.start()
        try:
            codes = sign_in_codes(server, 5)
        finally:
            server.stop()
        # compose's setting: every attempt counts at 127.0.0.1; a trusted proxy's header is honoured.
        assert codes == expected, (trust, codes)
