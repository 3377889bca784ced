"""A workflow's node graph as an engine walks it: topological order and one run's path through it."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

BRANCH_TYPES = {"if"}  # these follow exactly one outgoing edge; every other node fans out to all


@dataclass(frozen=True)
class Node:
    id: str
    name: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Graph:
    nodes: dict[str, Node]
    order: list[str]  # topological
    out: dict[str, list[tuple[str, str | None]]]

    @classmethod
    def from_payload(cls, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> Graph:
        """Build from the API's ``nodes``/``edges``; a cycle or dangling edge is dropped, not fatal,
        because a production workflow may hold anything."""
        by_id: dict[str, Node] = {}
        for raw in nodes:
            node_id = str(raw.get("id") or "")
            if node_id and node_id not in by_id:
                params = raw.get("parameters") or {}
                by_id[node_id] = Node(node_id, raw.get("name") or node_id, raw.get("type") or "code", params)
        out: dict[str, list[tuple[str, str | None]]] = {n: [] for n in by_id}
        for edge in edges:
            src, dst = edge.get("source"), edge.get("target")
            if src in by_id and dst in by_id and src != dst:
                out[src].append((dst, edge.get("label")))
        return cls(by_id, _topological(list(by_id), out), out)

    @property
    def edge_count(self) -> int:
        return sum(len(targets) for targets in self.out.values())

    def is_dag(self) -> bool:
        return len(self.order) == len(self.nodes)

    def has_branch(self) -> bool:
        return any(len(targets) > 1 for targets in self.out.values())

    def branch_taken(self, node_id: str, executed: set[str]) -> str | None:
        """The label of the edge a run followed out of ``node_id`` (an ``if`` node's output)."""
        for dst, label in self.out.get(node_id, []):
            if dst in executed:
                return label or dst
        return None

    def plan(self, rng: random.Random) -> list[Node]:
        """The nodes one run executes, in order: ``if`` nodes pick one branch (mostly the first)."""
        incoming = {dst for targets in self.out.values() for dst, _ in targets}
        active = {n for n in self.order if n not in incoming}
        path: list[Node] = []
        for node_id in self.order:
            if node_id not in active:
                continue
            node = self.nodes[node_id]
            path.append(node)
            targets = self.out[node_id]
            if node.type in BRANCH_TYPES and len(targets) > 1:
                targets = [targets[0] if rng.random() < 0.65 else rng.choice(targets[1:])]
            active.update(dst for dst, _ in targets)
        return path or list(self.nodes.values())[:6]  # all-cycle graph: walk it in listed order

    def plan_through(self, node_id: str, rng: random.Random, attempts: int = 20) -> list[Node]:
        """A run's path that passes ``node_id`` (to continue a run paused there by someone else);
        every node in topological order when no sampled path does."""
        for _ in range(attempts):
            path = self.plan(rng)
            if any(n.id == node_id for n in path):
                return path
        return [self.nodes[n] for n in self.order]


def nodes_after(plan: list[Node], node_id: str) -> list[Node]:
    """The rest of a run's path once ``node_id`` is done (empty when it is not on the path)."""
    ids = [n.id for n in plan]
    return plan[ids.index(node_id) + 1 :] if node_id in ids else []


def _topological(ids: list[str], out: dict[str, list[tuple[str, str | None]]]) -> list[str]:
    indegree = dict.fromkeys(ids, 0)
    for targets in out.values():
        for dst, _ in targets:
            indegree[dst] += 1
    ready = [n for n in ids if indegree[n] == 0]
    order: list[str] = []
    while ready:
        node_id = ready.pop(0)
        order.append(node_id)
        for dst, _ in out[node_id]:
            indegree[dst] -= 1
            if indegree[dst] == 0:
                ready.append(dst)
    return order  # shorter than ids when there is a cycle: those nodes never run


def layout(graph: Graph) -> dict[str, dict[str, float]]:
    """Canvas positions: a column per longest-path depth, a row per node within the column."""
    depth = dict.fromkeys(graph.order, 0)
    for node_id in graph.order:
        for dst, _ in graph.out[node_id]:
            depth[dst] = max(depth[dst], depth[node_id] + 1)
    rows: dict[int, int] = {}
    positions = {}
    for node_id in graph.order:
        column = depth[node_id]
        positions[node_id] = {"x": 260.0 * column, "y": 140.0 * rows.get(column, 0)}
        rows[column] = rows.get(column, 0) + 1
    return positions
