"""Lay out a workflow graph for server-side SVG: nodes in columns by longest path from a source.

A long graph wraps: at most ``BAND_COLUMNS`` columns side by side (they fit a 1,280 px window at
full size), later columns continue in a band below, and an edge into a later band runs down the gap
between bands. The SVG also scales down to its box (CSS), so every node stays on screen."""

from __future__ import annotations

from typing import Any

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 150, 44, 60, 22, 16
BAND_COLUMNS = 5  # 5 columns: 1,022 px wide, inside the detail page at 1,280 px
BAND_GAP = 40  # room between two bands for the edges that wrap
RUN_CLASS = {
    "success": "ok",
    "error": "err",
    "running": "run",
    "waiting": "wait",
    "pending": "pend",
    "skipped": "skip",
    "cancelled": "skip",
}


def node_levels(ids: list[str], incoming: dict[str, list[str]]) -> dict[str, int]:
    """Each node's column: the longest path from a source to it (cycles cut where they close)."""
    level: dict[str, int] = {}

    def depth(node: str, seen: frozenset[str]) -> int:
        if node in level:
            return level[node]
        parents = [p for p in incoming[node] if p not in seen]
        level[node] = 0 if not parents else 1 + max(depth(p, seen | {node}) for p in parents)
        return level[node]

    for node in ids:
        depth(node, frozenset())
    return level


def band_edges(columns: dict[int, list[str]]) -> tuple[list[int], list[int]]:
    """Where each band starts and ends (y): as tall as its tallest column, BAND_GAP under the last."""
    bands = max(columns, default=0) // BAND_COLUMNS + 1
    rows = [max((len(m) for c, m in columns.items() if c // BAND_COLUMNS == b), default=1) for b in range(bands)]
    top, bottom = [PAD], []
    for b in range(bands):
        bottom.append(top[b] + rows[b] * (NODE_H + GAP_Y) - GAP_Y)
        top.append(bottom[b] + BAND_GAP)
    return top, bottom


def layout_graph(nodes: list[dict[str, Any]], edges: list[dict[str, Any]], data: dict[str, Any]) -> dict[str, Any]:
    ids = [str(n.get("id")) for n in nodes if n.get("id") is not None]
    incoming: dict[str, list[str]] = {i: [] for i in ids}
    for e in edges:
        if e.get("source") in incoming and e.get("target") in incoming:
            incoming[str(e["target"])].append(str(e["source"]))
    level = node_levels(ids, incoming)
    columns: dict[int, list[str]] = {}
    for node in ids:
        columns.setdefault(level[node], []).append(node)
    last_run = {
        str(run["node_id"]): run
        for run in data.get("workflow_data") or []
        if isinstance(run, dict) and run.get("node_id") is not None
    }
    names = {str(n.get("id")): (n.get("name") or n.get("id")) for n in nodes}
    types = {str(n.get("id")): n.get("type") or "" for n in nodes}
    top, bottom = band_edges(columns)
    pos: dict[str, tuple[int, int]] = {}
    for col, members in columns.items():
        band, slot = divmod(col, BAND_COLUMNS)
        for row, node in enumerate(members):
            pos[node] = (PAD + slot * (NODE_W + GAP_X), top[band] + row * (NODE_H + GAP_Y))
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
    band_of = {node: level[node] // BAND_COLUMNS for node in ids}
    laid_edges = [
        {"d": _edge_path(pos[s], pos[t], band_of[s] == band_of[t], bottom[band_of[s]] + BAND_GAP // 2)}
        for t, sources in incoming.items()
        for s in sources
    ]
    return {
        "nodes": laid_nodes,
        "edges": laid_edges,
        "width": PAD * 2 + min(max(columns, default=0) + 1, BAND_COLUMNS) * (NODE_W + GAP_X) - GAP_X,
        "height": bottom[-1] + PAD,
        "node_w": NODE_W,
        "node_h": NODE_H,
    }


def _edge_path(source: tuple[int, int], target: tuple[int, int], same_band: bool, gap_y: int) -> str:
    """A curve to a node further right in the same band; otherwise (the edge wraps into a later
    band, or goes back) down to ``gap_y`` under the source's band, across, and into the target."""
    x1, y1 = source[0] + NODE_W, source[1] + NODE_H // 2
    x2, y2 = target[0], target[1] + NODE_H // 2
    if x2 > x1 and same_band:
        return f"M{x1},{y1} C{x1 + 30},{y1} {x2 - 30},{y2} {x2},{y2}"
    return f"M{x1},{y1} H{x1 + 12} V{gap_y} H{x2 - 12} V{y2} H{x2}"


def _clip(text: str, limit: int) -> str:
    """Node boxes are fixed-width: long names end with an ellipsis (the full name is in the tooltip)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
