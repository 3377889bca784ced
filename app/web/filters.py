"""Jinja filters for the pages (durations, relative times, JSON): plain functions of their values."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any


def parse_ts(value: str | dt.datetime | None) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def is_timestamp(value: Any) -> bool:
    """Whether a free-form value (an audit row's detail) is an ISO date and time, shown as a time."""
    if not isinstance(value, str) or value[10:11] != "T":
        return False
    try:
        parse_ts(value)
    except ValueError:
        return False
    return True


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    return f"{hours // 24}d {hours % 24}h"


def run_duration(row: dict[str, Any], now: dt.datetime | None = None) -> str:
    started = parse_ts(row.get("started_at"))
    if started is None:
        return "—"
    end = parse_ts(row.get("stopped_at")) or (now or dt.datetime.now(dt.UTC))
    return duration((end - started).total_seconds())


def short_time(value: str | dt.datetime | None) -> str:
    moment = parse_ts(value)
    if moment is None:
        return "—"
    now = dt.datetime.now(dt.UTC)
    if moment.date() == now.date():
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%b %d %H:%M")


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)
