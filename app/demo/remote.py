"""The simulator's REST backend: drive a deployment through its public API with a bearer token,
through the engines' client library (clients/python: retries with backoff, an idempotency key on
every POST), so ``athena simulate`` exercises what a real engine uses."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from athena_client import AsyncAthenaClient, AthenaError, Conflict, NotFound, RetryPolicy

from app.demo.simulator import BackendConflict, BackendNotFound

API = "/api/v1"
OPERATE_ROLES = {"operator", "admin"}


class BackendError(Exception):
    """Any other error answer; the simulator logs it and carries on."""


class RestBackend:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        token: str | None = None,
        workspace_uuid: str | None = None,
        owns_client: bool = False,
        retry: RetryPolicy | None = None,
    ) -> None:
        """``client`` may be injected (tests pass one bound to the ASGI app); ``token`` is sent as a
        bearer header on each request unless the client already carries one."""
        self.client = client
        self.api = AsyncAthenaClient(token=token or _bearer(client), http=client, retry=retry)
        self.workspace_uuid = workspace_uuid
        self.owns_client = owns_client

    @classmethod
    def connect(cls, url: str, token: str, workspace_uuid: str | None = None) -> RestBackend:
        client = httpx.AsyncClient(base_url=url.rstrip("/"), timeout=httpx.Timeout(30.0, connect=10.0))
        return cls(client, token=token, workspace_uuid=workspace_uuid, owns_client=True)

    async def close(self) -> None:
        await self.api.aclose()
        if self.owns_client:
            await self.client.aclose()

    async def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return await self.api.request(method, API + path, **kwargs)
        except Conflict as error:
            raise BackendConflict(error.message) from error
        except NotFound as error:
            raise BackendNotFound(error.message) from error
        except AthenaError as error:
            raise BackendError(f"{method} {path}: {error}") from error

    async def _item(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """The ``data`` object of a single-item answer."""
        item: dict[str, Any] = (await self._send(method, path, **kwargs))["data"]
        return item

    async def workflows(self) -> list[dict[str, Any]]:
        workspaces = (await self._send("GET", "/workspaces"))["data"]
        items: list[dict[str, Any]] = []
        for ws in workspaces:
            if ws["role"] not in OPERATE_ROLES or (self.workspace_uuid and ws["uuid"] != self.workspace_uuid):
                continue
            page, last = 1, 1
            while page <= last:
                params = {"workspace_uuid": ws["uuid"], "per_page": 100, "page": page}
                body = await self._send("GET", "/workflows", params=params)
                items.extend(w for w in body["data"] if w.get("is_active", True))
                last, page = body["meta"]["last_page"], page + 1
        return items

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._item("POST", "/workflow-executions", json=body)

    async def update(self, execution_uuid: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._item("PATCH", f"/workflow-executions/{execution_uuid}", json=body)

    async def get(self, execution_uuid: str) -> dict[str, Any]:
        return await self._item("GET", f"/workflow-executions/{execution_uuid}")

    async def request_approval(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._item("POST", "/workflow-approvals", json=body)

    async def approval(self, approval_uuid: str) -> dict[str, Any]:
        return await self._item("GET", f"/workflow-approvals/{approval_uuid}")

    async def parked(self) -> list[dict[str, Any]]:
        """Only executions this process parked are resumed: on a real deployment the others may
        belong to a real engine."""
        return []

    async def awaiting_review(self, workspace_uuid: str) -> int:
        tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
        params = {
            "workspace_uuid": workspace_uuid,
            "start_date": "1970-01-01",
            "end_date": tomorrow.isoformat(),
            "status": "waiting",
            "requires_human_review": "true",
        }
        return int((await self._send("GET", "/workflow-executions/count", params=params))["data"]["count"])

    async def retry_requests(self) -> list[dict[str, Any]]:
        """The latest retry requests (the operator audit log, newest first)."""
        params: dict[str, Any] = {"action": "retry_request", "per_page": 50}
        if self.workspace_uuid:
            params["workspace_uuid"] = self.workspace_uuid
        return list((await self._send("GET", "/audit", params=params))["data"])

    async def recover(self) -> int:
        """Never touch executions this process did not start: on a real deployment they may belong
        to a real engine."""
        return 0


def _bearer(client: httpx.AsyncClient) -> str | None:
    """The token of a client that already carries ``Authorization: Bearer ...``."""
    scheme, _, token = client.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None
