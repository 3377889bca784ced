"""Shared by the n8n bridge's tests, its fixture recorder and its bench (no tests of its own):

- ``provision``: a fresh n8n's owner and a public API key, without the editor (``/rest/owner/setup``,
  then ``/rest/api-keys`` with every scope the owner may grant);
- the workflows the tests run in n8n (a Wait node "On Webhook Call" between an Execute Workflow
  node and a last node that reads the decision; one that fails; one parked on a timer);
- ``Replay``: an httpx transport answering from the answers recorded from a real n8n
  (tests/fixtures/n8n/, written by tests/fixtures/n8n/record.py), scene by scene.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).parent / "fixtures" / "n8n"
OWNER = {"email": "owner@n8n.local", "firstName": "Athena", "lastName": "Bridge", "password": "Athena-bridge-1"}


def provision(url: str) -> str:
    """An API key for a fresh n8n (or one whose owner is ``OWNER``)."""
    with httpx.Client(base_url=url, timeout=30) as http:
        setup = http.post("/rest/owner/setup", json=OWNER)
        if setup.status_code >= 400:  # already set up: sign in as that owner
            login = http.post("/rest/login", json={"emailOrLdapLoginId": OWNER["email"], "password": OWNER["password"]})
            login.raise_for_status()
        scopes = http.get("/rest/api-keys/scopes").json()["data"]
        body = {"label": f"athena-{uuid.uuid4().hex[:6]}", "scopes": scopes, "expiresAt": None}
        created = http.post("/rest/api-keys", json=body)
        created.raise_for_status()
        return str(created.json()["data"]["rawApiKey"])


def _node(name: str, kind: str, version: float, x: int, parameters: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "name": name,
        "type": f"n8n-nodes-base.{kind}",
        "typeVersion": version,
        "position": [x, 0],
        "parameters": parameters,
        **extra,
    }


def _chain(*names: str) -> dict[str, Any]:
    return {a: {"main": [[{"node": b, "type": "main", "index": 0}]]} for a, b in itertools.pairwise(names)}


def _webhook(path: str) -> dict[str, Any]:
    params = {"httpMethod": "POST", "path": path, "responseMode": "onReceived", "options": {}}
    return _node("Webhook", "webhook", 2, 0, params, webhookId=str(uuid.uuid4()))


def _set(name: str, x: int, fields: dict[str, str], keep: bool = False) -> dict[str, Any]:
    assignments = [
        {"id": f"a{i}", "name": k, "value": v, "type": "number" if k == "amount" else "string"}
        for i, (k, v) in enumerate(fields.items())
    ]
    params = {"assignments": {"assignments": assignments}, "includeOtherFields": keep, "options": {}}
    return _node(name, "set", 3.4, x, params)


def child_workflow(name: str) -> dict[str, Any]:
    nodes = [
        _node("When called", "executeWorkflowTrigger", 1.1, 0, {"inputSource": "passthrough"}),
        _set("Enrich", 200, {"vendor": "ACME GmbH"}, keep=True),
    ]
    return {"name": name, "nodes": nodes, "connections": _chain("When called", "Enrich"), "settings": {}}


def approval_workflow(name: str, path: str, child_id: str) -> dict[str, Any]:
    """Webhook -> Extract -> Enrich (sub-workflow) -> Approve invoice (Wait, On Webhook Call, POST) ->
    Post to ledger (records ``decision`` and ``comment`` from the resume call's body)."""
    wait = {"resume": "webhook", "httpMethod": "POST", "options": {}}
    workflow_id = {"__rl": True, "value": child_id, "mode": "id"}
    nodes = [
        _webhook(path),
        _set("Extract", 200, {"invoice": "={{ $json.body.invoice }}", "amount": "={{ $json.body.amount }}"}),
        _node(
            "Enrich", "executeWorkflow", 1.2, 400, {"workflowId": workflow_id, "options": {"waitForSubWorkflow": True}}
        ),
        _node("Approve invoice", "wait", 1.1, 600, wait, webhookId=str(uuid.uuid4()), notes="Approve invoice payment"),
        _set("Post to ledger", 800, {"decision": "={{ $json.body.decision }}", "comment": "={{ $json.body.comment }}"}),
    ]
    connections = _chain("Webhook", "Extract", "Enrich", "Approve invoice", "Post to ledger")
    return {"name": name, "nodes": nodes, "connections": connections, "settings": {"executionOrder": "v1"}}


def failing_workflow(name: str, path: str) -> dict[str, Any]:
    nodes = [_webhook(path), _node("Post to ledger", "stopAndError", 1, 200, {"errorMessage": "Ledger refused INV-9"})]
    return {"name": name, "nodes": nodes, "connections": _chain("Webhook", "Post to ledger"), "settings": {}}


def timer_workflow(name: str, path: str) -> dict[str, Any]:
    wait = {"resume": "timeInterval", "amount": 1, "unit": "hours"}
    nodes = [_webhook(path), _node("Cool down", "wait", 1.1, 200, wait, webhookId=str(uuid.uuid4()))]
    return {"name": name, "nodes": nodes, "connections": _chain("Webhook", "Cool down"), "settings": {}}


def create_active(http: httpx.Client, workflow: dict[str, Any], activate: bool = True) -> str:
    created = http.post("/api/v1/workflows", json=workflow)
    created.raise_for_status()
    workflow_id = str(created.json()["id"])
    if activate:
        http.post(f"/api/v1/workflows/{workflow_id}/activate").raise_for_status()
    return workflow_id


# --------------------------------------------------------------------------- replay of recorded answers


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


class Replay:
    """n8n as recorded, scene by scene (a folder of tests/fixtures/n8n/): its two lists as n8n answered
    them and each execution's ``includeData`` answer; ids not in the scene answer 404. ``down`` makes
    every call fail to connect. Resume calls are kept in ``resumes`` and answered as n8n does (200
    while the execution waits, 409 once it finished)."""

    def __init__(self) -> None:
        self.workflows: list[dict[str, Any]] = load("workflows")["data"]
        self.lists: dict[str | None, Any] = {}
        self.executions: dict[int, dict[str, Any]] = {}
        self.down = False
        self.resumes: list[tuple[str, str, Any]] = []
        self.gets: list[str] = []  # paths of the GETs answered (with includeData when asked)
        self.slow: set[int] = set()  # ids whose single read times out (n8n busy with a burst)
        self.cursor_refused = False  # an n8n that does not take a written cursor (400)
        self.pages: dict[tuple[int, int], Any] = {}  # (lastId, limit) -> n8n's recorded answer

    def scene(self, name: str) -> Replay:
        folder = FIXTURES / name
        self.lists = {None: load(f"{name}/executions"), "running": load(f"{name}/executions_running")}
        self.executions = {}
        self.pages = {}
        if (folder / "executions_below.json").exists():  # a written-cursor page as n8n answered it
            recorded = load(f"{name}/executions_below")
            self.pages[(int(recorded["cursor"]["lastId"]), int(recorded["cursor"]["limit"]))] = recorded["answer"]
        for path in folder.glob("execution_*.json"):
            item = json.loads(path.read_text())
            self.executions[int(item["id"])] = item
        return self

    def listing(self, params: httpx.QueryParams) -> httpx.Response:
        """A list as n8n pages it: its cursor (base64 of ``{"lastId", "limit"}``, as n8n encodes it;
        a cursor it cannot decode is a 400) keeps the ids below ``lastId``, newest first, and
        ``includeData`` adds each execution's ``data`` and ``workflowData``; a page the scene
        recorded from n8n (``executions_below.json``) is answered as recorded."""
        listed = self.lists[params.get("status")]
        items, limit = list(listed["data"]), int(params.get("limit", 100))
        if params.get("cursor"):
            if self.cursor_refused:
                return httpx.Response(400, json={"message": "An invalid cursor was provided"})
            try:
                cursor = json.loads(base64.b64decode(params["cursor"]))
            except ValueError:
                return httpx.Response(400, json={"message": "An invalid cursor was provided"})
            limit = int(cursor["limit"])
            recorded = self.pages.get((int(cursor["lastId"]), limit))
            if recorded is not None and params.get("includeData") == "true":
                return httpx.Response(200, json=recorded)
            items = [e for e in items if int(e["id"]) < int(cursor["lastId"])]
        items = sorted(items, key=lambda e: -int(e["id"]))[:limit]
        if params.get("includeData") == "true":
            items = [self.executions.get(int(e["id"]), e) for e in items]
        elif not params.get("cursor"):
            return httpx.Response(200, json=listed)  # as recorded
        return httpx.Response(200, json={"data": items, "nextCursor": None})

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        path = request.url.path
        if request.method == "GET":
            data = "?includeData" if request.url.params.get("includeData") == "true" else ""
            self.gets.append(path + data + ("&cursor" if request.url.params.get("cursor") else ""))
        if request.method != "GET":
            match = re.fullmatch(r"/webhook-waiting/(\d+)(/.*)?", path)
            body = json.loads(request.content) if request.content else dict(request.url.params)
            self.resumes.append((request.method, path, body))
            if match and self.executions.get(int(match.group(1)), {}).get("status") == "waiting":
                return httpx.Response(200, json={"message": "Workflow was started"})
            return httpx.Response(409, json={"code": 409, "message": "The execution has finished already."})
        if path == "/api/v1/workflows":
            return httpx.Response(200, json={"data": self.workflows, "nextCursor": None})
        if path == "/api/v1/executions":
            return self.listing(request.url.params)
        match = re.fullmatch(r"/api/v1/executions/(\d+)", path)
        if match and int(match.group(1)) in self.slow:
            raise httpx.ReadTimeout("timed out", request=request)
        if match and int(match.group(1)) in self.executions:
            return httpx.Response(200, json=self.executions[int(match.group(1))])
        return httpx.Response(404, json={"message": "Not Found"})
