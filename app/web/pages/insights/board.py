"""Plain view models for the insights page: chart SVGs, their tables, and the top lists."""

from __future__ import annotations

import datetime as dt
from typing import Any

from markupsafe import Markup

from app.web.charts import (
    Series,
    bar_group,
    count_label,
    lines,
    ms_axis,
    ms_label,
    percent_label,
    stack_at,
    stacked_bars,
)

# Bottom to top in the stacked bars: finished first, then what is still moving.
STATUSES = [
    ("completed", "Completed"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
    ("running", "Running"),
    ("waiting", "Waiting"),
    ("paused", "Paused"),
    ("pending", "Pending"),
]
TOP = 8
CURRENT_BAR = "bar-current"


def bucket_label(iso: str, interval: str) -> str:
    moment = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if interval == "hour":
        return moment.strftime("%b %d %H:00")
    if interval == "week":
        return "Week of " + moment.strftime("%b %d")
    return moment.strftime("%a %b %d")


def status_series(buckets: list[dict[str, Any]]) -> list[Series]:
    return [Series(key, label, [b["by_status"][key] for b in buckets]) for key, label in STATUSES]


def finished_count(bucket: dict[str, Any]) -> int:
    return sum(bucket["by_status"][s] for s in ("completed", "failed", "cancelled"))


def failure_note(bucket: dict[str, Any]) -> str:
    """What a failure rate is made of: "2 of 3 finished" (a 66.7 % spike over 3 runs says so)."""
    finished = finished_count(bucket)
    return f"{bucket['by_status']['failed']:,} of {finished:,} finished" if finished else ""


def _percentile_series(buckets: list[dict[str, Any]], field: str) -> list[Series]:
    """The p50 and p95 lines of one percentile field (``duration_ms``, ``approval_wait_ms``)."""
    return [Series(which, which, [b[field][which] for b in buckets]) for which in ("p50", "p95")]


def build_insights(view: Any, executions: dict[str, Any], workflows: dict[str, Any]) -> dict[str, Any]:
    buckets = executions["data"]
    labels = [bucket_label(b["bucket"], view.interval) for b in buckets]
    live = view.is_live
    volume, y_max = stacked_bars(
        "Executions per interval by status", labels, status_series(buckets), current_id=CURRENT_BAR if live else None
    )
    failure = lines(
        "Failure rate per interval",
        labels,
        [Series("failed", "Failure rate", [b["failure_rate"] for b in buckets])],
        percent_label,
        y_floor=0.05,
        notes=[failure_note(b) for b in buckets],
    )
    durations = lines(
        "Duration of finished executions",
        labels,
        _percentile_series(buckets, "duration_ms"),
        ms_label,
        axis=ms_axis,
    )
    waits = lines(
        "Time waiting for approval",
        labels,
        _percentile_series(buckets, "approval_wait_ms"),
        ms_label,
        axis=ms_axis,
    )
    rows = [dict(b, label=label) for b, label in zip(buckets, labels, strict=True)]
    done = rows[:-1] if live else rows  # the live interval has its own panel
    return {
        "summary": executions["summary"],
        "tables": tables(done),
        "current": rows[-1] if live and rows else None,
        "charts": {"volume": volume, "failure": failure, "durations": durations, "waits": waits},
        "y_max": y_max,
        "volume_cut": max((sum(b["by_status"][k] for k, _ in STATUSES) for b in buckets), default=0) > y_max,
        "bars": len(buckets),
        "statuses": STATUSES,
        **top_lists(workflows),
    }


def tables(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each chart's numbers as text cells: ``columns`` titles and ``rows`` of [label, cells...]."""

    def build(columns: list[str], cells: Any) -> dict[str, Any]:
        return {"columns": columns, "rows": [[r["label"], *cells(r)] for r in rows]}

    return {
        "volume": build(
            ["Total", *(label for _, label in STATUSES)],
            lambda r: [count_label(r["total"]), *(count_label(r["by_status"][k]) for k, _ in STATUSES)],
        ),
        "failure": build(
            ["Failure rate", "Failed", "Finished"],
            lambda r: [
                percent_label(r["failure_rate"]),
                count_label(r["by_status"]["failed"]),
                count_label(finished_count(r)),
            ],
        ),
        "durations": build(
            ["p50", "p95", "Finished"],
            lambda r: [
                ms_label(r["duration_ms"]["p50"]),
                ms_label(r["duration_ms"]["p95"]),
                count_label(r["duration_ms"]["count"]),
            ],
        ),
        "waits": build(
            ["p50", "p95", "Decided"],
            lambda r: [
                ms_label(r["approval_wait_ms"]["p50"]),
                ms_label(r["approval_wait_ms"]["p95"]),
                count_label(r["approval_wait_ms"]["count"]),
            ],
        ),
    }


def top_lists(workflows: dict[str, Any]) -> dict[str, Any]:
    ran = [w for w in workflows["data"] if w["duration_ms"]["p95"] is not None]
    failing = [w for w in workflows["data"] if w["by_status"]["failed"]]
    nodes = workflows["nodes"]
    return {
        "slowest_workflows": sorted(ran, key=lambda w: -w["duration_ms"]["p95"])[:TOP],
        "failing_workflows": sorted(failing, key=lambda w: (-w["by_status"]["failed"], -(w["failure_rate"] or 0)))[
            :TOP
        ],
        "slowest_nodes": sorted(
            (n for n in nodes if n["duration_ms"]["p95"] is not None), key=lambda n: -n["duration_ms"]["p95"]
        )[:TOP],
        "failing_nodes": sorted((n for n in nodes if n["errors"]), key=lambda n: (-n["errors"], -n["error_rate"]))[
            :TOP
        ],
        "nodes_sample": workflows["meta"]["nodes_sample"],
    }


def current_bar(bucket: dict[str, Any], interval: str, bars: int, y_max: float, *, oob: bool = False) -> Markup:
    """The live bar, on the page's scale (a bar taller than the scale is cut at the top)."""
    label = bucket_label(bucket["bucket"], interval)
    svg = bar_group(bars - 1, bars, stack_at(status_series([bucket]), 0), y_max, label, element_id=CURRENT_BAR)
    return Markup(svg.replace("<svg ", '<svg hx-swap-oob="true" ', 1) if oob else svg)
