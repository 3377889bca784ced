"""Lay out a workflow graph for server-side SVG: nodes in columns by longest path from a source."""

from __future__ import annotations

from typing import Any

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 150, 44, 60, 22, 16
RUN_CLASS = {
    "success": "ok",
    "error": "err",
    "running": "run",
    "waiting": "wait",
    "pending": "pend",
    "skipped": "skip",
    "cancelled": "skip",
}


def layout_graph(nodes: list[dict[str, Any]], edges: list[dict[str, Any]], data: dict[str, Any]) -> dict[str, Any]:
    ids = [str(n.get("id")) for n in nodes if n.get("id") is not None]
    incoming: dict[str, list[str]] = {i: [] for i in ids}
    for e in edges:
        if e.get("source") in incoming and e.get("target") in incoming:
            incoming[str(e["target"])].append(str(e["source"]))
    level: dict[str, int] = {}

    def depth(node: str, seen: frozenset[str]) -> int:
        if node in level:
            return level[node]
        parents = [p for p in incoming[node] if p not in seen]
        level[node] = 0 if not parents else 1 + max(depth(p, seen | {node}) for p in parents)
        return level[node]

    for node in ids:
        depth(node, frozenset())
    columns: dict[int, list[str]] = {}
    for node in ids:
        columns.setdefault(level[node], []).append(node)
    last_run: dict[str, dict[str, Any]] = {}
    for run in data.get("workflow_data") or []:
        if isinstance(run, dict) and run.get("node_id") is not None:
            last_run[str(run["node_id"])] = run
    names = {str(n.get("id")): (n.get("name") or n.get("id")) for n in nodes}
    types = {str(n.get("id")): n.get("type") or "" for n in nodes}
    pos: dict[str, tuple[int, int]] = {}
    for col, members in columns.items():
        for row, node in enumerate(members):
            pos[node] = (PAD + col * (NODE_W + GAP_X), PAD + row * (NODE_H + GAP_Y))
    laid_nodes = [
        {
            "id": node,
            "name": _clip(str(names[node]), 19),
            "full_name": str(names[node]),
            "type": types[node],
            "x": pos[node][0],
            "y": pos[node][1],
            "status": (last_run.get(node) or {}).get("status", "none"),
            "css": RUN_CLASS.get((last_run.get(node) or {}).get("status", ""), "none"),
        }
        for node in ids
    ]
    laid_edges = [
        {
            "x1": pos[s][0] + NODE_W,
            "y1": pos[s][1] + NODE_H // 2,
            "x2": pos[t][0],
            "y2": pos[t][1] + NODE_H // 2,
        }
        for t, sources in incoming.items()
        for s in sources
    ]
    width = PAD * 2 + (max(columns, default=0) + 1) * (NODE_W + GAP_X) - GAP_X
    height = PAD * 2 + max((len(m) for m in columns.values()), default=1) * (NODE_H + GAP_Y) - GAP_Y
    return {
        "nodes": laid_nodes,
        "edges": laid_edges,
        "width": width,
        "height": height,
        "node_w": NODE_W,
        "node_h": NODE_H,
    }


def _clip(text: str, limit: int) -> str:
    """Node boxes are fixed-width: long names end with an ellipsis (the full name is in the tooltip)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
