"""The pages' Jinja environment: its filters (app/web/filters.py, app/web/charts.py) and globals."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment
from litestar import Request
from litestar.plugins.jinja import JinjaTemplateEngine

from app.domain.executions.state import is_finished
from app.web.charts import count_label, ms_label, percent_label, sparkline
from app.web.filters import duration, is_timestamp, parse_ts, pretty_json, run_duration, short_time
from app.web.rowcache import cached_row


def configure_environment(engine: Any) -> None:
    env: Environment = engine.engine
    env.autoescape = True
    # Templates ship with the code: without this, every get_template() stats the file (~5 % of a
    # cached list page).
    env.auto_reload = False
    env.filters.update(
        duration=duration, run_duration=run_duration, short_time=short_time, pretty_json=pretty_json, parse_ts=parse_ts
    )
    env.filters.update(ms=ms_label, percent=percent_label, count=count_label, sparkline=sparkline)
    env.tests.update(timestamp=is_timestamp)
    env.globals.update(is_finished=is_finished)
    env.globals.update(cached_row=cached_row)


def page_environment(request: Request[Any, Any, Any]) -> Environment:
    """The app's Jinja environment, for a fragment a handler renders itself (an out-of-band part)."""
    templates = request.app.template_engine
    if not isinstance(templates, JinjaTemplateEngine):  # create_app configures Jinja
        raise TypeError(f"the pages need Jinja templates, not {type(templates).__name__}")
    return templates.engine
