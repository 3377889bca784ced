"""A signed-in browser for route tests: the session cookie, and the CSRF cookie + header once a page was read."""

from __future__ import annotations

import httpx

from tests.conftest import Actor


class PageSession:
    """A signed-in browser: the session cookie, and the CSRF cookie + header once a page was read."""

    def __init__(self, client: httpx.AsyncClient, actor: Actor) -> None:
        self.client = client
        self.actor = actor
        self.csrf: str | None = None

    def _headers(self, csrf: bool, htmx_target: str | None) -> dict[str, str]:
        cookie = f"athena_session={self.actor.token}"
        headers = {}
        if csrf and self.csrf:
            cookie += f"; athena_csrf={self.csrf}"
            headers["x-csrftoken"] = self.csrf
        if htmx_target:
            headers |= {"hx-request": "true", "hx-target": htmx_target}
        return headers | {"Cookie": cookie}

    async def get(self, path: str, htmx_target: str | None = None) -> httpx.Response:
        response = await self.client.get(path, headers=self._headers(True, htmx_target))
        self.csrf = response.cookies.get("athena_csrf") or self.csrf
        return response

    async def post(
        self,
        path: str,
        data: dict[str, str] | None = None,
        *,
        csrf: bool = True,
        htmx_target: str | None = None,
        current_url: str | None = None,
    ) -> httpx.Response:
        """``current_url``: the page the request comes from, as htmx sends it (``HX-Current-URL``)."""
        if csrf and self.csrf is None:
            assert (await self.get("/executions")).status_code == 200
        headers = self._headers(csrf, htmx_target)
        if current_url is not None:
            headers["hx-current-url"] = str(self.client.base_url.join(current_url))
        return await self.client.post(path, data=data or {}, headers=headers)
