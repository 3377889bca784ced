"""The list page's rows, rendered once per distinct content and reused across requests.

Rendering ``executions/_row.html`` costs ~0.3 ms a row (Jinja attribute lookups and escaping):
50 rows were most of the page's CPU. A row's HTML depends only on the row's values, whether the
viewer may act on its workspace, today's date (``short_time``) and, for a run still going, its
duration text; the cache key holds exactly those, so a hit is the same HTML a render would give.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context, Undefined
from markupsafe import Markup

from app.web.filters import run_duration
from app.web.rowstamp import stamp_row

ROW_TEMPLATE = "executions/_row.html"
MAX_ENTRIES = 4096  # ~2.5 KiB each: ~10 MiB per process at most

_cache: dict[tuple[Any, ...], Markup] = {}


def _frozen(value: Any) -> Any:
    return tuple(sorted(value.items())) if isinstance(value, dict) else value


def _key(row: dict[str, Any], columns: tuple[str, ...], may_act: bool, now: dt.datetime) -> tuple[Any, ...]:
    running = bool(row.get("started_at")) and not row.get("stopped_at")
    duration = run_duration(row, now) if running else None
    return (*map(_frozen, row.values()), *row.keys(), columns, may_act, now.date(), duration)


@pass_context
def cached_row(context: Context, row: dict[str, Any], columns: list[str] | None = None) -> Markup:
    """``{% include "executions/_row.html" %}`` for one row of a page, from the cache when it can."""
    operable = context.get("operable")
    may_act = isinstance(operable, Undefined) or operable is None or row["workspace_uuid"] in operable
    now = context.get("now") or dt.datetime.now(dt.UTC)
    try:
        key = _key(row, tuple(columns or ()), may_act, now)
        hit = _cache.get(key)
    except TypeError:  # an unhashable value (never in a summary today): render without the cache
        key, hit = None, None
    if hit is not None:
        return hit
    variables = {"row": row, "now": now, "columns": columns}
    if not isinstance(operable, Undefined) and operable is not None:
        variables["operable"] = operable
    html = Markup(stamp_row(context.environment.get_template(ROW_TEMPLATE).render(variables)))
    if key is not None:
        if len(_cache) >= MAX_ENTRIES:
            _cache.clear()
        _cache[key] = html
    return html
