"""n8n's public REST API (``/api/v1``, header ``X-N8N-API-KEY``) and its resume webhook.

What the bridge relies on, checked against n8n 1.123 (the recorded answers in tests/fixtures/n8n/):

- ``GET /api/v1/workflows`` and ``GET /api/v1/executions`` page with ``limit`` and ``cursor``
  (``nextCursor`` in the answer), newest execution first;
- the execution list leaves out executions n8n holds in memory (running ones, and ones parked in a
  Wait node), unless asked for ``status=running``; ``GET /api/v1/executions/{id}`` answers any of
  them, so the bridge also walks ids (they are sequential) above its cursor;
- ``includeData=true`` adds ``data`` (the run data) and ``workflowData`` (the workflow as it ran);
- the list's ``cursor`` is n8n's own encoding, base64 of ``{"lastId", "limit"}`` (its public API's
  pagination service, both in 1.x): ``executions_below`` writes one to read the executions just
  above the bridge's cursor as a single page, which n8n answers far faster than as many single
  reads (50 with their data: 0.15 s against 5 s one by one, measured on 1.123.81);
- the public API has no way to stop an execution in 1.x (checked on 1.123.81: its ``/executions``
  paths are list, read, delete and ``/retry``, no ``/stop``): see ``actions``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

API = "/api/v1"
MAX_PAGE = 250  # n8n caps ``limit`` at 250


class N8nUnavailable(Exception):
    """n8n did not answer in time, refused the connection, or answered 5xx/429: back off."""


class N8nRefused(Exception):
    """n8n answered 4xx to a request that cannot succeed by retrying (bad key, unknown id...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class N8nClient:
    """One n8n instance. ``transport`` lets tests replay recorded answers."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"X-N8N-API-KEY": api_key, "Accept": "application/json"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            transport=transport,
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        response = await self._send("GET", API + path, params=params)
        if response.status_code >= 400:
            raise N8nRefused(response.status_code, _message(response))
        return response.json()

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self.http.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise N8nUnavailable(f"{method} {url}: no answer in time ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise N8nUnavailable(f"{method} {url}: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise N8nUnavailable(f"{method} {url}: HTTP {response.status_code} {_message(response)}")
        return response

    async def workflows(self) -> list[dict[str, Any]]:
        """Every workflow the key may read (all pages)."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": MAX_PAGE}
            if cursor:
                params["cursor"] = cursor
            body = await self._get("/workflows", params)
            items.extend(body.get("data") or [])
            cursor = body.get("nextCursor")
            if not cursor:
                return items

    async def executions_page(
        self, *, status: str | None = None, limit: int = 100, cursor: str | None = None, include_data: bool = False
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of executions, newest first, and the cursor of the next (older) page."""
        params: dict[str, Any] = {"limit": min(limit, MAX_PAGE)}
        if status:
            params["status"] = status
        if cursor:
            params["cursor"] = cursor
        if include_data:
            params["includeData"] = "true"
        body = await self._get("/executions", params)
        return list(body.get("data") or []), body.get("nextCursor")

    async def executions_below(self, below: int, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` executions with an id under ``below``, newest first, with their data: one
        page read through the cursor n8n itself hands out (``{"lastId": "<id>", "limit": n}``).
        Like every list, it leaves out the executions n8n holds in memory (running, parked)."""
        limit = min(limit, MAX_PAGE)
        cursor = base64.b64encode(json.dumps({"lastId": str(below), "limit": limit}).encode()).decode()
        page, _ = await self.executions_page(limit=limit, cursor=cursor, include_data=True)
        return page

    async def execution(self, n8n_id: int) -> dict[str, Any] | None:
        """One execution with its run data and workflow; None when n8n does not have it (404)."""
        try:
            item: dict[str, Any] = await self._get(f"/executions/{n8n_id}", {"includeData": "true"})
        except N8nRefused as exc:
            if exc.status == 404:
                return None
            raise
        return item

    def resume_url(self, n8n_id: int, suffix: str | None = None) -> str:
        """``$execution.resumeUrl`` of a Wait node set to resume "On Webhook Call" (plus its suffix)."""
        url = f"{self.base_url}/webhook-waiting/{n8n_id}"
        return f"{url}/{suffix.strip('/')}" if suffix and suffix.strip("/") else url

    async def resume(self, url: str, method: str, body: dict[str, Any]) -> httpx.Response:
        """Call a waiting execution's resume webhook: JSON for POST/PUT/PATCH, the query otherwise."""
        method = (method or "GET").upper()
        if method in ("POST", "PUT", "PATCH"):
            return await self._send(method, url, json=body)
        query = {k: "" if v is None else str(v) for k, v in body.items()}
        return await self._send(method, url, params=query)


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("message", body))[:200] if isinstance(body, dict) else str(body)[:200]
