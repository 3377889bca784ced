"""Pure translation of n8n's objects into Athena's: statuses, node runs, graphs and Wait nodes.

Node ids in Athena are n8n's node *names*: n8n's connections and run data name nodes by name, and a
name is unique within a workflow.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import deque
from dataclasses import dataclass
from typing import Any

from app.db.models import ExecutionStatus as S
from app.domain.executions.state import TRANSITIONS

# n8n execution status -> Athena status (docs/bridges.md has the table and the reasons).
STATUS = {
    "new": S.PENDING,  # queued, not started
    "running": S.RUNNING,
    "waiting": S.WAITING,  # parked in a Wait node (or a timed wait)
    "success": S.COMPLETED,
    "error": S.FAILED,
    "crashed": S.FAILED,  # the worker died mid-run
    "canceled": S.CANCELLED,
}
OPEN_N8N = frozenset({"new", "running", "waiting", "unknown"})
NODE_STATUS = {
    "success": "success",
    "error": "error",
    "crashed": "error",
    "canceled": "cancelled",
    "waiting": "waiting",
    "running": "running",
    "new": "pending",
}
MAX_VALUE_BYTES = 64 * 1024  # a node's input or output above this is summarized, not copied
WAIT_TYPE = "n8n-nodes-base.wait"
NO_DEADLINE_YEAR = 2999  # a webhook wait without a time limit has waitTill 3000-01-01


def athena_status(n8n_status: str | None, finished: bool = False) -> S:
    """``unknown`` (n8n lost track of it): failed once n8n calls it finished, running before."""
    mapped = STATUS.get(n8n_status or "")
    if mapped is not None:
        return mapped
    return S.FAILED if finished else S.RUNNING


def status_path(current: S, target: S) -> list[S] | None:
    """The shortest chain of allowed changes from ``current`` to ``target`` (n8n may skip states we
    have, e.g. new -> success is pending -> running -> completed); [] when equal; None if impossible
    (Athena already finished it, say an operator's stop)."""
    if current == target:
        return []
    queue: deque[tuple[S, list[S]]] = deque([(current, [])])
    seen = {current}
    while queue:
        state, path = queue.popleft()
        for nxt in sorted(TRANSITIONS[state], key=lambda s: s.value):
            if nxt in seen:
                continue
            if nxt == target:
                return [*path, nxt]
            seen.add(nxt)
            queue.append((nxt, [*path, nxt]))
    return None


def parse_time(value: Any) -> dt.datetime | None:
    """n8n's ISO strings (``...Z``) and run data's epoch milliseconds."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value / 1000, dt.UTC)
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def wait_till(execution: dict[str, Any]) -> dt.datetime | None:
    when = parse_time(execution.get("waitTill"))
    return None if when is None or when.year >= NO_DEADLINE_YEAR else when


def _run_data(execution: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    data = execution.get("data") or {}
    return ((data.get("resultData") or {}).get("runData")) or {}


def _items(main: Any, output: int = 0) -> list[Any] | None:
    """The ``json`` of the items on one output of a run's ``data.main``."""
    if not isinstance(main, list) or len(main) <= output or main[output] is None:
        return None
    return [item.get("json") for item in main[output] if isinstance(item, dict)]


def _outputs(run: dict[str, Any]) -> Any:
    main = (run.get("data") or {}).get("main")
    if not isinstance(main, list) or not main:
        return None
    if len(main) == 1:
        return _items(main)
    return {f"output {i}": _items(main, i) for i in range(len(main))}  # IF / Switch: one list per branch


def _capped(value: Any) -> Any:
    """Large values are summarized: the dashboard shows them in a 16 rem box, and the row stays small."""
    if value is None:
        return None
    encoded = json.dumps(value, default=str)
    if len(encoded) <= MAX_VALUE_BYTES:
        return value
    count = len(value) if isinstance(value, list) else None
    return {"truncated": True, "bytes": len(encoded), "items": count, "preview": encoded[:2000]}


def _input_of(run: dict[str, Any], run_data: dict[str, list[dict[str, Any]]]) -> Any:
    """n8n stores no input: it is the output of the run named in ``source`` (the trigger has none)."""
    sources = [s for s in (run.get("source") or []) if isinstance(s, dict) and s.get("previousNode")]
    if not sources:
        return None
    values = []
    for src in sources:
        prev_runs = run_data.get(src["previousNode"]) or []
        index = int(src.get("previousNodeRun") or 0)
        if index < len(prev_runs):
            main = (prev_runs[index].get("data") or {}).get("main")
            values.append(_items(main, int(src.get("previousNodeOutput") or 0)))
    return values[0] if len(values) == 1 else values


def node_runs(execution: dict[str, Any]) -> list[dict[str, Any]]:
    """Athena ``workflow_data`` entries from n8n's run data: one per node run, in execution order,
    with input, output, error and timing (``stopped_at`` from n8n's ``executionTime``)."""
    run_data = _run_data(execution)
    entries: list[tuple[tuple[float, int], dict[str, Any]]] = []
    for name, runs in run_data.items():
        for index, run in enumerate(runs or []):
            status = NODE_STATUS.get(run.get("executionStatus") or "success", "success")
            started = parse_time(run.get("startTime"))
            stopped = None
            if started is not None and status not in ("running", "waiting", "pending"):
                stopped = started + dt.timedelta(milliseconds=float(run.get("executionTime") or 0))
            error = run.get("error")
            entry = {
                "node_id": name,
                "node_name": name,
                "run_index": index,
                "status": "error" if error and status == "success" else status,
                "input": _capped(_input_of(run, run_data)),
                "output": _capped(_outputs(run)),
                "error": _error_text(error) if error else None,
                "started_at": started.isoformat().replace("+00:00", "Z") if started else None,
                "stopped_at": stopped.isoformat().replace("+00:00", "Z") if stopped else None,
            }
            order = (float(run.get("startTime") or 0), int(run.get("executionIndex") or 0))
            entries.append((order, {k: v for k, v in entry.items() if v is not None}))
    entries.sort(key=lambda e: e[0])
    return [e for _, e in entries]


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        message = str(error.get("message") or error.get("name") or "error")
        description = error.get("description")
        return f"{message} ({description})" if description else message
    return str(error)


def execution_error(execution: dict[str, Any]) -> str | None:
    """The execution's error as Athena shows it: ``<node>: <message>``."""
    data = execution.get("data") or {}
    error = (data.get("resultData") or {}).get("error")
    if not error:
        return None
    node = (error.get("node") or {}).get("name") if isinstance(error, dict) else None
    text = _error_text(error)
    return f"{node}: {text}"[:65_535] if node else text[:65_535]


def running_node(execution: dict[str, Any], runs: list[dict[str, Any]]) -> str | None:
    open_runs = [r["node_id"] for r in runs if r["status"] in ("running", "waiting")]
    return open_runs[-1] if open_runs else None


def fingerprint(execution: dict[str, Any]) -> str:
    """What the bridge last mirrored: status, times and run data (a changed one is written again)."""
    data = execution.get("data") or {}
    key = [execution.get("status"), execution.get("stoppedAt"), execution.get("waitTill"), data.get("resultData")]
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


def parent_id(execution: dict[str, Any]) -> int | None:
    """The n8n execution that started this one through an Execute Workflow node (n8n 1.x records it
    in the child's ``data.parentExecution``)."""
    parent = (execution.get("data") or {}).get("parentExecution") or {}
    value = parent.get("executionId")
    return int(value) if value not in (None, "") and str(value).isdigit() else None


def graph(workflow: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Athena nodes and edges from an n8n workflow (``main`` connections; sticky notes left out)."""
    nodes = []
    for node in workflow.get("nodes") or []:
        if node.get("type") == "n8n-nodes-base.stickyNote":
            continue
        position = node.get("position")
        item: dict[str, Any] = {"id": str(node["name"])[:255], "name": str(node["name"])[:255]}
        item["type"] = str(node.get("type", "")).rsplit(".", 1)[-1][:100] or None
        if isinstance(position, list) and len(position) == 2:
            item["position"] = {"x": float(position[0]), "y": float(position[1])}
        nodes.append(item)
    names = {n["id"] for n in nodes}
    edges, seen = [], set()
    for source, kinds in (workflow.get("connections") or {}).items():
        for outputs in (kinds or {}).get("main") or []:
            for link in outputs or []:
                key = (source, link.get("node"))
                if key[0] in names and key[1] in names and key not in seen:
                    seen.add(key)
                    edges.append({"source": key[0], "target": key[1]})
    return nodes, edges


@dataclass(frozen=True)
class WaitForDecision:
    """An execution parked in a Wait node set to resume "On Webhook Call": a review in Athena."""

    node: str
    title: str
    description: str
    payload: dict[str, Any] | None
    method: str
    suffix: str | None


def wait_for_decision(execution: dict[str, Any], workflow_name: str) -> WaitForDecision | None:
    if execution.get("status") != "waiting":
        return None
    data = execution.get("data") or {}
    last = str((data.get("resultData") or {}).get("lastNodeExecuted") or "")
    node = next((n for n in (execution.get("workflowData") or {}).get("nodes") or [] if n.get("name") == last), None)
    if node is None or node.get("type") != WAIT_TYPE:
        return None
    params = node.get("parameters") or {}
    if params.get("resume") != "webhook":
        return None
    runs = _run_data(execution).get(last) or []
    items = (_outputs(runs[-1]) if runs else None) or []
    payload: dict[str, Any] | None = None
    if isinstance(items, list) and len(items) == 1 and isinstance(items[0], dict):
        payload = _capped(items[0])
    elif items:
        payload = {"items": _capped(items)}
    title = str(node.get("notes") or "").strip() or _title_from(payload) or f"{workflow_name}: {last}"
    description = (
        f"n8n execution {execution.get('id')} waits in '{last}' for a decision; approving or rejecting it here "
        "resumes it in n8n."
    )
    suffix = (params.get("options") or {}).get("webhookSuffix")
    return WaitForDecision(str(last), title[:500], description, payload, str(params.get("httpMethod") or "GET"), suffix)


def _title_from(payload: dict[str, Any] | None) -> str | None:
    value = (payload or {}).get("approval_title") or (payload or {}).get("title")
    return str(value).strip() or None if isinstance(value, str) else None
